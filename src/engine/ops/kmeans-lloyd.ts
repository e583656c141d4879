/**
 * The KMeans family's multi-step job (`engine.lloyd`): Lloyd steps run inside the pool, several in a row,
 * with the arithmetic a KMeans fit does between two kernel passes and the loop that keeps the workers on the
 * job between steps.
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
 * All members must run at the same time: the engine runs one such job at a time (`Scheduler.exclusive`),
 * with at most as many members as the pool has threads, so every member gets a thread once the tasks queued before it finish.
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { Matrix } from '../../types.js';
import { sumBlocks } from '../merge.js';
import type { CallOptions, Scheduler, TaskKind } from '../schedule.js';
import type { F32, F64, I32, MatrixInput } from '../scope.js';
import { checkPositiveInt } from '../validate.js';
import { inertiaFromSums, kmeansBlock, kmeansViews, sampleWeights, updateCenters } from './kmeans.js';

/** One member of a run of Lloyd steps in the pool. */
export interface LloydTask {
  member: number;
  members: number;
  x: F32;
  rows: number;
  cols: number;
  k: number;
  blockRows: number;
  nBlocks: number;
  weights: F32 | null;
  labels: I32;
  /** members × k × cols: member m's f32 copy of the step's centroids at m·k·cols. */
  centroids: F32;
  /** 2 × nBlocks × k × cols partial sums and 2 × nBlocks × k partial counts (by step parity). */
  sums: F64;
  counts: F64;
  /** SharedArrayBuffer-backed control words (`lloydControlLength(maxSteps)`). */
  control: Int32Array;
  /** The centroids (f64, k × cols) the first step starts from. */
  start: Float64Array;
  maxSteps: number;
  /** Count label changes in the first step (later steps always count). */
  countFirst: boolean;
  /** Σ w‖x‖², for each step's inertia from its sums. */
  sumSq: number;
  /** Stop when the shift is at most this. */
  tolScaled: number;
  /** Date.now() after which the job stops at the next step's end. */
  deadline: number;
}

export type LloydStop = 'strict' | 'tol' | 'steps' | 'empty' | 'budget';

export interface LloydMemberResult {
  /** Per completed step (member 0 only): inertia from sums, centroid shift, label changes (−1: not counted). */
  inertia: number[];
  shift: number[];
  changed: number[];
  /** The centroids after the last completed step. */
  centers: Float64Array;
  stop: LloydStop;
  /** With stop 'empty': the label changes of the step that left a cluster empty (null: not counted). */
  emptyChanged: number | null;
  /** Another member failed; its error is the job's. */
  peerFailed: boolean;
}

export interface LloydOptions extends CallOptions {
  /** Number of centroids (rows of `start`). */
  k: number;
  /** Labels of the previous step, rewritten by every step (an Int32Array of one value per row). */
  labels: Int32Array;
  /** Steps to run at most. */
  maxSteps: number;
  /** Count label changes in the first step too (false when `labels` holds no previous step). */
  countFirst: boolean;
  /** Σ w‖x‖² (for each step's inertia from its sums). */
  sumSq: number;
  /** Stop once a step moves the centroids by at most this (Σ‖Δc‖²). */
  tolScaled: number;
  /**
   * Return after the step that ends past this many milliseconds (default 200): to show progress, and because
   * the job holds the pool's threads until then (other calls' tasks wait).
   */
  budgetMs?: number;
}

export interface LloydResult {
  /** Per completed step: inertia (from sums, for the step's starting centroids), shift, label changes (null: not counted). */
  steps: { inertia: number; shift: number; changed: number | null }[];
  /** The centroids after the last completed step (f64, k × cols). */
  centers: Float64Array;
  /**
   * Why the run returned: 'strict' (no label changed), 'tol' (shift ≤ tolScaled), 'steps' (maxSteps done),
   * 'budget' (time), or 'empty': the step after the completed ones left a cluster empty (it is not applied:
   * redo it with distances to relocate); `emptyChanged` then holds that step's label changes.
   */
  stop: LloydStop;
  emptyChanged: number | null;
}

/** Most steps one `lloyd` call runs (its control block holds a few words per step). */
const MAX_LLOYD_STEPS = 1024;

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

/**
 * How long (ms) a waiting member spins on the generation word before it sleeps. The other members are
 * usually less than one reduction block behind (about 70 µs at 200k × 32, k = 16, on two threads); the
 * former 2000 loads lasted about 30 µs, so most waits ended asleep and paid a wake-up on top. Kept short
 * because on a loaded machine a spinning member can hold the core its preempted peer needs.
 */
const SPIN_MS = 0.1;
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
  const spinUntil = performance.now() + SPIN_MS;
  for (let spins = 1; ; spins++) {
    const g = Atomics.load(ctl, GEN);
    if (Atomics.load(ctl, FAIL) !== 0) return false;
    if (g > step) return true;
    // The clock is read every 64 loads only (a load costs a few ns, the clock tens).
    if ((spins & 63) === 0 && performance.now() >= spinUntil) Atomics.wait(ctl, GEN, g, WAIT_MS);
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

export const lloydTask: TaskKind<LloydTask, LloydMemberResult> = { name: 'lloyd', run: runLloydMember };

/**
 * Lloyd steps without per-row distances, run back to back inside the pool, from `start` (f64 centroids,
 * k × cols) until a stop test holds: exactly the steps, centroid updates and stop tests of `kmeansStep` calls
 * in a loop, without a round trip to the calling thread between steps.
 */
export async function lloyd(
  sched: Scheduler,
  x: MatrixInput,
  start: Matrix | Float64Array,
  weights: Float32Array | null,
  opts: LloydOptions,
): Promise<LloydResult> {
  return sched.exclusive(() =>
    sched.job(async (s) => {
      let control: Int32Array | null = null;
      const onAbort = (): void => {
        if (control) abortLloyd(control);
      };
      try {
        const src = s.input(x, 'x');
        const k = checkPositiveInt(opts.k, 'k');
        const kd = k * src.cols;
        const startF64 = start instanceof Float64Array ? start : Float64Array.from(start.data);
        if (startF64.length !== kd) throw new QuiverError('SHAPE_MISMATCH', `start needs k × cols = ${kd} values (got ${startF64.length})`);
        if (!(opts.labels instanceof Int32Array) || opts.labels.length !== src.rows) {
          throw new QuiverError('SHAPE_MISMATCH', `labels must be an Int32Array of ${src.rows} values (one per row of x)`);
        }
        const maxSteps = Math.min(checkPositiveInt(opts.maxSteps, 'maxSteps'), MAX_LLOYD_STEPS);
        if (!Number.isFinite(opts.sumSq) || typeof opts.tolScaled !== 'number' || Number.isNaN(opts.tolScaled)) {
          throw new QuiverError('INVALID_ARGUMENT', 'sumSq must be a finite number and tolScaled a number (Σ w‖x‖², and the shift at which to stop)');
        }
        if (opts.budgetMs !== undefined && !(opts.budgetMs >= 0)) {
          throw new QuiverError('INVALID_ARGUMENT', `budgetMs must be a number ≥ 0 (got ${String(opts.budgetMs)})`);
        }
        const w = weights ? sampleWeights(s, weights, src.rows) : null;
        const { blockRows, nBlocks } = sched.reduceBlocks(src.rows);
        const inline = src.rows * kd <= sched.inlineWork;
        const members = inline ? 1 : Math.min(sched.threads, nBlocks);
        const labels = s.outputRegion(opts.labels, 'i32');
        if (labels.buffer !== opts.labels.buffer) s.view(labels).set(opts.labels);
        control = new Int32Array(new SharedArrayBuffer(4 * lloydControlLength(maxSteps)));
        const task: LloydTask = {
          member: 0,
          members,
          x: src.region,
          rows: src.rows,
          cols: src.cols,
          k,
          blockRows,
          nBlocks,
          weights: w,
          labels,
          centroids: s.alloc('f32', members * kd, false),
          sums: s.alloc('f64', 2 * nBlocks * kd, false),
          counts: s.alloc('f64', 2 * nBlocks * k, false),
          control,
          start: startF64,
          maxSteps,
          countFirst: opts.countFirst,
          sumSq: opts.sumSq,
          tolScaled: opts.tolScaled,
          deadline: Date.now() + (opts.budgetMs ?? 200),
        };
        sched.checkOpen(opts.signal);
        opts.signal?.addEventListener('abort', onAbort);
        let lead: LloydMemberResult;
        if (inline) {
          lead = runLloydMember(sched.backend, task);
        } else {
          const ctl = control;
          const runs = Array.from({ length: members }, (_, member) =>
            sched.runOnPool(lloydTask, { ...task, member }).catch((err: unknown) => {
              // A member that never ran (or died) must not leave the others waiting at a barrier.
              failLloyd(ctl);
              throw err;
            }),
          );
          const settled = await Promise.allSettled(runs);
          const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          lead = (settled[0] as PromiseFulfilledResult<LloydMemberResult>).value;
        }
        if (opts.signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work finished');
        if (lead.peerFailed) throw new QuiverError('INTERNAL', 'a Lloyd job member stopped without an error of its own');
        s.deliver(labels, opts.labels);
        return {
          steps: lead.inertia.map((inertia, i) => ({ inertia, shift: lead.shift[i]!, changed: lead.changed[i]! < 0 ? null : lead.changed[i]! })),
          centers: lead.centers,
          stop: lead.stop,
          emptyChanged: lead.emptyChanged,
        };
      } finally {
        opts.signal?.removeEventListener('abort', onAbort);
      }
    }),
  );
}
