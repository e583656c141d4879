// W3 KMeans rows: the engine (in process and in fresh processes), scikit-learn, the vendor anchors, ml-kmeans.
import { anchorRows } from '../../lib/anchors.mjs';
import { BACKENDS } from '../../lib/context.mjs';
import { blobs, prefixRows, toRows } from '../../lib/data.mjs';
import { childRows } from '../../lib/engine-rows.mjs';
import { missingPython, runPeer } from '../../lib/python.mjs';
import { failedRow, measuredRow, skippedRow } from '../../lib/report.mjs';
import { median, timeAdaptive } from '../../lib/timing.mjs';
import { SEEDS, SIZES, eachBackend, scaledNote } from './common.mjs';


/**
 * 20 Lloyd iterations on the engine: engine.kmeans when the model exists, else the same iterations from the
 * kernel (engine.kmeansStep on a staged matrix + centroid update, empty clusters keep their centroid).
 */
async function engineLloyd(engine, x, init, iters) {
  if (typeof engine.kmeans === 'function') {
    const prepared = { x, path: 'kmeans' };
    return {
      prepared,
      op: async () => {
        const m = await engine.kmeans(x, { k: init.rows, init, nInit: 1, maxIter: iters, tol: 0 });
        return { nIter: m.nIter, inertia: m.inertia };
      },
      release() {},
    };
  }
  const staged = engine.stage(x);
  const { rows: k, cols } = init;
  return {
    prepared: { path: 'kmeansStep' },
    op: async () => {
      const c = Float32Array.from(init.data);
      let inertia = NaN;
      for (let it = 0; it < iters; it++) {
        const r = await engine.kmeansStep(staged, { rows: k, cols, data: c });
        inertia = r.inertia;
        for (let j = 0; j < k; j++) {
          const cnt = r.counts[j];
          if (cnt > 0) for (let f = 0; f < cols; f++) c[j * cols + f] = r.sums[j * cols + f] / cnt;
        }
      }
      return { nIter: iters, inertia };
    },
    release: () => staged.release(),
  };
}

export async function runW3(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'].W3;
  ctx.log(`W3 building ${s.n} × ${s.d} blobs`);
  const { x, init } = blobs(s.n, s.d, s.blobs, s.k, SEEDS.W3);
  const flopsPerIter = (n) => 2 * n * s.k * s.d;
  const engineRow = async (backend, engine) => {
    const n = backend === 'js' ? s.jsN : s.n;
    ctx.log(`W3 ${backend} (${n} × ${s.d})`);
    const lloyd = await engineLloyd(engine, prefixRows(x, n), init, s.iters);
    try {
      const { timing, first } = await timeAdaptive(`W3 ${backend}`, lloyd.op, ctx);
      return [
        measuredRow({
          workload: 'W3',
          impl: backend,
          what:
            lloyd.prepared.path === 'kmeans'
              ? `engine.kmeans(X, { k, init: C0, nInit: 1, maxIter: ${s.iters}, tol: 0 }), fit time / nIter`
              : `engine.kmeans is not available: ${s.iters} × engine.kmeansStep(staged X, C) + centroid update (X staged before the timer), time / ${s.iters}`,
          seconds: timing.seconds / first.nIter,
          work: flopsPerIter(n),
          unit: 'GFLOP/s',
          timer: `${timing.timer}, per iteration`,
          scaled: scaledNote(n, s.n, s.d),
          notes: [engine.info().simd, `${first.nIter} iterations`],
          check: { inertia: first.inertia, nIter: first.nIter, n, path: lloyd.prepared.path },
          extra: { fitSeconds: timing.seconds, times: timing.times },
        }),
      ];
    } finally {
      lloyd.release();
    }
  };

  // scikit-learn runs before and after the native row, and its figure pools the calls of both runs: this
  // machine's speed drifts by tens of per cent within minutes, and a peer timed only on one side of the
  // engine would carry that drift into the ratio.
  const skImpl = 'sklearn KMeans lloyd';
  let sk = null;
  const rows = [];
  if (ctx.wantImpl(skImpl)) {
    const missing = missingPython(ctx.threads, ['numpy', 'sklearn']);
    if (missing) rows.push(skippedRow('W3', skImpl, missing));
    else {
      const paths = { x: ctx.inputs.write('w3_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), init: ctx.inputs.write('w3_init', ctx.lib.encodeNpy, init.data, [init.rows, init.cols]) };
      sk = async (when) => {
        ctx.log(`W3 scikit-learn (${when} the native row)`);
        return runPeer('w3_sklearn.py', { ...paths, n: s.n, iters: s.iters, budget: ctx.pyBudget }, ctx.threads);
      };
    }
  }
  const before = sk ? await sk('before') : null;
  rows.push(...(await eachBackend(ctx, ['W3'], engineRow, ['native'])));
  const after = sk ? await sk('after') : null;
  rows.push(...(await eachBackend(ctx, ['W3'], engineRow, BACKENDS.filter((b) => b !== 'native'))));
  if (sk) {
    const bad = [before, after].find((r) => r.skipped || r.error);
    if (bad?.skipped) rows.push(skippedRow('W3', skImpl, bad.skipped));
    else if (bad) rows.push(failedRow('W3', skImpl, bad.error));
    else {
      const times = [...before.times, ...after.times];
      rows.push(
        measuredRow({
          workload: 'W3',
          impl: skImpl,
          what: `KMeans(algorithm='lloyd', init=C0, n_init=1, max_iter=${s.iters}, tol=0).fit(X), fit time / n_iter_`,
          seconds: median(times) / after.nIter,
          work: flopsPerIter(s.n),
          unit: 'GFLOP/s',
          timer: `perf_counter, median of ${times.length} calls from two runs (before and after the native row), per iteration`,
          notes: [`${after.nIter} iterations`],
          peakRssDelta: Math.max(before.peakRssDelta ?? 0, after.peakRssDelta ?? 0) || undefined,
          check: after.check,
          extra: { fitSeconds: median(times), times, runs: [before.seconds, after.seconds] },
        }),
      );
    }
    ctx.inputs.drop('w3_x', 'w3_init');
  }

  rows.push(
    ...(await anchorRows(ctx, 'W3', {
      script: 'w3_anchor.py',
      estimator: 'KMeans lloyd',
      inputs: () => ({ x: ctx.inputs.write('w3_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), init: ctx.inputs.write('w3_init', ctx.lib.encodeNpy, init.data, [init.rows, init.cols]) }),
      cfg: { n: s.n, iters: s.iters, budget: ctx.pyBudget },
      row: (r) => ({
        what: `KMeans(init=C0, n_init=1, max_iter=${s.iters}, tol=0, algorithm='lloyd').fit(X), fit time / n_iter_`,
        seconds: r.seconds / r.nIter,
        work: flopsPerIter(s.n),
        unit: 'GFLOP/s',
        timer: `${r.timer}, per iteration`,
        notes: [`${r.nIter} iterations`],
        check: r.check,
        extra: { fitSeconds: r.seconds },
      }),
    })),
  );
  ctx.inputs.drop('w3_x', 'w3_init');

  rows.push(
    ...(await childRows(ctx, {
      workload: 'W3',
      cfgFor: (b) => ({ n: b === 'js' ? s.jsN : s.n, d: s.d, k: s.k, iters: s.iters, blobs: s.blobs, seed: SEEDS.W3 }),
      work: (c) => flopsPerIter(c.n),
      unit: 'GFLOP/s',
      perIteration: true,
      call: `engine.kmeans(X, { k, init: C0, nInit: 1, maxIter: ${s.iters}, tol: 0 }), fit time / nIter`,
      scaled: (c) => scaledNote(c.n, s.n, s.d),
    })),
  );

  const mlImpl = 'ml-kmeans';
  if (ctx.wantImpl(mlImpl)) {
    try {
      const { kmeans } = await import('ml-kmeans');
      const n = s.mlN;
      ctx.log(`W3 ml-kmeans (${n} × ${s.d})`);
      const data = toRows(prefixRows(x, n));
      const initRows = toRows(init);
      // tolerance -1: its convergence test (centroid shift > tolerance) never passes, so exactly `iters` run.
      const op = () => kmeans(data, s.k, { initialization: initRows.map((r) => r.slice()), maxIterations: s.iters, tolerance: -1 });
      const { timing, first } = await timeAdaptive('W3 ml-kmeans', op, ctx);
      rows.push(
        measuredRow({
          workload: 'W3',
          impl: mlImpl,
          what: `kmeans(rows, k, { initialization: C0, maxIterations: ${s.iters}, tolerance: -1 }) on number[][] (converted before the timer), time / iterations`,
          seconds: timing.seconds / first.iterations,
          work: flopsPerIter(n),
          unit: 'GFLOP/s',
          timer: `${timing.timer}, per iteration`,
          scaled: scaledNote(n, s.n, s.d),
          notes: [`${first.iterations} iterations`],
          check: { nIter: first.iterations, n },
          extra: { fitSeconds: timing.seconds },
        }),
      );
    } catch (e) {
      rows.push(failedRow('W3', mlImpl, e));
    }
  }
  return rows;
}
