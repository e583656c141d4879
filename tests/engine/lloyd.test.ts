// engine.lloyd (Lloyd steps run back to back in the pool) against a loop of single engine.kmeansStep calls
// with the centroid update written out here, on the selected backend; its stop tests; results whatever the
// thread count, tiling or inline execution; and the failure protocol between members.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/types.js';
import type { Engine } from '../../src/engine/engine.js';
import { abortLloyd, lloydControlLength, runLloydMember, type LloydTask } from '../../src/engine/ops/kmeans-lloyd.js';
import { QuiverError } from '../../src/errors.js';
import type { Matrix } from '../../src/types.js';
import { blobs } from '../models/blobs.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory();
// 20,000 rows: ten reduction blocks of 2,048, so several members share every step.
const { x } = blobs(7, 20_000, 16, 8);
const k = 8;
// The js backend is slow: no test but the budget's own may stop on time.
const NO_BUDGET = 3_600_000;
const weights = Float32Array.from({ length: x.rows }, (_, i) => 0.25 + (i % 7) * 0.5);

function startCenters(m: Matrix, rows: number[]): Float64Array {
  const c = new Float64Array(rows.length * m.cols);
  for (const [i, r] of rows.entries()) c.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  return c;
}
// Rows 0..7 as the start: close together, so the run takes several steps.
const start = startCenters(x, [0, 1, 2, 3, 4, 5, 6, 7]);

function sumSqOf(m: Matrix, w: Float32Array | null): number {
  let s = 0;
  for (let r = 0; r < m.rows; r++) {
    let q = 0;
    for (let j = 0; j < m.cols; j++) q += m.data[r * m.cols + j]! ** 2;
    s += (w ? w[r]! : 1) * q;
  }
  return s;
}

interface Ref {
  centers: Float64Array;
  labels: Int32Array;
  steps: { inertia: number; shift: number; changed: number | null }[];
  stop: string;
}

/** oracle: the steps one kmeansStep call at a time, the update and the stop tests written out here. */
async function reference(e: Engine, w: Float32Array | null, maxSteps: number, tolScaled: number): Promise<Ref> {
  const d = x.cols;
  let centers = start;
  const labels = new Int32Array(new SharedArrayBuffer(x.rows * 4));
  const steps: Ref['steps'] = [];
  for (let j = 0; j < maxSteps; j++) {
    const c32 = Float32Array.from(centers);
    const s = await e.kmeansStep(x, { rows: k, cols: d, data: c32 }, w, { into: { labels }, distances: false, changes: j > 0 });
    if (s.counts.some((v) => v === 0)) throw new Error('the reference data must not empty a cluster');
    // exact inertia of the step, for comparison with the inertia from sums
    const exact = (await e.kmeansStep(x, { rows: k, cols: d, data: c32 }, w)).inertia;
    const next = new Float64Array(k * d);
    let shift = 0;
    for (let c = 0; c < k; c++) {
      for (let f = 0; f < d; f++) {
        next[c * d + f] = s.sums[c * d + f]! / s.counts[c]!;
        shift += (next[c * d + f]! - c32[c * d + f]!) ** 2;
      }
    }
    centers = next;
    steps.push({ inertia: exact, shift, changed: s.changed });
    if (s.changed === 0) return { centers, labels, steps, stop: 'strict' };
    if (shift <= tolScaled) return { centers, labels, steps, stop: 'tol' };
  }
  return { centers, labels, steps, stop: 'steps' };
}

function expectSameRun(got: { centers: Float64Array; steps: Ref['steps']; stop: string }, labels: Int32Array, ref: Ref): void {
  expect(got.stop).toBe(ref.stop);
  expect(got.steps.length).toBe(ref.steps.length);
  expect(Array.from(got.centers)).toEqual(Array.from(ref.centers));
  expect(Array.from(labels)).toEqual(Array.from(ref.labels));
  got.steps.forEach((s, i) => {
    const r = ref.steps[i]!;
    expect(s.shift).toBe(r.shift);
    expect(s.changed).toBe(r.changed);
    expect(Math.abs(s.inertia - r.inertia) / r.inertia).toBeLessThan(1e-9);
  });
}

describe('engine.lloyd', () => {
  it('runs exactly the steps of single kmeansStep calls, to strict convergence, with and without weights', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    for (const w of [null, weights]) {
      const ref = await reference(e, w, 100, -1);
      expect(ref.stop).toBe('strict');
      expect(ref.steps.length).toBeGreaterThan(2);
      const labels = new Int32Array(new SharedArrayBuffer(x.rows * 4));
      const got = await e.lloyd(x, start, w, { k, labels, maxSteps: 100, countFirst: false, sumSq: sumSqOf(x, w), tolScaled: -1, budgetMs: NO_BUDGET });
      expectSameRun(got, labels, ref);
    }
  });

  it('gives the same bits inline, on 1, 2 or 3 threads and with any tiling', async () => {
    const runs = [];
    for (const opts of [{ threads: 1, inlineWork: Infinity }, { threads: 1, inlineWork: 0 }, { threads: 2, inlineWork: 0 }, { threads: 3, inlineWork: 0, tileRows: 17 }]) {
      const e = await engine(opts);
      // A plain (not shared) label array takes the copy-in, copy-out path.
      const labels = opts.threads === 3 ? new Int32Array(x.rows) : new Int32Array(new SharedArrayBuffer(x.rows * 4));
      const r = await e.lloyd(x, start, weights, { k, labels, maxSteps: 100, countFirst: false, sumSq: sumSqOf(x, weights), tolScaled: -1, budgetMs: NO_BUDGET });
      runs.push({ ...r, labels });
    }
    for (const r of runs.slice(1)) {
      expect(r.stop).toBe(runs[0]!.stop);
      expect(r.steps).toEqual(runs[0]!.steps);
      expect(Array.from(r.centers)).toEqual(Array.from(runs[0]!.centers));
      expect(Array.from(r.labels)).toEqual(Array.from(runs[0]!.labels));
    }
  });

  it('stops on maxSteps, tol and the time budget; continues where it stopped', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const sumSq = sumSqOf(x, null);
    const ref = await reference(e, null, 3, -1);
    const labels = new Int32Array(new SharedArrayBuffer(x.rows * 4));
    const three = await e.lloyd(x, start, null, { k, labels, maxSteps: 3, countFirst: false, sumSq, tolScaled: -1, budgetMs: NO_BUDGET });
    expectSameRun(three, labels, ref);
    // A budget of 0 ms: one step, then it returns; the next call picks up from its centroids and labels.
    const labels2 = new Int32Array(new SharedArrayBuffer(x.rows * 4));
    const a = await e.lloyd(x, start, null, { k, labels: labels2, maxSteps: 3, countFirst: false, sumSq, tolScaled: -1, budgetMs: 0 });
    expect(a.stop).toBe('budget');
    expect(a.steps.length).toBe(1);
    const b = await e.lloyd(x, a.centers, null, { k, labels: labels2, maxSteps: 2, countFirst: true, sumSq, tolScaled: -1, budgetMs: NO_BUDGET });
    expectSameRun({ centers: b.centers, steps: [...a.steps, ...b.steps], stop: b.stop }, labels2, ref);
    // tol: a shift this large stops after the first step.
    const t = await e.lloyd(x, start, null, { k, labels: new Int32Array(x.rows), maxSteps: 50, countFirst: false, sumSq, tolScaled: 1e30, budgetMs: NO_BUDGET });
    expect(t.stop).toBe('tol');
    expect(t.steps.length).toBe(1);
    expect(t.steps[0]!.shift).toBe(ref.steps[0]!.shift);
  });

  it('stops before applying a step that leaves a cluster empty, with that step’s label changes', async () => {
    const e = await engine({ threads: 2 });
    const tiny = { rows: 4, cols: 1, data: new Float32Array([0, 1, 2, 10]) };
    const labels = new Int32Array([1, 1, 0, 1]);
    const c0 = new Float64Array([0, 100]);
    const r = await e.lloyd(tiny, c0, null, { k: 2, labels, maxSteps: 10, countFirst: true, sumSq: 105, tolScaled: 0 });
    // oracle by hand: every row is nearest to centroid 0, so cluster 1 is empty; rows 0, 1 and 3 change label.
    expect(r.stop).toBe('empty');
    expect(r.steps).toEqual([]);
    expect(Array.from(r.centers)).toEqual([0, 100]);
    expect(r.emptyChanged).toBe(3);
    expect(Array.from(labels)).toEqual([0, 0, 0, 0]);
  });

  it('checks its arguments, honours an aborted signal, and keeps working after', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const labels = new Int32Array(x.rows);
    const base = { k, labels, maxSteps: 5, countFirst: false, sumSq: 1, tolScaled: 0 };
    await expectCode(e.lloyd(x, start.subarray(1), null, base), 'SHAPE_MISMATCH', /k × cols/);
    await expectCode(e.lloyd(x, start, null, { ...base, labels: new Int32Array(3) }), 'SHAPE_MISMATCH', /one per row/);
    await expectCode(e.lloyd(x, start, null, { ...base, maxSteps: 0 }), 'INVALID_ARGUMENT');
    await expectCode(e.lloyd(x, start, null, { ...base, sumSq: NaN }), 'INVALID_ARGUMENT', /sumSq/);
    await expectCode(e.lloyd(x, start, null, { ...base, budgetMs: -1 }), 'INVALID_ARGUMENT', /budgetMs/);
    const ac = new AbortController();
    ac.abort();
    await expectCode(e.lloyd(x, start, null, { ...base, signal: ac.signal }), 'ABORTED');
    const ok = await e.lloyd(x, start, null, base);
    expect(ok.steps.length).toBeGreaterThan(0);
  });
});

describe('runLloydMember failure and abort protocol', () => {
  it('a member whose kernel throws raises the flag; the others return peerFailed instead of waiting; abort stops at a step end', async () => {
    const e = await engine({ threads: 1, inlineWork: Infinity });
    const b = e.backend;
    const failing = new Proxy(b, {
      get(target, prop) {
        if (prop === 'kmeansStep') {
          return () => {
            throw new QuiverError('INTERNAL', 'kernel failed on purpose');
          };
        }
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Backend;
    const rows = 4096;
    const cols = 2;
    const xr = b.alloc('f32', rows * cols);
    const regions = [xr, b.alloc('i32', rows), b.alloc('f32', 2 * 2 * cols), b.alloc('f64', 2 * 2 * 2 * cols), b.alloc('f64', 2 * 2 * 2)];
    try {
      const task: LloydTask = {
        member: 0,
        members: 2,
        x: xr as LloydTask['x'],
        rows,
        cols,
        k: 2,
        blockRows: 2048,
        nBlocks: 2,
        weights: null,
        labels: regions[1] as LloydTask['labels'],
        centroids: regions[2] as LloydTask['centroids'],
        sums: regions[3] as LloydTask['sums'],
        counts: regions[4] as LloydTask['counts'],
        control: new Int32Array(new SharedArrayBuffer(4 * lloydControlLength(4))),
        start: new Float64Array([0, 0, 1, 1]),
        maxSteps: 4,
        countFirst: false,
        sumSq: 0,
        tolScaled: 0,
        deadline: Date.now() + 10_000,
      };
      expect(() => runLloydMember(failing, task)).toThrow(/on purpose/);
      const peer = runLloydMember(b, { ...task, member: 1 });
      expect(peer.peerFailed).toBe(true);
      expect(peer.inertia).toEqual([]);
      // The abort flag (what the engine sets when the call's signal fires) ends the job after the step in
      // progress, for every member alike (the last to reach the barrier publishes it).
      const view = b.view(xr as LloydTask['x']);
      for (let i = 0; i < view.length; i++) view[i] = (i % 7) - 3;
      const aborted = { ...task, members: 1, control: new Int32Array(new SharedArrayBuffer(4 * lloydControlLength(4))) };
      abortLloyd(aborted.control);
      const r = runLloydMember(b, aborted);
      expect(r.stop).toBe('budget');
      expect(r.inertia.length).toBe(1);
    } finally {
      for (const r of regions) b.free(r);
    }
  });
});
