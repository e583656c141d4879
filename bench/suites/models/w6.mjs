// W6 multiclass (softmax) logistic regression rows: scikit-learn's multinomial lbfgs and newton-cholesky,
// AOCL-DA when installed, and the engine backends. Every row reports the same final objective.
import { gaussianMatrix, makeRng, prefixRows } from '../../lib/data.mjs';
import { missingPython, runPeer } from '../../lib/python.mjs';
import { failedRow, fmtCount, measuredRow, noteRatio, skippedRow } from '../../lib/report.mjs';
import { timeAdaptive } from '../../lib/timing.mjs';
import { eachBackend, scaledNote } from './common.mjs';


// Multiclass (softmax) logistic regression, issue 16's benchmark: Quiver's fused-pass Newton fit against
// scikit-learn's multinomial LogisticRegression (lbfgs and newton-cholesky) and AOCL-DA's when installed, the
// same objective Σ log-loss + ‖W‖²/(2C); each row reports its final objective, computed the same way.
const W6_SIZES = { full: { n: 200_000, d: 32, k: 5, jsN: 20_000, C: 1, tol: 1e-4, maxIter: 100 }, quick: { n: 20_000, d: 32, k: 5, jsN: 20_000, C: 1, tol: 1e-4, maxIter: 100 } };
const W6_SEED = 601;
const W6_PEERS = [
  ['sklearn multinomial lbfgs', 'lbfgs'],
  ['sklearn multinomial newton-cholesky', 'newton-cholesky'],
  ['AOCL-DA multinomial lbfgs', 'aocl'],
];

export function w6Target(ctx) {
  const s = W6_SIZES[ctx.quick ? 'quick' : 'full'];
  return {
    impl: 'sklearn multinomial lbfgs',
    text: `multiclass logistic regression ${fmtCount(s.n)} × ${s.d}, K = ${s.k}, L2 with C = ${s.C}, tol ${s.tol}; native fit ≥ 2× the faster of scikit-learn's multinomial lbfgs (the ratio column) and newton-cholesky (a note when it is the faster), no slower than AOCL-DA when installed, same final objective. Rate = rows / fit time.`,
  };
}

/** Gaussian features; y drawn from a softmax of K random linear predictors (Gumbel-max), seeded. */
function w6Data(n, d, k, seed) {
  const x = gaussianMatrix(n, d, seed);
  const rng = makeRng(seed ^ 0x5bd1e995);
  const w = Float64Array.from({ length: k * d }, () => rng.normal() / Math.sqrt(d));
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = -Infinity;
    for (let c = 0; c < k; c++) {
      let z = -Math.log(-Math.log(Math.max(rng.uniform(), 1e-300)));
      for (let j = 0; j < d; j++) z += w[c * d + j] * x.data[i * d + j];
      if (z > bv) {
        bv = z;
        best = c;
      }
    }
    y[i] = best;
  }
  return { x, y };
}

/** Σ log-loss + ‖W‖²/(2C) in f64 from a fitted model (the peers' script computes the same). */
function w6Objective(x, y, coef, intercepts, C) {
  const k = intercepts.length;
  const d = x.cols;
  let loss = 0;
  const z = new Float64Array(k);
  for (let i = 0; i < x.rows; i++) {
    let mx = -Infinity;
    for (let c = 0; c < k; c++) {
      let v = intercepts[c];
      for (let j = 0; j < d; j++) v += coef[c * d + j] * x.data[i * d + j];
      z[c] = v;
      mx = Math.max(mx, v);
    }
    let s = 0;
    for (let c = 0; c < k; c++) s += Math.exp(z[c] - mx);
    loss += mx + Math.log(s) - z[y[i]];
  }
  let pen = 0;
  for (const v of coef) pen += v * v;
  return loss + pen / (2 * C);
}

export async function runW6(ctx) {
  const s = W6_SIZES[ctx.quick ? 'quick' : 'full'];
  ctx.log(`W6 building ${s.n} × ${s.d}, K = ${s.k}`);
  const { x, y } = w6Data(s.n, s.d, s.k, W6_SEED);
  const rows = [];
  const peers = [];
  const missing = missingPython(ctx.threads, ['numpy', 'sklearn']);
  const wanted = W6_PEERS.filter(([impl]) => ctx.wantImpl(impl));
  if (missing) rows.push(...wanted.map(([impl]) => skippedRow('W6', impl, missing)));
  else if (wanted.length > 0) {
    const paths = { x: ctx.inputs.write('w6_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]), y: ctx.inputs.write('w6_y', ctx.lib.encodeNpy, Float64Array.from(y), [y.length]) };
    for (const [impl, solver] of wanted) {
      ctx.log(`W6 ${impl}`);
      const r = await runPeer('w6_sklearn.py', { ...paths, impl: solver, n: s.n, C: s.C, tol: s.tol, maxIter: s.maxIter, budget: ctx.pyBudget }, ctx.threads);
      if (r.skipped) rows.push(skippedRow('W6', impl, r.skipped));
      else if (r.error) rows.push(failedRow('W6', impl, r.error));
      else {
        peers.push({ impl, r });
        rows.push(
          measuredRow({
            workload: 'W6',
            impl,
            what: solver === 'aocl' ? `aoclda.sklearn LogisticRegression(C=${s.C}, tol=${s.tol}, max_iter=${s.maxIter}).fit(X, y) (L-BFGS, ssc constraint)` : `LogisticRegression(solver='${solver}', C=${s.C}, tol=${s.tol}, max_iter=${s.maxIter}).fit(X, y), multinomial`,
            seconds: r.seconds,
            work: s.n,
            unit: 'rows/s',
            timer: r.timer,
            notes: [`${r.nIter} iterations`, `objective ${r.objective.toFixed(4)}`],
            check: { nIter: r.nIter, objective: r.objective, logLoss: r.logLoss },
            extra: { times: r.times },
          }),
        );
      }
    }
    ctx.inputs.drop('w6_x', 'w6_y');
  }
  // scikit-learn's objective is ½‖W‖² + C·Σ log-loss, intercepts unpenalised: l2 = 1 / C in the same units.
  const l2 = 1 / s.C;
  const best = peers.filter((p) => p.impl.startsWith('sklearn')).sort((a, b) => a.r.seconds - b.r.seconds)[0];
  rows.unshift(
    ...(await eachBackend(ctx, ['W6'], async (backend, engine) => {
      const lib = ctx.lib;
      if (typeof lib.fitMultinomialLogistic !== 'function') return [skippedRow('W6', backend, 'skipped: fitMultinomialLogistic not available')];
      const n = backend === 'js' ? s.jsN : s.n;
      ctx.log(`W6 ${backend} (${n} × ${s.d})`);
      const xs = prefixRows(x, n);
      const ys = y.subarray(0, n);
      const op = () => lib.fitMultinomialLogistic(engine, xs, ys, { l2, maxIter: s.maxIter, tol: s.tol });
      const { timing, first } = await timeAdaptive(`W6 ${backend}`, op, ctx);
      const objective = w6Objective(xs, ys, first.coefficients, first.intercepts, s.C);
      const notes = [engine.info().simd, `${first.nIter} Newton steps`, `objective ${objective.toFixed(4)}`];
      if (n === s.n && best) {
        const rel = (objective - best.r.objective) / Math.abs(best.r.objective);
        notes.push(`objective ${rel >= 0 ? '+' : ''}${rel.toExponential(1)} relative to ${best.impl}'s`);
        if (rel > 1e-6) notes.push('RESULT DIFFERS: objective above scikit-learn\'s by more than 1e-6 relative');
      }
      return [
        measuredRow({
          workload: 'W6',
          impl: backend,
          what: `fitMultinomialLogistic(engine, X, y, { l2: ${l2}, maxIter: ${s.maxIter}, tol: ${s.tol} }): one fused softmax pass (gradient + Hessian blocks) per Newton step`,
          seconds: timing.seconds,
          work: n,
          unit: 'rows/s',
          timer: timing.timer,
          scaled: scaledNote(n, s.n, s.d),
          notes,
          check: { nIter: first.nIter, objective, logLoss: first.logLoss },
          extra: { times: timing.times },
        }),
      ];
    })),
  );
  if (best && best.impl !== 'sklearn multinomial lbfgs') noteRatio(rows, 'W6', 'native', best.impl, '≥ 2×');
  noteRatio(rows, 'W6', 'native', 'AOCL-DA multinomial lbfgs', '≥ 1.0×');
  return rows;
}
