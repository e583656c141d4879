/** Choosing k: inertia and silhouette per k (each fitted by `fitKMeans`), the elbow and the best silhouette. */
import type { CallOptions, Engine } from '../engine/engine.js';
import { checkMatrix } from '../engine/validate.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { silhouetteScore } from './metrics.js';
import { fitKMeans } from './kmeans.js';

export interface ChooseKOptions extends CallOptions {
  /** The k values to try (default 2..10, clipped to the rows). */
  ks?: number[];
  init?: 'k-means++' | 'random';
  nInit?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  sampleWeight?: Float32Array | Float64Array | null;
  /** Silhouettes are computed on a seeded sample of this many rows when x has more (default 4000). */
  sampleSize?: number;
  /** Called after each k is fitted. */
  onK?: (row: ChooseKRow) => void;
}

export interface ChooseKRow {
  k: number;
  inertia: number;
  /** Mean silhouette (null for k = 1, where it is undefined). */
  silhouette: number | null;
  nIter: number;
}

/**
 * Fits KMeans for each k and reports the inertia (for the elbow) and the silhouette score, the latter on
 * one seeded sample of rows shared by every k, so the scores are comparable.
 */
export async function chooseK(engine: Engine, x: Matrix, opts: ChooseKOptions = {}): Promise<ChooseKRow[]> {
  checkMatrix(x, 'x');
  const ks = opts.ks ?? [...Array(9).keys()].map((i) => i + 2).filter((k) => k <= x.rows);
  if (ks.length === 0) throw new QuiverError('INVALID_ARGUMENT', 'chooseK needs at least one k to try');
  // The silhouette of k clusters needs k + 1 scored rows at least; say so before any fit, naming the option.
  const scored = Math.min(x.rows, opts.sampleSize ?? 4000);
  const kMax = Math.max(...ks);
  if (kMax > 1 && kMax > scored - 1) {
    const why = scored < x.rows ? `the silhouette sample (sampleSize) of ${scored} rows` : `x's ${x.rows} rows`;
    throw new QuiverError('INVALID_ARGUMENT', `k = ${kMax} cannot be scored on ${why}: a silhouette of k clusters needs at least k + 1 rows; ${scored < x.rows ? `raise sampleSize to ${kMax + 1} or more (default 4000)` : `try k up to ${x.rows - 1}`}`, {
      k: kMax,
      rows: scored,
    });
  }
  const out: ChooseKRow[] = [];
  for (const k of ks) {
    const m = await fitKMeans(engine, x, {
      k,
      init: opts.init,
      nInit: opts.nInit,
      maxIter: opts.maxIter,
      tol: opts.tol,
      seed: opts.seed,
      sampleWeight: opts.sampleWeight,
      signal: opts.signal,
    });
    const silhouette = k === 1 ? null : silhouetteScore(x, m.labels!, { sampleSize: opts.sampleSize, seed: opts.seed ?? 0 });
    const row = { k, inertia: m.inertia, silhouette, nIter: m.nIter };
    opts.onK?.(row);
    out.push(row);
  }
  return out;
}

/** What `chooseK`'s rows suggest: the elbow of the inertia curve and the k of the best silhouette. */
export interface ChooseKPick {
  /** The elbow: the k farthest from the chord joining the first and last (k, inertia) points, both axes scaled to [0, 1]; null with fewer than 3 ks. */
  elbow: number | null;
  /** The k with the highest mean silhouette (the smaller k on a tie); null when no silhouette was computed. */
  bestSilhouette: number | null;
  elbowRule: string;
}

export const ELBOW_RULE =
  'the k whose (k, inertia) point lies farthest from the straight line through the first and last points, with k and inertia each scaled to [0, 1]';

/** Reads the elbow and the best silhouette off `chooseK` rows (sorted by k here). */
export function pickK(rows: readonly ChooseKRow[]): ChooseKPick {
  const r = [...rows].sort((a, b) => a.k - b.k);
  let bestSilhouette: number | null = null;
  let best = -Infinity;
  for (const row of r) {
    if (row.silhouette !== null && row.silhouette > best) {
      best = row.silhouette;
      bestSilhouette = row.k;
    }
  }
  let elbow: number | null = null;
  if (r.length >= 3) {
    const k0 = r[0]!.k;
    const k1 = r[r.length - 1]!.k;
    const lo = Math.min(...r.map((x) => x.inertia));
    const hi = Math.max(...r.map((x) => x.inertia));
    const span = hi - lo || 1;
    const pts = r.map((x) => [(x.k - k0) / (k1 - k0), (x.inertia - lo) / span] as const);
    const [ax, ay] = pts[0]!;
    const [bx, by] = pts[pts.length - 1]!;
    const len = Math.hypot(bx - ax, by - ay);
    let far = -1;
    for (let i = 1; i < pts.length - 1; i++) {
      const [px, py] = pts[i]!;
      const d = Math.abs((bx - ax) * (ay - py) - (ax - px) * (by - ay)) / len;
      if (d > far) {
        far = d;
        elbow = r[i]!.k;
      }
    }
  }
  return { elbow, bestSilhouette, elbowRule: ELBOW_RULE };
}
