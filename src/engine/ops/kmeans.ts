/**
 * The KMeans family, one Lloyd step: each reduction block assigns its rows to the nearest centroid
 * (‖x‖² − 2x·c + ‖c‖²) and accumulates per-cluster sums and counts (f64) into its own partial slot; the
 * partials are summed in block order. Also the step arithmetic that a fit does between two passes (inertia
 * from sums, the centroid update), shared by the model and by the multi-step job in `kmeans-lloyd.ts`.
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { Matrix } from '../../types.js';
import { sumBlocks } from '../merge.js';
import type { BlockRange, CallOptions, Scheduler, TaskKind } from '../schedule.js';
import type { F32, F64, I32, MatrixInput, Scope } from '../scope.js';
import { checkMatrix, checkSameCols, checkVector } from '../validate.js';

export interface KmeansStepOptions extends CallOptions {
  /** Exact per-row distances and the inertia (default true). */
  distances?: boolean;
  /** With `into`: count the rows whose label differs from what into.labels held before the call. */
  changes?: boolean;
  /** Caller-owned outputs, reused across steps. */
  into?: { labels: Int32Array; minDist2?: Float64Array | null };
}

export interface KmeansStepResult {
  labels: Int32Array;
  /** Exact squared distance of each row to its centroid; null with `distances: false`. */
  minDist2: Float64Array | null;
  /** k × cols sums of the rows assigned to each centroid (weighted). */
  sums: Float64Array;
  counts: Float64Array;
  inertia: number;
  /** With `changes` and `into`: how many rows' labels differ from what into.labels held before; else null. */
  changed: number | null;
}

export interface KmeansTask extends BlockRange {
  x: F32;
  cols: number;
  centroids: F32;
  k: number;
  weights: F32 | null;
  labels: I32;
  minDist2: F64 | null;
  /** nBlocks × k × cols partial sums, nBlocks × k partial counts. */
  sums: F64;
  counts: F64;
  /** Count the rows whose label differs from what `labels` held before the step. */
  changes: boolean;
}

/** Σ_c c·S_c and Σ_c n_c‖c‖² (f64) for a step's centroids, sums and counts. */
export function crossAndNorms(c32: Float32Array, sums: Float64Array, counts: Float64Array, k: number, d: number): { cross: number; norms: number } {
  let cross = 0;
  let norms = 0;
  for (let c = 0; c < k; c++) {
    let cs = 0;
    let cc = 0;
    for (let j = 0; j < d; j++) {
      const v = c32[c * d + j]!;
      cs += v * sums[c * d + j]!;
      cc += v * v;
    }
    cross += cs;
    norms += counts[c]! * cc;
  }
  return { cross, norms };
}

/** Σ w‖x − c_l‖² from a step's sums: Σ w‖x‖² − 2 Σ_c c·S_c + Σ_c n_c ‖c‖², in f64, at least 0. */
export function inertiaFromSums(sumSq: number, c32: Float32Array, sums: Float64Array, counts: Float64Array, k: number, d: number): number {
  const { cross, norms } = crossAndNorms(c32, sums, counts, k, d);
  return Math.max(0, sumSq - 2 * cross + norms);
}

/**
 * The centroids after a step: sums / counts (f64), a cluster with no weight keeping its centroid; and the
 * shift Σ‖c_new − c_step‖², against the f32 centroids the step used.
 */
export function updateCenters(
  centers: Float64Array,
  c32: Float32Array,
  sums: Float64Array,
  counts: Float64Array,
  k: number,
  d: number,
): { next: Float64Array; shift: number } {
  const next = new Float64Array(k * d);
  let shift = 0;
  for (let c = 0; c < k; c++) {
    const cnt = counts[c]!;
    for (let j = 0; j < d; j++) {
      const v = cnt > 0 ? sums[c * d + j]! / cnt : centers[c * d + j]!;
      next[c * d + j] = v;
      const diff = v - c32[c * d + j]!;
      shift += diff * diff;
    }
  }
  return { next, shift };
}

/** The views one KMeans step over blocks of rows reads and writes (see `kmeansBlock`). */
export interface KmeansViews {
  x: Float32Array;
  rows: number;
  cols: number;
  k: number;
  blockRows: number;
  centroids: Float32Array;
  weights: Float32Array | null;
  labels: Int32Array;
  minDist2: Float64Array | null;
}

/** The views of a task's regions, with the step's centroids (a member's own copy in a Lloyd job). */
export function kmeansViews(
  b: Backend,
  t: { x: F32; rows: number; cols: number; k: number; blockRows: number; weights: F32 | null; labels: I32 },
  centroids: Float32Array,
  minDist2: F64 | null,
): KmeansViews {
  return {
    x: b.view(t.x),
    rows: t.rows,
    cols: t.cols,
    k: t.k,
    blockRows: t.blockRows,
    centroids,
    weights: t.weights ? b.view(t.weights) : null,
    labels: b.view(t.labels),
    minDist2: minDist2 ? b.view(minDist2) : null,
  };
}

/**
 * The kernel on reduction block `blk`: its rows' labels (and distances), into partial slot `blk` of the
 * nBlocks × k × cols sums and nBlocks × k counts; returns the block's inertia (NaN without distances).
 */
export function kmeansBlock(b: Backend, v: KmeansViews, blk: number, sums: Float64Array, counts: Float64Array, changes: Int32Array | null): number {
  const { cols, k } = v;
  const r0 = blk * v.blockRows;
  const r1 = Math.min(v.rows, r0 + v.blockRows);
  return b.kmeansStep({
    x: v.x.subarray(r0 * cols, r1 * cols),
    rows: r1 - r0,
    cols,
    centroids: v.centroids,
    k,
    weights: v.weights ? v.weights.subarray(r0, r1) : null,
    labels: v.labels.subarray(r0, r1),
    minDist2: v.minDist2 ? v.minDist2.subarray(r0, r1) : null,
    sums: sums.subarray(blk * k * cols, (blk + 1) * k * cols),
    counts: counts.subarray(blk * k, (blk + 1) * k),
    changes,
  });
}

export const kmeansTask: TaskKind<KmeansTask, { inertia: number[]; changed: number }> = {
  name: 'kmeans',
  run(b: Backend, t: KmeansTask) {
    const v = kmeansViews(b, t, b.view(t.centroids), t.minDist2);
    const sums = b.view(t.sums);
    const counts = b.view(t.counts);
    const inertia: number[] = [];
    const changes = t.changes ? new Int32Array(1) : null;
    for (let blk = t.block0; blk < t.block1; blk++) inertia.push(kmeansBlock(b, v, blk, sums, counts, changes));
    return { inertia, changed: changes ? changes[0]! : 0 };
  },
};

/** KMeans row weights (one finite f32 per row) copied into a job region. */
export function sampleWeights(s: Scope, weights: Float32Array, rows: number): F32 {
  checkVector(weights, 'sampleWeight', rows);
  return s.copy('f32', weights);
}

/**
 * One Lloyd step over all rows: labels, per-cluster sums and counts, and (unless `distances` is false) the
 * exact squared distances and the inertia. Without distances `minDist2` is null and `inertia` NaN: the
 * intermediate steps of a fit need only labels, sums and counts, and skip a pass over each row.
 * With `changes` and `into`, `changed` counts the rows whose label differs from what `into.labels` held
 * before the call (counted by the workers, block by block, as they write).
 */
export async function kmeansStep(
  sched: Scheduler,
  x: MatrixInput,
  centroids: Matrix,
  weights: Float32Array | null | undefined,
  opts: KmeansStepOptions,
): Promise<KmeansStepResult> {
  return sched.job(async (s) => {
    const src = s.input(x, 'x');
    checkMatrix(centroids, 'centroids');
    checkSameCols(centroids.cols, 'centroids', src.cols, 'x');
    const k = centroids.rows;
    const c = s.copy('f32', centroids.data);
    const w = weights ? sampleWeights(s, weights, src.rows) : null;
    const { blockRows, nBlocks, groups } = sched.reduceBlocks(src.rows);
    // Caller-owned outputs (reused across Lloyd iterations) spare fresh pages every step; written in place
    // when SharedArrayBuffer-backed on native/js, copied otherwise.
    const into = opts.into;
    const distances = opts.distances ?? true;
    const intoD2 = distances ? (into?.minDist2 ?? null) : null;
    if (
      into &&
      (!(into.labels instanceof Int32Array) || into.labels.length !== src.rows || (distances && (!(intoD2 instanceof Float64Array) || intoD2.length !== src.rows)))
    ) {
      throw new QuiverError('SHAPE_MISMATCH', `into.labels (Int32Array) and, with distances, into.minDist2 (Float64Array) need ${src.rows} values each`);
    }
    const labels: I32 = into ? s.outputRegion(into.labels, 'i32') : s.alloc('i32', src.rows);
    // Label changes are counted against what into.labels holds now (a job copy of it when not written in place).
    const changes = opts.changes === true && into !== undefined;
    if (changes && into && labels.buffer !== into.labels.buffer) s.view(labels).set(into.labels);
    const minDist2: F64 | null = !distances ? null : intoD2 ? s.outputRegion(intoD2, 'f64') : s.alloc('f64', src.rows);
    const sums: F64 = s.alloc('f64', nBlocks * k * src.cols);
    const counts: F64 = s.alloc('f64', nBlocks * k);
    const tasks = groups.map((g) => ({ ...g, blockRows, rows: src.rows, x: src.region, cols: src.cols, centroids: c, k, weights: w, labels, minDist2, sums, counts, changes }));
    const parts = await sched.dispatch(kmeansTask, tasks, src.rows * k * src.cols, opts.signal);
    let inertia = 0;
    let changed = 0;
    for (const p of parts) {
      for (const v of p.inertia) inertia += v;
      changed += p.changed;
    }
    return {
      labels: into ? s.deliver(labels, into.labels) : s.take(labels),
      minDist2: !minDist2 ? null : intoD2 ? s.deliver(minDist2, intoD2) : s.take(minDist2),
      sums: sumBlocks(s.view(sums), nBlocks, k * src.cols),
      counts: sumBlocks(s.view(counts), nBlocks, k),
      inertia: distances ? inertia : Number.NaN,
      changed: changes ? changed : null,
    };
  });
}
