// W4 OLS rows: the engine (Gram kernel and public fit, in process and in fresh processes), numpy, the vendor
// anchors, ml-regression-multivariate-linear.
import { createRequire } from 'node:module';
import { anchorRows } from '../../lib/anchors.mjs';
import { prefixRows, regression, toRows } from '../../lib/data.mjs';
import { childRows } from '../../lib/engine-rows.mjs';
import { missingPython, runPeer } from '../../lib/python.mjs';
import { failedRow, measuredRow, skippedRow } from '../../lib/report.mjs';
import { timeAdaptive } from '../../lib/timing.mjs';
import { SEEDS, SIZES, eachBackend, gramFlops, maxAbsDiff, scaledNote } from './common.mjs';

const require = createRequire(import.meta.url);

export async function runW4(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'].W4;
  ctx.log(`W4 building ${s.n} × ${s.d}`);
  const { x, y, beta } = regression(s.n, s.d, SEEDS.W4);
  const rows = await eachBackend(ctx, ['W4', 'W4-score'], async (backend, engine) => {
    const n = backend === 'js' ? s.jsN : s.n;
    const xs = prefixRows(x, n);
    const ys = y.subarray(0, n);
    const simd = engine.info().simd;
    const scaled = scaledNote(n, s.n, s.d);
    const out = [];
    // X lives in the engine's shared memory before the timer, as numpy's X is already in memory.
    const staged = engine.stage(xs);
    try {
      if (ctx.wantWorkload('W4')) {
        ctx.log(`W4 ${backend} Gram + solve (${n} × ${s.d})`);
        const op = async () => {
          const { g, xty } = await engine.gram(staged, { v: ys });
          return engine.choleskySolve(g, s.d, xty, 1);
        };
        const { timing, first } = await timeAdaptive(`W4 ${backend}`, op, ctx);
        out.push(
          measuredRow({
            workload: 'W4',
            impl: backend,
            what: 'engine.gram(staged X, { v: y }) then engine.choleskySolve(G, d, Xᵀy): f64 accumulation, no intercept (X staged before the timer)',
            seconds: timing.seconds,
            work: gramFlops(n, s.d),
            unit: 'GFLOP/s',
            timer: timing.timer,
            scaled,
            notes: [simd],
            check: { coefMaxAbsErrVsTrue: maxAbsDiff(first, beta), coef: Array.from(first) },
            extra: { times: timing.times },
          }),
        );
        if (typeof engine.linearRegression === 'function') {
          const fit = () => engine.linearRegression(xs, ys, { fitIntercept: true });
          const t = await timeAdaptive(`W4 ${backend} linearRegression`, fit, ctx);
          out.push(
            measuredRow({
              workload: 'W4',
              impl: `${backend} linearRegression`,
              what: 'engine.linearRegression(X, y, { fitIntercept: true }): the model (centring, Gram, solve, R², RMSE) on the plain matrix',
              seconds: t.timing.seconds,
              work: gramFlops(n, s.d),
              unit: 'GFLOP/s',
              timer: t.timing.timer,
              scaled,
              notes: [simd],
              extra: { times: t.timing.times },
            }),
          );
        }
      }
      if (ctx.wantWorkload('W4-SCORE')) {
        ctx.log(`W4 ${backend} scoring (${n} rows)`);
        const w = Float64Array.from(beta);
        const op = () => engine.matvec(staged, w, 0, ctx.lib.LINK_IDENTITY);
        const { timing, first } = await timeAdaptive(`W4 score ${backend}`, op, ctx);
        let sum = 0;
        for (let i = 0; i < first.length; i++) sum += first[i];
        out.push(
          measuredRow({
            workload: 'W4-score',
            impl: backend,
            what: 'engine.matvec(staged X, w, 0, LINK_IDENTITY) into a new Float32Array',
            seconds: timing.seconds,
            work: n,
            unit: 'rows/s',
            timer: timing.timer,
            scaled,
            notes: [simd],
            check: { sumScores: sum },
            extra: { times: timing.times },
          }),
        );
      }
    } finally {
      staged.release();
    }
    return out;
  });

  const peerImpls = ['numpy f64', 'numpy f32', 'numpy X @ w'];
  if (peerImpls.some((i) => ctx.wantImpl(i))) {
    const missing = missingPython(ctx.threads, ['numpy']);
    if (missing) rows.push(...peerImpls.map((i) => skippedRow(i === 'numpy X @ w' ? 'W4-score' : 'W4', i, missing)));
    else {
      ctx.log('W4 numpy');
      const paths = {
        x: ctx.inputs.write('w4_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]),
        y: ctx.inputs.write('w4_y', ctx.lib.encodeNpy, y, [y.length]),
        beta: ctx.inputs.write('w4_beta', ctx.lib.encodeNpy, beta, [beta.length]),
      };
      const r = await runPeer('w4_numpy.py', { ...paths, n: s.n, budget: ctx.pyBudget }, ctx.threads);
      ctx.inputs.drop('w4_x', 'w4_y', 'w4_beta');
      if (r.skipped || r.error) {
        for (const i of peerImpls) rows.push(r.skipped ? skippedRow(i === 'numpy X @ w' ? 'W4-score' : 'W4', i, r.skipped) : failedRow('W4', i, r.error));
      } else {
        const gramPeers = ctx.wantWorkload('W4') ? [
          ['numpy f64', r.f64, `X64.T @ X64, X64.T @ y, Cholesky + triangular solves (${r.solver}); X64 = X.astype(float64) before the timer`],
          ['numpy f32', r.f32, `X.T @ X, X.T @ y32, Cholesky + triangular solves in float32 (f32 sums) (${r.solver})`],
        ] : [];
        for (const [impl, m, what] of gramPeers) {
          rows.push(
            measuredRow({
              workload: 'W4',
              impl,
              what,
              seconds: m.seconds,
              work: gramFlops(s.n, s.d),
              unit: 'GFLOP/s',
              timer: m.timer,
              peakRssDelta: r.peakRssDelta,
              check: { coefMaxAbsErrVsTrue: maxAbsDiff(m.coef, beta) },
              extra: { times: m.times, coef: m.coef },
            }),
          );
        }
        if (ctx.wantWorkload('W4-SCORE')) rows.push(
          measuredRow({
            workload: 'W4-score',
            impl: 'numpy X @ w',
            what: 'X @ w, float32',
            seconds: r.score.seconds,
            work: s.n,
            unit: 'rows/s',
            timer: r.score.timer,
            check: r.score.check,
            extra: { times: r.score.times },
          }),
        );
      }
    }
  }

  if (ctx.wantWorkload('W4')) {
    rows.push(
      ...(await anchorRows(ctx, 'W4', {
        script: 'w4_anchor.py',
        estimator: 'LinearRegression',
        inputs: () => ({ x: ctx.inputs.write('w4_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), y: ctx.inputs.write('w4_y', ctx.lib.encodeNpy, y, [y.length]) }),
        cfg: { n: s.n, budget: ctx.pyBudget },
        row: (r) => ({
          what: 'LinearRegression(fit_intercept=False).fit(X, y) on f32 X and f32 y (the vendor picks its solver)',
          seconds: r.seconds,
          work: gramFlops(s.n, s.d),
          unit: 'GFLOP/s',
          timer: r.timer,
          check: { coefMaxAbsErrVsTrue: maxAbsDiff(r.coef, beta) },
          extra: { coef: r.coef },
        }),
      })),
    );
    ctx.inputs.drop('w4_x', 'w4_y');
  }

  if (ctx.wantWorkload('W4')) {
    rows.push(
      ...(await childRows(ctx, {
        workload: 'W4',
        cfgFor: (b) => ({ n: b === 'js' ? s.jsN : s.n, d: s.d, seed: SEEDS.W4 }),
        work: (c) => gramFlops(c.n, s.d),
        unit: 'GFLOP/s',
        variants: ['plain', 'shared', 'kernel'],
        call: 'engine.linearRegression(X, y, { fitIntercept: false }) (kernel: engine.gram(staged X, { v: y }) + engine.choleskySolve)',
        scaled: (c) => scaledNote(c.n, s.n, s.d),
      })),
    );
    // Extra native rows, beside (never instead of) the default ones: the f32-accumulation mode (native and, on
    // AVX-512 machines, its AVX2 level), and the fit with an intercept (one pass over X on a sampled shift),
    // which the anchors above do not run (they fit without one).
    const extra = [
      [' f32', { accumulate: 'f32' }, "engine.linearRegression(X, y, { fitIntercept: false, accumulate: 'f32' }) (f32 FMAs over 128-row blocks, f64 across blocks)", () => true],
      [' intercept', { fitIntercept: true }, 'engine.linearRegression(X, y, { fitIntercept: true }) (one pass over X, centred on a sampled shift)', (_b, isa) => !isa],
      [' intercept f32', { fitIntercept: true, accumulate: 'f32' }, "engine.linearRegression(X, y, { fitIntercept: true, accumulate: 'f32' })", (_b, isa) => !isa],
    ];
    for (const [implSuffix, opts, call, levels] of extra) {
      rows.push(
        ...(await childRows(ctx, {
          workload: 'W4',
          cfgFor: () => ({ n: s.n, d: s.d, seed: SEEDS.W4, ...opts }),
          work: (c) => gramFlops(c.n, s.d),
          unit: 'GFLOP/s',
          variants: ['plain', 'shared'],
          implSuffix,
          levels: (b, isa) => b === 'native' && levels(b, isa),
          call,
          scaled: (c) => scaledNote(c.n, s.n, s.d),
        })),
      );
    }
  }

  const mlImpl = 'ml-regression-multivariate-linear';
  if (ctx.wantImpl(mlImpl) && ctx.wantWorkload('W4')) {
    try {
      const MLR = require('ml-regression-multivariate-linear');
      const Ctor = MLR.default ?? MLR;
      const n = s.mlN;
      ctx.log(`W4 ml-regression-multivariate-linear (${n} × ${s.d})`);
      const xr = toRows(prefixRows(x, n));
      const yr = Array.from(y.subarray(0, n), (v) => [v]);
      const op = () => new Ctor(xr, yr, { intercept: false, statistics: false });
      const { timing, first } = await timeAdaptive('W4 ml-regression', op, ctx);
      rows.push(
        measuredRow({
          workload: 'W4',
          impl: mlImpl,
          what: 'new MultivariateLinearRegression(x, y, { intercept: false, statistics: false }) on number[][] (converted before the timer): XᵀX, Xᵀy, SVD inverse',
          seconds: timing.seconds,
          work: gramFlops(n, s.d),
          unit: 'GFLOP/s',
          timer: timing.timer,
          scaled: scaledNote(n, s.n, s.d),
          check: { coefMaxAbsErrVsTrue: maxAbsDiff(first.weights.map((w) => w[0]), beta) },
          extra: { times: timing.times },
        }),
      );
    } catch (e) {
      rows.push(failedRow('W4', mlImpl, e));
    }
  }
  return rows;
}
