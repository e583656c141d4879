/**
 * The Lloyd runs of a KMeans fit (src/models/kmeans.ts): the fit context, each run's steps on the engine (the
 * distance-free steps back to back in the pool through `engine.lloyd`, exact steps where a cluster empties or a
 * run ends), the tol scale from the first step, and scikit-learn's relocation of empty clusters.
 */
import type { AllocatedVector, AllocatedVectorF32, Engine, KmeansStepResult, StagedMatrix } from '../engine/engine.js';
import { checkFinite } from '../engine/validate.js';
import { crossAndNorms, inertiaFromSums, updateCenters } from '../engine/ops/kmeans.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import type { KMeansOptions, RunResult } from './kmeans-types.js';

export interface FitContext {
  engine: Engine;
  /**
   * The buffer of the steps with exact distances (a fit's first, one that left a cluster empty, each run's
   * final assignment): an engine region, allocated on first use and recycled after the fit, so that a fit does
   * not fault in fresh pages for it (1.6 MB at 200k rows; about 0.5 ms of the first step, measured here).
   */
  dist: AllocatedVector | null;
  /**
   * The labels every step of a run rewrites, in engine memory for the same reason (see `labelBuffer`); each
   * run's final labels are copied out of it.
   */
  labels: AllocatedVectorF32 | null;
  staged: StagedMatrix;
  x: Matrix;
  k: number;
  w32: Float32Array | null;
  maxIter: number;
  tol: number;
  /** Set by the first Lloyd step of the fit (see `fitScale`), then shared by every run. */
  scale: { sumSq: number; tolScaled: number } | null;
  opts: KMeansOptions;
}

function distanceBuffer(fit: FitContext): Float64Array {
  fit.dist ??= fit.engine.allocVector(fit.x.rows);
  return fit.dist.data;
}

/**
 * The steps' label buffer: an Int32Array over an f32 engine region (the same 4-byte elements; the engine
 * allocates f32 and f64 only), recycled across fits. A fresh SharedArrayBuffer per run, as before, had its pages
 * faulted in by the pool threads at the first step: about 2 ms of a 50 ms fit at 200k rows (an exact step took
 * 4.8–5.5 ms into fresh labels against 2.8–3.0 ms into reused ones), where copying the final labels out
 * costs about 0.35 ms on this thread.
 */
function labelBuffer(fit: FitContext): Int32Array {
  fit.labels ??= fit.engine.allocVectorF32(fit.x.rows);
  const d = fit.labels.data;
  return new Int32Array(d.buffer, d.byteOffset, d.length);
}

/**
 * What the whole fit needs from one pass over x, taken from the first Lloyd step (run with exact distances,
 * so no separate pass is spent on it): x's values are all finite (else the scan names the cell);
 * Σ w‖x‖² = inertia + 2 Σ_c c·S_c − Σ_c n_c‖c‖², for the later steps' inertia from sums; and the tol scale.
 */
async function fitScale(fit: FitContext, step: KmeansStepResult, c32: Float32Array): Promise<{ sumSq: number; tolScaled: number }> {
  const { x, k, w32, tol, engine, staged, opts } = fit;
  const d = x.cols;
  if (!Number.isFinite(step.inertia)) {
    checkFinite(x.data, 'x', d);
    throw new QuiverError('INTERNAL', 'kmeans: the step inertia is not finite, but every value of x is');
  }
  const { cross, norms } = crossAndNorms(c32, step.sums, step.counts, k, d);
  const sumSq = Math.max(0, step.inertia + 2 * cross - norms);
  if (tol === 0) return { sumSq, tolScaled: 0 };
  // The variance is unweighted even with sample weights (as scikit-learn). Without weights it follows from
  // this step alone: Σ‖x − x̄‖² = Σ‖x‖² − n‖x̄‖², with the column sums those of the step's clusters. With
  // weights, one pass against a zero centroid gives the unweighted column sums and Σ‖x‖² together.
  let columnSums: Float64Array;
  let plainSumSq: number;
  if (w32) {
    const zero = await engine.kmeansStep(staged, { rows: 1, cols: d, data: new Float32Array(d) }, null, { signal: opts.signal });
    columnSums = zero.sums;
    plainSumSq = zero.inertia;
  } else {
    columnSums = new Float64Array(d);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) columnSums[j]! += step.sums[c * d + j]!;
    plainSumSq = sumSq;
  }
  return { sumSq, tolScaled: tol * meanColumnVariance(x.rows, d, columnSums, plainSumSq) };
}

export async function lloyd(fit: FitContext, start: Float64Array, run: number): Promise<RunResult> {
  const { engine, staged, x, k, w32, maxIter, opts } = fit;
  const d = x.cols;
  const n = x.rows;
  let centers = start;
  const history: number[] = [];
  let converged = false;
  let done = 0;
  // One label buffer, rewritten by every step; the workers count the rows whose label changed. Its content
  // before the first step is never read: the first step of a run counts no changes.
  const into = { labels: labelBuffer(fit) };
  const withDistances = (): { labels: Int32Array; minDist2: Float64Array } => ({ labels: into.labels, minDist2: distanceBuffer(fit) });
  // Set when a run of steps in the pool stopped at a step that left a cluster empty: that step is redone
  // here with distances, and keeps the label changes the pool counted.
  let pendingChanged: number | null | undefined;
  while (done < maxIter) {
    if (fit.scale !== null && pendingChanged === undefined) {
      // Steps without distances run back to back in the pool, with the same arithmetic and stop tests as
      // the step below (see engine/lloyd.ts). It hands back after at most a step past its time budget: every
      // 100 ms for progress, else the engine's 200 ms, so other work queued on the pool is not held up long.
      const r = await engine.lloyd(staged, centers, w32, {
        k,
        labels: into.labels,
        maxSteps: maxIter - done,
        countFirst: done > 0,
        sumSq: fit.scale.sumSq,
        tolScaled: fit.scale.tolScaled,
        budgetMs: opts.onIteration ? 100 : undefined,
        signal: opts.signal,
      });
      for (const s of r.steps) {
        history.push(s.inertia);
        done++;
        opts.onIteration?.({ run, iteration: done, inertia: s.inertia, shift: s.shift });
      }
      centers = r.centers;
      if (r.stop === 'strict' || r.stop === 'tol') {
        converged = true;
        break;
      }
      if (r.stop === 'empty') pendingChanged = r.emptyChanged;
      continue;
    }
    const c32 = Float32Array.from(centers);
    // The fit's first step is exact: it supplies Σ w‖x‖² and checks x's values. A step that left a cluster
    // empty needs the distances too (the farthest rows re-seed it).
    const exact = fit.scale === null || pendingChanged !== undefined;
    let step = await engine.kmeansStep(staged, { rows: k, cols: d, data: c32 }, w32, {
      signal: opts.signal,
      distances: exact,
      changes: done > 0 && pendingChanged === undefined,
      into: exact ? withDistances() : into,
    });
    if (fit.scale === null) fit.scale = await fitScale(fit, step, c32);
    const changed = pendingChanged === undefined ? step.changed : pendingChanged;
    pendingChanged = undefined;
    if (!step.minDist2 && step.counts.some((c) => c === 0)) {
      // An empty cluster is re-seeded with the farthest rows: that needs the distances (same labels and sums).
      step = await engine.kmeansStep(staged, { rows: k, cols: d, data: c32 }, w32, { signal: opts.signal, into: withDistances() });
    }
    // Intermediate steps skip the exact per-row distances; the inertia of the step comes from its sums:
    // Σ w‖x − c_l‖² = Σ w‖x‖² − 2 Σ_c c·S_c + Σ_c n_c ‖c‖² (f64; S_c, n_c the step's sums and counts).
    const inertia = step.minDist2 ? step.inertia : inertiaFromSums(fit.scale.sumSq, c32, step.sums, step.counts, k, d);
    history.push(inertia);
    // The step's sums and counts are this call's own arrays: relocation may change them in place.
    const { sums, counts } = step;
    if (step.minDist2) relocateEmptyClusters(x, w32, step.labels, step.minDist2, sums, counts, k);
    // A cluster that stays empty (only possible with zero-weight rows) keeps its centroid.
    const { next, shift } = updateCenters(centers, c32, sums, counts, k, d);
    centers = next;
    done++;
    opts.onIteration?.({ run, iteration: done, inertia, shift });
    // Strict convergence: no label differs from the previous step's (as left by any relocation).
    if (changed === 0 || shift <= fit.scale.tolScaled) {
      converged = true;
      break;
    }
  }
  const nIter = done;
  // The final assignment, with exact distances: the labels and inertia of the returned centroids. (After a
  // strict convergence the labels are those of the last step already; the pass gives the exact inertia.)
  const final = await engine.kmeansStep(staged, { rows: k, cols: d, data: Float32Array.from(centers) }, w32, { signal: opts.signal, into: withDistances() });
  // The run's labels leave the recycled buffer (the next run, or fit, rewrites it); SharedArrayBuffer-backed as before.
  const labels = new Int32Array(new SharedArrayBuffer(n * 4));
  labels.set(final.labels);
  return { centers, labels, inertia: final.inertia, nIter, history, converged };
}

/**
 * Gives each empty cluster one of the rows farthest from their own centroid (distances of this step),
 * farthest first, moving the row's weight and values out of its old cluster's sums.
 */
function relocateEmptyClusters(
  x: Matrix,
  w32: Float32Array | null,
  labels: Int32Array,
  dist: Float64Array,
  sums: Float64Array,
  counts: Float64Array,
  k: number,
): void {
  const empty: number[] = [];
  for (let c = 0; c < k; c++) if (counts[c] === 0) empty.push(c);
  if (empty.length === 0) return;
  const n = x.rows;
  const d = x.cols;
  // The n_empty largest distances (among rows with weight), farthest first, ties to the lower row.
  const far: number[] = [];
  for (let i = 0; i < n; i++) {
    if (w32 && w32[i] === 0) continue;
    const di = dist[i]!;
    if (far.length === empty.length && di <= dist[far[far.length - 1]!]!) continue;
    let p = far.length;
    while (p > 0 && dist[far[p - 1]!]! < di) p--;
    far.splice(p, 0, i);
    if (far.length > empty.length) far.pop();
  }
  if (far.length === 0 || dist[far[0]!] === 0) return; // every row sits on its centroid: nothing to move
  for (let e = 0; e < empty.length && e < far.length; e++) {
    const target = empty[e]!;
    const i = far[e]!;
    const w = w32 ? w32[i]! : 1;
    const old = labels[i]!;
    for (let j = 0; j < d; j++) {
      const v = w * x.data[i * d + j]!;
      sums[old * d + j]! -= v;
      sums[target * d + j] = v;
    }
    counts[target] = w;
    counts[old]! -= w;
  }
}


/**
 * Mean over columns of the (unweighted, population) column variance, scikit-learn's tol scale, from the
 * column sums and Σ‖x‖² (no pass of its own). The subtraction loses about 1e-16·‖x̄‖²/variance relatively,
 * far below what a tolerance scale needs.
 */
function meanColumnVariance(n: number, d: number, columnSums: Float64Array, sumSq: number): number {
  let meanSq = 0;
  for (let j = 0; j < d; j++) meanSq += (columnSums[j]! / n) ** 2;
  return Math.max(0, sumSq / n - meanSq) / d;
}

