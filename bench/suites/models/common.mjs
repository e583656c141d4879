// What the three models workloads share: sizes, seeds, the loop over backends, and small helpers.
import { BACKENDS, withEngine } from '../../lib/context.mjs';
import { failedRow, fmtCount, skippedRow } from '../../lib/report.mjs';

export const SIZES = {
  full: {
    W3: { n: 200_000, d: 32, k: 16, iters: 20, blobs: 8, jsN: 50_000, mlN: 50_000 },
    W4: { n: 1_000_000, d: 64, jsN: 200_000, mlN: 50_000 },
    W5: { n: 200_000, d: 32, jsN: 50_000, mlN: 20_000, mlSteps: 100, C: 1, tol: 1e-4, maxIter: 100 },
  },
  // --quick keeps the js rows at the (small) quick size where it can, so their result checks run too.
  quick: {
    W3: { n: 20_000, d: 32, k: 16, iters: 20, blobs: 8, jsN: 20_000, mlN: 5_000 },
    W4: { n: 100_000, d: 64, jsN: 20_000, mlN: 10_000 },
    W5: { n: 20_000, d: 32, jsN: 20_000, mlN: 2_000, mlSteps: 20, C: 1, tol: 1e-4, maxIter: 100 },
  },
};
export const SEEDS = { W3: 301, W4: 401, W5: 501 };

/** Runs `body(engine)` for each wanted backend (of `backends`); a backend that cannot load becomes skip rows. */
export async function eachBackend(ctx, workloads, body, backends = BACKENDS) {
  const rows = [];
  for (const backend of backends) {
    if (!ctx.wantImpl(backend)) continue;
    try {
      const r = await withEngine(ctx.lib, backend, ctx.threads, (engine) => body(backend, engine));
      if (r.skipped) rows.push(...workloads.map((w) => skippedRow(w, backend, r.skipped)));
      else rows.push(...r.value);
    } catch (e) {
      rows.push(...workloads.map((w) => failedRow(w, backend, e)));
    }
  }
  return rows;
}

export function scaledNote(n, full, cols) {
  return n !== full ? `${fmtCount(n)} × ${cols}` : null;
}

export function gramFlops(n, d) {
  return n * d * (d + 1) + 2 * n * d;
}

export function maxAbsDiff(a, b) {
  if (!a || !b || a.length !== b.length) return null;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** scikit-learn's objective ½‖w‖² + C·Σ log(1 + e^(−t·(x·w + b))), t = ±1, in f64 (as _common.py computes it). */
export function logisticObjective(x, y, coef, b, C) {
  let loss = 0;
  for (let i = 0; i < x.rows; i++) {
    let z = b;
    for (let j = 0; j < x.cols; j++) z += x.data[i * x.cols + j] * coef[j];
    const m = -(y[i] > 0.5 ? 1 : -1) * z;
    loss += m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m));
  }
  let ww = 0;
  for (const w of coef) ww += w * w;
  return 0.5 * ww + C * loss;
}
