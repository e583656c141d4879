/**
 * Lloyd steps run inside the pool, several in a row: the arithmetic a KMeans fit does between two kernel
 * passes, and the loop that keeps the workers on the job between steps.
 *
 * A fit's steps used to be one engine call each: two task messages, the shared regions sent again, and
 * a wait on the main thread between every pass. Here each of the `members` workers takes one task and
 * stays for up to `maxSteps` steps:
 *
 * - Rows are split in the engine's fixed reduction blocks; workers claim blocks one at a time from a
 *   shared counter (whoever is free takes the next), and block b writes partial slot b. Partials are
 *   double-buffered by step parity, so a worker can start step j + 1 while another still reads step j's.
 * - At the end of a step every member waits at a barrier (Atomics on a shared control block); then each
 *   member sums the partials itself, in block order, and derives the same new centroids, shift, inertia
 *   and stop decision from them: the same arithmetic, in the same order, as one step per call on the main
 *   thread (`sumBlocks`, `inertiaFromSums`, `updateCenters` are shared with the model), so results do not
 *   depend on how many workers ran or which block each took.
 * - The one decision that is not computed from the partials (stop for the time budget or an abort) is
 *   taken by the last member to reach the barrier and published with it, so every member sees it.
 * - A member whose kernel fails raises a flag the others see at their next claim or barrier; they return
 *   `peerFailed` and the engine reports the failing member's error.
 *
 * All members must run at the same time: the engine runs one such job at a time, with at most as many
 * members as the pool has threads, so every member gets a thread once the tasks queued before it finish.
 */
import type { Backend } from '../backends/types.js';
import type { F32, F64, I32, LloydMemberResult, LloydTask } from '../pool/tasks.js';

/** Σ over nBlocks consecutive partials of `len` values each, in block order (f64). */
export function sumBlocks(parts: Float64Array, nBlocks: number, len: number): Float64Array {
  const out = new Float64Array(len);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * len;
    for (let i = 0; i < len; i++) out[i]! += parts[o + i]!;
  }
  return out;
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

/** Words of the control block: barrier generation and arrivals, abort and failure flags, then 3 per step. */
const GEN = 0;
const ARRIVED = 1;
const ABORT = 2;
const FAIL = 3;
const SLOTS = 4;
const CLAIM = 0;
const CHANGED = 1;
const STOP = 2;
const slot = (step: number, what: number): number => SLOTS + 3 * step + what;

/** Length (Int32 words) of the control block for a job of `maxSteps` steps. */
export function lloydControlLength(maxSteps: number): number {
  return SLOTS + 3 * maxSteps;
}

/** Asks the members to stop after the step in progress (the engine's abort signal). */
export function abortLloyd(control: Int32Array): void {
  Atomics.store(control, ABORT, 1);
}

/** Marks the job failed and wakes every member waiting at a barrier. */
export function failLloyd(control: Int32Array): void {
  Atomics.store(control, FAIL, 1);
  Atomics.notify(control, GEN);
}

/** Loads of the generation word before a waiting member sleeps (the other members are usually close). */
const SPINS = 2000;
/** A sleeping member looks at the failure flag at least this often (ms). */
const WAIT_MS = 50;

/**
 * Waits until all members reached the end of step `step`. False when the job failed meanwhile.
 * The last to arrive decides whether the job stops for its time budget or an abort.
 */
function barrier(ctl: Int32Array, step: number, members: number, deadline: number): boolean {
  const target = members * (step + 1);
  if (Atomics.add(ctl, ARRIVED, 1) + 1 === target) {
    if (Atomics.load(ctl, ABORT) !== 0 || Date.now() >= deadline) Atomics.store(ctl, slot(step, STOP), 1);
    Atomics.store(ctl, GEN, step + 1);
    Atomics.notify(ctl, GEN);
    return Atomics.load(ctl, FAIL) === 0;
  }
  for (let spins = 0; ; spins++) {
    const g = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, FAIL) !== 0) return false;
    if (g > step) return true;
    if (spins >= SPINS) Atomics.wait(ctl, GEN, g, WAIT_MS);
  }
}

/** One member's share of a job (see the module comment); member 0's result carries the steps. */
export function runLloydMember(b: Backend, t: LloydTask): LloydMemberResult {
  const ctl = t.control;
  const { k, cols, nBlocks } = t;
  const kd = k * cols;
  const c = b.view(t.centroids).subarray(t.member * kd, (t.member + 1) * kd);
  const v = kmeansViews(b, t, c, null);
  const sumsAll = b.view(t.sums);
  const countsAll = b.view(t.counts);
  const result: LloydMemberResult = { inertia: [], shift: [], changed: [], centers: t.start, stop: 'steps', emptyChanged: null, peerFailed: false };
  let centers = t.start;
  try {
    for (let j = 0; j < t.maxSteps; j++) {
      c.set(centers); // rounded to f32, as Float32Array.from does for a single step
      const sums = sumsAll.subarray((j & 1) * nBlocks * kd, ((j & 1) + 1) * nBlocks * kd);
      const counts = countsAll.subarray((j & 1) * nBlocks * k, ((j & 1) + 1) * nBlocks * k);
      const changes = j > 0 || t.countFirst ? new Int32Array(1) : null;
      for (;;) {
        if (Atomics.load(ctl, FAIL) !== 0) return { ...result, peerFailed: true };
        const blk = Atomics.add(ctl, slot(j, CLAIM), 1);
        if (blk >= nBlocks) break;
        // The partial slots are reused every other step; the kernel adds into them.
        sums.fill(0, blk * kd, (blk + 1) * kd);
        counts.fill(0, blk * k, (blk + 1) * k);
        kmeansBlock(b, v, blk, sums, counts, changes);
      }
      if (changes) Atomics.add(ctl, slot(j, CHANGED), changes[0]!);
      if (!barrier(ctl, j, t.members, t.deadline)) return { ...result, peerFailed: true };
      const stepSums = sumBlocks(sums, nBlocks, kd);
      const stepCounts = sumBlocks(counts, nBlocks, k);
      const total = changes ? Atomics.load(ctl, slot(j, CHANGED)) : null;
      if (stepCounts.some((v) => v === 0)) {
        // An empty cluster needs this step's distances (farthest rows): the caller redoes the step.
        return { ...result, centers, stop: 'empty', emptyChanged: total };
      }
      const inertia = inertiaFromSums(t.sumSq, c, stepSums, stepCounts, k, cols);
      const { next, shift } = updateCenters(centers, c, stepSums, stepCounts, k, cols);
      centers = next;
      if (t.member === 0) {
        result.inertia.push(inertia);
        result.shift.push(shift);
        result.changed.push(total ?? -1);
      }
      // The same tests, in the same order, as a fit taking one step per call.
      if (total === 0) return { ...result, centers, stop: 'strict' };
      if (shift <= t.tolScaled) return { ...result, centers, stop: 'tol' };
      if (Atomics.load(ctl, slot(j, STOP)) !== 0) return { ...result, centers, stop: 'budget' };
    }
    return { ...result, centers, stop: 'steps' };
  } catch (err) {
    failLloyd(ctl);
    throw err;
  }
}
