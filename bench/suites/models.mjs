// Suite `models`: W3 KMeans, W4 OLS (Gram + Cholesky solve, and batch scoring), W5 logistic regression, W6 multiclass
// logistic regression (issues 3 and 16), against numpy / scikit-learn, the vendor anchors and the JavaScript incumbents ml-kmeans,
// ml-regression-multivariate-linear and ml-logistic-regression.
// The rows of each workload are in models/w3.mjs … w6.mjs; this file holds the targets and the
// result checks across rows.
import { isEngineRow } from '../lib/report-md.mjs';
import { fmtCount, noteRatio } from '../lib/report.mjs';
import { SIZES, maxAbsDiff } from './models/common.mjs';
import { runW3 } from './models/w3.mjs';
import { runW4 } from './models/w4.mjs';
import { runW5 } from './models/w5.mjs';
import { runW6, w6Target } from './models/w6.mjs';

export const name = 'models';

export function targets(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'];
  return {
    W3: {
      impl: 'sklearn KMeans lloyd',
      text: `KMeans ${fmtCount(s.W3.n)} × ${s.W3.d}, k = ${s.W3.k}, ${s.W3.iters} Lloyd iterations from given centroids; time per iteration; native ≥ 1.5× scikit-learn. GFLOP per iteration = 2·n·k·d (the distance products).`,
    },
    W4: {
      impl: 'numpy f64',
      text: `OLS ${fmtCount(s.W4.n)} × ${s.W4.d} f32 input, Gram + Cholesky solve; native ≥ 1.5× numpy float64 and ≥ 1.0× numpy float32. GFLOP = n·d·(d+1) (one triangle of XᵀX) + 2·n·d (Xᵀy).`,
    },
    'W4-score': { impl: 'numpy X @ w', text: `batch scoring of all ${fmtCount(s.W4.n)} rows, X·w (identity link), rows per second.` },
    W5: {
      impl: 'sklearn newton-cholesky',
      text: `logistic regression ${fmtCount(s.W5.n)} × ${s.W5.d}, L2 with C = ${s.W5.C}, tol ${s.W5.tol}; native fit ≥ 2× scikit-learn newton-cholesky, same iterations ±1. Rate = rows / fit time.`,
    },
    W6: w6Target(ctx),
  };
}

export async function run(ctx) {
  const rows = [];
  if (ctx.wantWorkload('W3')) rows.push(...(await runW3(ctx)));
  if (ctx.wantWorkload('W4') || ctx.wantWorkload('W4-SCORE')) rows.push(...(await runW4(ctx)));
  if (ctx.wantWorkload('W5')) rows.push(...(await runW5(ctx)));
  if (ctx.wantWorkload('W6')) rows.push(...(await runW6(ctx)));
  flagDisagreements(rows);
  noteRatio(rows, 'W4', 'native', 'numpy f32', '≥ 1.0×');
  return rows;
}

/**
 * Engine rows at the full size whose result is not the peer's get a visible note (a fast row that computed
 * something else must not pass unnoticed): W3 final inertia vs scikit-learn (same initial centroids, same
 * iterations), W4 coefficients vs numpy float64 and scores vs numpy, W5 coefficients and iterations (±1) vs
 * scikit-learn.
 */
function flagDisagreements(rows) {
  const find = (w, impl) => rows.find((r) => r.workload === w && r.impl === impl && r.check);
  const sk3 = find('W3', 'sklearn KMeans lloyd');
  const np4 = find('W4', 'numpy f64');
  const np4s = find('W4-score', 'numpy X @ w');
  const sk5 = find('W5', 'sklearn newton-cholesky');
  for (const r of rows) {
    if (!r.check || r.scaled || !isEngineRow(r)) continue;
    if (r.workload === 'W3' && sk3 && (r.check.path ?? 'kmeans') === 'kmeans') {
      const rel = Math.abs(r.check.inertia - sk3.check.inertia) / sk3.check.inertia;
      r.check.inertiaRelDiffVsSklearn = rel;
      if (r.check.nIter !== sk3.check.nIter) r.notes.push(`RESULT DIFFERS: stopped after ${r.check.nIter} iterations, scikit-learn ran ${sk3.check.nIter} (inertia ${rel.toExponential(1)} relative apart)`);
      else if (rel > 1e-4) r.notes.push(`RESULT DIFFERS: inertia ${rel.toExponential(1)} relative from scikit-learn's`);
    }
    if (r.workload === 'W4-score' && np4s) {
      const rel = Math.abs(r.check.sumScores - np4s.check.sumScores) / Math.abs(np4s.check.sumScores);
      r.check.sumRelDiffVsNumpy = rel;
      if (rel > 1e-4) r.notes.push(`RESULT DIFFERS: sum of scores ${rel.toExponential(1)} relative from numpy's`);
    }
    if (r.workload === 'W5' && sk5 && Number.isFinite(r.check.nIter) && Math.abs(r.check.nIter - sk5.check.nIter) > 1) {
      r.notes.push(`ITERATIONS DIFFER: ${r.check.nIter} vs scikit-learn's ${sk5.check.nIter} (target: ±1)`);
    }
    if (r.workload === 'W4' && np4 && r.check.coef) {
      const d = maxAbsDiff(r.check.coef, np4.extra.coef);
      r.check.coefMaxAbsDiffVsNumpyF64 = d;
      if (d == null || d > 1e-6) r.notes.push(`RESULT DIFFERS: coefficients ${d?.toExponential(1)} from numpy f64`);
    }
    if (r.workload === 'W5' && sk5 && r.check.coefMaxAbsDiffVsSklearn != null && r.check.coefMaxAbsDiffVsSklearn > 1e-3) {
      r.notes.push('RESULT DIFFERS from scikit-learn (coefficients, see check)');
    }
  }
}
