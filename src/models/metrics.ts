/**
 * Model metrics, computed in f64 on the calling thread: ROC AUC (ties count one half), log-loss, accuracy,
 * R², RMSE and the silhouette score. Each takes optional sample weights where the definition has them.
 */
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { Rng, sampleWithoutReplacement } from './random.js';

type Vec = ArrayLike<number>;

function checkLengths(a: Vec, b: Vec, what: string, weights?: Vec | null): void {
  if (a.length !== b.length) throw new QuiverError('SHAPE_MISMATCH', `${what}: ${a.length} targets but ${b.length} predictions`);
  if (weights && weights.length !== a.length) throw new QuiverError('SHAPE_MISMATCH', `${what}: ${weights.length} weights for ${a.length} rows`);
  if (a.length === 0) throw new QuiverError('INVALID_ARGUMENT', `${what} needs at least one row`);
}

/**
 * Area under the ROC curve for 0/1 targets: the probability that a random positive scores above a random
 * negative, ties counting one half (the Mann–Whitney statistic; equal to the trapezoidal area of the ROC
 * curve). Weighted pairs when weights are given.
 */
export function rocAuc(y: Vec, score: Vec, weights?: Vec | null): number {
  checkLengths(y, score, 'rocAuc', weights);
  if (!weights) return rocAucUnweighted(y, score);
  const n = y.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => score[a]! - score[b]!);
  let negBelow = 0;
  let area = 0;
  let wPos = 0;
  let wNeg = 0;
  for (let g = 0; g < n; ) {
    const s = score[order[g]!]!;
    let pos = 0;
    let neg = 0;
    let e = g;
    for (; e < n && score[order[e]!] === s; e++) {
      const i = order[e]!;
      const w = weights ? weights[i]! : 1;
      if (y[i] === 1) pos += w;
      else if (y[i] === 0) neg += w;
      else throw new QuiverError('INVALID_ARGUMENT', `rocAuc needs 0/1 targets (got ${y[i]} at index ${i})`);
    }
    if (Number.isNaN(s)) throw new QuiverError('NON_FINITE', 'rocAuc: a score is NaN');
    area += pos * (negBelow + 0.5 * neg);
    negBelow += neg;
    wPos += pos;
    wNeg += neg;
    g = e;
  }
  if (wPos === 0 || wNeg === 0) throw new QuiverError('INVALID_ARGUMENT', 'rocAuc is undefined with one class only; it needs positive and negative rows');
  return area / (wPos * wNeg);
}

/** Unweighted AUC from the two classes' scores sorted apart (native typed-array sorts), ties counting ½. */
function rocAucUnweighted(y: Vec, score: Vec): number {
  const n = y.length;
  let nPos = 0;
  for (let i = 0; i < n; i++) {
    if (y[i] === 1) nPos++;
    else if (y[i] !== 0) throw new QuiverError('INVALID_ARGUMENT', `rocAuc needs 0/1 targets (got ${y[i]} at index ${i})`);
    if (Number.isNaN(score[i])) throw new QuiverError('NON_FINITE', 'rocAuc: a score is NaN');
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) throw new QuiverError('INVALID_ARGUMENT', 'rocAuc is undefined with one class only; it needs positive and negative rows');
  const pos = new Float64Array(nPos);
  const neg = new Float64Array(nNeg);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (y[i] === 1) pos[a++] = score[i]!;
    else neg[b++] = score[i]!;
  }
  pos.sort();
  neg.sort();
  let area = 0;
  let below = 0; // negatives scoring strictly below the current positive value
  for (let a = 0; a < nPos; ) {
    const s = pos[a]!;
    let a1 = a;
    while (a1 < nPos && pos[a1] === s) a1++;
    while (below < nNeg && neg[below]! < s) below++;
    let tie = below;
    while (tie < nNeg && neg[tie] === s) tie++;
    area += (a1 - a) * (below + 0.5 * (tie - below));
    a = a1;
  }
  return area / (nPos * nNeg);
}

/**
 * Mean negative log-likelihood of 0/1 targets under probabilities p (natural log), probabilities
 * clipped to [ε, 1 − ε] with ε = 2⁻⁵² so that a confident mistake costs a large but finite amount.
 */
export function logLoss(y: Vec, p: Vec, weights?: Vec | null): number {
  checkLengths(y, p, 'logLoss', weights);
  const eps = Number.EPSILON;
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const pi = Math.min(1 - eps, Math.max(eps, p[i]!));
    const w = weights ? weights[i]! : 1;
    s -= w * (y[i] === 1 ? Math.log(pi) : Math.log1p(-pi));
    sw += w;
  }
  return s / sw;
}

/** Mean log-loss from logits z (exact for any z: log(1 + e^z) − y·z without forming p). */
export function logLossFromLogits(y: Vec, z: Vec, weights?: Vec | null): number {
  checkLengths(y, z, 'logLoss', weights);
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? weights[i]! : 1;
    s += w * (softplus(z[i]!) - y[i]! * z[i]!);
    sw += w;
  }
  return s / sw;
}

/** log(1 + e^z) without overflow. */
export function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Fraction of rows where (p > threshold) equals the 0/1 target. */
export function accuracy(y: Vec, p: Vec, threshold = 0.5, weights?: Vec | null): number {
  checkLengths(y, p, 'accuracy', weights);
  let ok = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? weights[i]! : 1;
    if ((p[i]! > threshold ? 1 : 0) === y[i]) ok += w;
    sw += w;
  }
  return ok / sw;
}

/** Coefficient of determination 1 − SS_res / SS_tot (weighted); 1 for a perfect fit, 0 for the mean. */
export function r2Score(y: Vec, pred: Vec, weights?: Vec | null): number {
  checkLengths(y, pred, 'r2Score', weights);
  let sw = 0;
  let mean = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? weights[i]! : 1;
    sw += w;
    mean += w * y[i]!;
  }
  mean /= sw;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? weights[i]! : 1;
    res += w * (y[i]! - pred[i]!) ** 2;
    tot += w * (y[i]! - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/** Root mean squared error (weighted mean). */
export function rmse(y: Vec, pred: Vec, weights?: Vec | null): number {
  checkLengths(y, pred, 'rmse', weights);
  let s = 0;
  let sw = 0;
  for (let i = 0; i < y.length; i++) {
    const w = weights ? weights[i]! : 1;
    s += w * (y[i]! - pred[i]!) ** 2;
    sw += w;
  }
  return Math.sqrt(s / sw);
}

export interface SilhouetteOptions {
  /** Score a seeded uniform sample of this many rows when there are more (default 4000). */
  sampleSize?: number;
  seed?: number;
}

/**
 * Mean silhouette coefficient with Euclidean distances: for each row, a = mean distance to the other rows
 * of its cluster, b = the smallest mean distance to the rows of another cluster, s = (b − a) / max(a, b),
 * and s = 0 for a row alone in its cluster. O(m² · cols) for m scored rows, so large inputs are scored on
 * a seeded sample (like scikit-learn's `sample_size`). Needs 2 ≤ clusters ≤ m − 1.
 */
export function silhouetteScore(x: Matrix, labels: ArrayLike<number>, opts: SilhouetteOptions = {}): number {
  const { rows, cols, data } = x;
  if (labels.length !== rows) throw new QuiverError('SHAPE_MISMATCH', `silhouette: ${labels.length} labels for ${rows} rows`);
  const sampleSize = opts.sampleSize ?? 4000;
  const idx = rows > sampleSize ? Array.from(sampleWithoutReplacement(new Rng(opts.seed ?? 0), rows, sampleSize)).sort((a, b) => a - b) : [...Array(rows).keys()];
  const m = idx.length;
  // Relabel the sampled clusters densely.
  const dense = new Map<number, number>();
  const lab = new Int32Array(m);
  for (let s = 0; s < m; s++) {
    const l = labels[idx[s]!]!;
    let d = dense.get(l);
    if (d === undefined) {
      d = dense.size;
      dense.set(l, d);
    }
    lab[s] = d;
  }
  const k = dense.size;
  if (k < 2 || k > m - 1) {
    throw new QuiverError('INVALID_ARGUMENT', `the silhouette needs between 2 and ${m - 1} clusters among the scored rows (found ${k})`);
  }
  const size = new Float64Array(k);
  for (let s = 0; s < m; s++) size[lab[s]!]! += 1;
  // sums[s * k + c]: summed distance from scored row s to the scored rows of cluster c.
  const sums = new Float64Array(m * k);
  for (let s = 0; s < m; s++) {
    const so = idx[s]! * cols;
    const ls = lab[s]!;
    for (let t = s + 1; t < m; t++) {
      const to = idx[t]! * cols;
      let d2 = 0;
      for (let j = 0; j < cols; j++) {
        const diff = data[so + j]! - data[to + j]!;
        d2 += diff * diff;
      }
      const d = Math.sqrt(d2);
      sums[s * k + lab[t]!]! += d;
      sums[t * k + ls]! += d;
    }
  }
  let total = 0;
  for (let s = 0; s < m; s++) {
    const own = lab[s]!;
    if (size[own]! <= 1) continue; // s = 0 for a singleton
    const a = sums[s * k + own]! / (size[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own) b = Math.min(b, sums[s * k + c]! / size[c]!);
    const den = Math.max(a, b);
    total += den > 0 ? (b - a) / den : 0;
  }
  return total / m;
}
