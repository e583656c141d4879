// W5 logistic regression rows: scikit-learn newton-cholesky, the engine (in process and in fresh processes),
// the vendor anchors, ml-logistic-regression. Every row reports scikit-learn's objective.
import { createRequire } from 'node:module';
import { anchorRows } from '../../lib/anchors.mjs';
import { classification, prefixRows, toRows } from '../../lib/data.mjs';
import { childRows } from '../../lib/engine-rows.mjs';
import { missingPython, runPeer } from '../../lib/python.mjs';
import { failedRow, measuredRow, skippedRow } from '../../lib/report.mjs';
import { timeAdaptive } from '../../lib/timing.mjs';
import { SEEDS, SIZES, eachBackend, logisticObjective, maxAbsDiff, scaledNote } from './common.mjs';

const require = createRequire(import.meta.url);

export async function runW5(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'].W5;
  ctx.log(`W5 building ${s.n} × ${s.d}`);
  const { x, y } = classification(s.n, s.d, SEEDS.W5);
  const skImpl = 'sklearn newton-cholesky';
  let sk = null;
  const rows = [];
  // scikit-learn first: the engine rows report their coefficients' distance from its optimum.
  if (ctx.wantImpl(skImpl) || ctx.wantImpl('native') || ctx.wantImpl('wasm') || ctx.wantImpl('js')) {
    const missing = missingPython(ctx.threads, ['numpy', 'sklearn']);
    if (missing) rows.push(skippedRow('W5', skImpl, missing));
    else {
      ctx.log('W5 scikit-learn');
      const paths = { x: ctx.inputs.write('w5_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), y: ctx.inputs.write('w5_y', ctx.lib.encodeNpy, y, [y.length]) };
      const r = await runPeer('w5_sklearn.py', { ...paths, n: s.n, C: s.C, tol: s.tol, maxIter: s.maxIter, budget: ctx.pyBudget }, ctx.threads);
      ctx.inputs.drop('w5_x', 'w5_y');
      if (r.skipped) rows.push(skippedRow('W5', skImpl, r.skipped));
      else if (r.error) rows.push(failedRow('W5', skImpl, r.error));
      else {
        sk = r;
        rows.push(
          measuredRow({
            workload: 'W5',
            impl: skImpl,
            what: `LogisticRegression(solver='newton-cholesky', C=${s.C}, tol=${s.tol}, max_iter=${s.maxIter}).fit(X, y)`,
            seconds: r.seconds,
            work: s.n,
            unit: 'rows/s',
            timer: r.timer,
            notes: [`${r.nIter} iterations`, `objective ${r.objective.toFixed(4)}`],
            peakRssDelta: r.peakRssDelta,
            check: { nIter: r.nIter, intercept: r.intercept, coef: r.coef, objective: r.objective },
            extra: { times: r.times },
          }),
        );
      }
    }
  }

  // scikit-learn's objective is ½‖w‖² + C·Σ log-loss, intercept unpenalised: l2 = 1 / C in the same units.
  const l2 = 1 / s.C;
  rows.unshift(
    ...(await eachBackend(ctx, ['W5'], async (backend, engine) => {
      if (typeof engine.logisticRegression !== 'function') return [skippedRow('W5', backend, 'skipped: logisticRegression not available')];
      const n = backend === 'js' ? s.jsN : s.n;
      ctx.log(`W5 ${backend} (${n} × ${s.d})`);
      const xs = prefixRows(x, n);
      const ys = y.subarray(0, n);
      const op = () => engine.logisticRegression(xs, ys, { l2, fitIntercept: true, maxIter: s.maxIter, tol: s.tol });
      const { timing, first } = await timeAdaptive(`W5 ${backend}`, op, ctx);
      const iterations = first.iterations ?? first.nIter;
      const coef = first.coefficients ? Array.from(first.coefficients) : null;
      const coefDiff = n === s.n && sk ? maxAbsDiff(coef, sk.coef) : null;
      const objective = coef ? logisticObjective(xs, ys, coef, first.intercept ?? 0, s.C) : null;
      return [
        measuredRow({
          workload: 'W5',
          impl: backend,
          what: `engine.logisticRegression(X, y, { l2: ${l2}, fitIntercept: true, maxIter: ${s.maxIter}, tol: ${s.tol} }) on the plain matrix`,
          seconds: timing.seconds,
          work: n,
          unit: 'rows/s',
          timer: timing.timer,
          scaled: scaledNote(n, s.n, s.d),
          notes: [engine.info().simd, `${iterations} iterations${sk ? ` (sklearn ${sk.nIter})` : ''}`, coefDiff == null ? null : `coef max |Δ| vs sklearn ${coefDiff.toExponential(1)}`, objective == null ? null : `objective ${objective.toFixed(4)}`].filter(Boolean),
          check: { nIter: iterations, intercept: first.intercept, coefMaxAbsDiffVsSklearn: coefDiff, objective },
          extra: { times: timing.times },
        }),
      ];
    })),
  );

  rows.push(
    ...(await anchorRows(ctx, 'W5', {
      script: 'w5_anchor.py',
      estimator: 'LogisticRegression lbfgs',
      inputs: () => ({ x: ctx.inputs.write('w5_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), y: ctx.inputs.write('w5_y', ctx.lib.encodeNpy, y, [y.length]) }),
      cfg: { n: s.n, C: s.C, tol: s.tol, maxIter: s.maxIter, budget: ctx.pyBudget },
      row: (r) => ({
        what: `LogisticRegression(solver='lbfgs', C=${s.C}, tol=${s.tol}, max_iter=${s.maxIter}).fit(X, y)`,
        seconds: r.seconds,
        work: s.n,
        unit: 'rows/s',
        timer: r.timer,
        notes: [`${r.nIter} iterations`, `objective ${r.objective.toFixed(4)}`],
        check: { nIter: r.nIter, intercept: r.intercept, objective: r.objective, coefMaxAbsDiffVsSklearn: sk ? maxAbsDiff(r.coef, sk.coef) : null },
      }),
    })),
  );
  ctx.inputs.drop('w5_x', 'w5_y');

  const childW5 = await childRows(ctx, {
    workload: 'W5',
    cfgFor: (b) => ({ n: b === 'js' ? s.jsN : s.n, d: s.d, seed: SEEDS.W5, C: s.C, tol: s.tol, maxIter: s.maxIter }),
    work: (c) => c.n,
    unit: 'rows/s',
    call: `engine.logisticRegression(X, y, { l2: ${1 / s.C}, fitIntercept: true, maxIter: ${s.maxIter}, tol: ${s.tol} })`,
    scaled: (c) => scaledNote(c.n, s.n, s.d),
  });
  for (const r of childW5) {
    if (!r.check?.coef) continue;
    const n = r.scaled ? s.jsN : s.n;
    r.check.objective = logisticObjective(prefixRows(x, n), y.subarray(0, n), r.check.coef, r.check.intercept ?? 0, s.C);
    r.notes.push(`${r.check.nIter} iterations`, `objective ${r.check.objective.toFixed(4)}`);
  }
  rows.push(...childW5);

  const mlImpl = 'ml-logistic-regression';
  if (ctx.wantImpl(mlImpl)) {
    try {
      const LR = require('ml-logistic-regression');
      const Ctor = LR.default ?? LR;
      // The Matrix class it was built against (its own dependency), so Matrix.isMatrix checks agree.
      const { Matrix } = createRequire(require.resolve('ml-logistic-regression'))('ml-matrix');
      const n = s.mlN;
      ctx.log(`W5 ml-logistic-regression (${n} × ${s.d}, ${s.mlSteps} steps)`);
      const X = new Matrix(toRows(prefixRows(x, n)));
      const Y = Matrix.columnVector(Array.from(y.subarray(0, n)));
      const op = () => {
        const m = new Ctor({ numSteps: s.mlSteps, learningRate: 5e-4 });
        m.train(X, Y);
        return m;
      };
      const { timing } = await timeAdaptive('W5 ml-logistic-regression', op, ctx);
      rows.push(
        measuredRow({
          workload: 'W5',
          impl: mlImpl,
          what: `new LogisticRegression({ numSteps: ${s.mlSteps}, learningRate: 5e-4 }).train(X, Y): fixed-step batch gradient descent, one-vs-all (2 classifiers for 2 classes), no L2; not the same optimum, so no ratio`,
          seconds: timing.seconds,
          work: n,
          unit: 'rows/s',
          timer: timing.timer,
          scaled: scaledNote(n, s.n, s.d),
          notes: [`${s.mlSteps} steps, ${((timing.seconds / s.mlSteps / 2) * 1e3).toFixed(2)} ms per step per classifier`],
          comparable: false,
          extra: { times: timing.times },
        }),
      );
    } catch (e) {
      rows.push(failedRow('W5', mlImpl, e));
    }
  }
  return rows;
}
