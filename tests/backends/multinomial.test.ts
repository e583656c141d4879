// multinomialPass on every backend and level against the softmax-regression formulas written out here in f64:
// the losses, the correct count, the gradient of every class and the Hessian blocks of the first K − 1 classes
// (upper triangles only) on seeded random inputs over every column tail, with and without row weights; the
// loss-only and gradient-only modes leave what they do not compute alone; logits of ±800 stay finite.
import { describe, expect, it } from 'vitest';
import { multinomialLayout, multinomialModeLength } from '../../src/backends/types.js';
import { backendCases } from '../helpers/backends.js';
import { randomF32, randomF64 } from '../helpers/rng.js';
import { TAIL_COLS, expectClose, tolerance } from '../helpers/tolerance.js';

const cases = await backendCases();

/**
 * Oracle, from the definitions: z_ic = x_i·θ_c, p_ic = e^{z_ic} / Σ_d e^{z_id} (|z| is small here, so no
 * shift is needed), ℓ_i = log Σ_d e^{z_id} − z_{i,y_i}, gradient Σ s_i (p_ic − [y_i = c]) x_i, blocks
 * Σ s_i p_ia (δ_ac − p_ic) x_i x_iᵀ for a ≤ c < K − 1 (both triangles), all onto `start`.
 */
function oracle(x: Float32Array, rows: number, q: number, k: number, y: Float64Array, s: Float64Array | null, theta: Float64Array, start: number) {
  const L = multinomialLayout(k, q);
  const out = new Float64Array(L.length).fill(start);
  let correct = 0;
  for (let i = 0; i < rows; i++) {
    const z = Array.from({ length: k }, (_, c) => {
      let v = 0;
      for (let d = 0; d < q; d++) v += x[i * q + d]! * theta[c * q + d]!;
      return v;
    });
    const den = z.reduce((a, v) => a + Math.exp(v), 0);
    const p = z.map((v) => Math.exp(v) / den);
    const si = s ? s[i]! : 1;
    const yi = y[i]!;
    const li = Math.log(den) - z[yi]!;
    out[L.lossW]! += si * li;
    out[L.loss]! += li;
    if (z.indexOf(Math.max(...z)) === yi) correct++;
    for (let c = 0; c < k; c++) for (let d = 0; d < q; d++) out[L.grad + c * q + d]! += si * (p[c]! - (c === yi ? 1 : 0)) * x[i * q + d]!;
    let t = 0;
    for (let a = 0; a < k - 1; a++) {
      for (let c = a; c < k - 1; c++, t++) {
        const w = si * p[a]! * ((a === c ? 1 : 0) - p[c]!);
        for (let r = 0; r < q; r++) for (let u = 0; u < q; u++) out[L.h + t * q * q + r * q + u]! += w * x[i * q + r]! * x[i * q + u]!;
      }
    }
  }
  out[L.correct]! += correct;
  return out;
}

const randomCases = (() => {
  const out: { q: number; rows: number; k: number; x: Float32Array; y: Float64Array; s: Float64Array | null; theta: Float64Array; want: Float64Array }[] = [];
  for (const q of TAIL_COLS.filter((c) => c > 0 && c <= 65)) {
    for (const [rows, k] of [[1, 2], [5, 3], [300, 5], [257, 4]] as const) {
      const x = randomF32(rows * q, 1300 + q + rows);
      const y = Float64Array.from(randomF64(rows, 1301 + q), (v) => Math.min(k - 1, Math.floor(((v + 1) / 2) * k)));
      const s = Float64Array.from(randomF64(rows, 1302 + q), (v) => Math.abs(v) * 2);
      const theta = randomF64(k * q, 1303 + q).map((v) => (v * 2) / Math.sqrt(q));
      for (const ss of [s, null]) out.push({ q, rows, k, x, y, s: ss, theta, want: oracle(x, rows, q, k, y, ss, theta, 0.5) });
    }
  }
  return out;
})();

describe.each(cases)('multinomialPass on $label', ({ family, backend: b }) => {
  const tol = tolerance('multinomialPass', family);

  it('random: losses, count, gradient and Hessian blocks over every tail, with and without row weights', () => {
    for (const { q, rows, k, x, y, s, theta, want } of randomCases) {
      const L = multinomialLayout(k, q);
      const out = new Float64Array(L.length).fill(0.5); // accumulates: start from a known non-zero state
      b.multinomialPass({ x, rows, cols: q, k, y, s, theta, mode: 2, out });
      const what = `q=${q} rows=${rows} k=${k} s=${s !== null}`;
      expect(out[L.correct], `correct ${what}`).toBe(want[L.correct]);
      expectClose(out.subarray(0, L.correct), want.subarray(0, L.correct), tol, `losses ${what}`);
      expectClose(out.subarray(L.grad, L.h), want.subarray(L.grad, L.h), tol, `gradient ${what}`);
      let hmax = 0;
      for (let i = L.h; i < L.length; i++) hmax = Math.max(hmax, Math.abs(want[i]! - 0.5));
      const bad: string[] = [];
      for (let t = 0; t < (k - 1) * k / 2; t++) {
        for (let r = 0; r < q; r++) {
          for (let c = 0; c < q; c++) {
            const i = L.h + t * q * q + r * q + c;
            // The lower triangle keeps its starting value.
            const ok = c < r ? out[i] === 0.5 : Math.abs(out[i]! - want[i]!) <= tol.rtol * hmax + 1e-12;
            if (!ok) bad.push(`H${t}[${r},${c}] = ${out[i]} (oracle ${want[i]})`);
          }
        }
      }
      expect(bad.slice(0, 3), `Hessian ${what}`).toEqual([]);
    }
  });

  it('loss only: the same losses and count, the gradient and the blocks untouched', () => {
    for (const { q, rows, k, x, y, s, theta, want } of randomCases.filter((c) => c.rows > 1)) {
      const L = multinomialLayout(k, q);
      const out = new Float64Array(L.length).fill(0.5);
      b.multinomialPass({ x, rows, cols: q, k, y, s, theta, mode: 0, out });
      expect(out[L.correct]).toBe(want[L.correct]);
      expectClose(out.subarray(0, L.correct), want.subarray(0, L.correct), tol, `losses q=${q}`);
      expect(out.subarray(L.grad).every((v) => v === 0.5), `q=${q}`).toBe(true);
    }
  });

  it('gradient only: the same losses, count and gradient, the blocks untouched', () => {
    for (const { q, rows, k, x, y, s, theta, want } of randomCases.filter((c) => c.rows > 1)) {
      const L = multinomialLayout(k, q);
      const out = new Float64Array(L.length).fill(0.5);
      b.multinomialPass({ x, rows, cols: q, k, y, s, theta, mode: 1, out });
      expect(out[L.correct]).toBe(want[L.correct]);
      expectClose(out.subarray(0, L.h), want.subarray(0, L.h), tol, `losses and gradient q=${q}`);
      expect(out.subarray(L.h).every((v) => v === 0.5), `q=${q}`).toBe(true);
    }
  });

  it('the cheap modes need only the prefix of the layout they write', () => {
    for (const { q, rows, k, x, y, s, theta, want } of randomCases.filter((c) => c.rows > 1 && c.q === 33)) {
      const L = multinomialLayout(k, q);
      const loss = new Float64Array(multinomialModeLength(0, k, q)).fill(0.5);
      b.multinomialPass({ x, rows, cols: q, k, y, s, theta, mode: 0, out: loss });
      expect(loss.length).toBe(L.grad);
      expectClose(loss.subarray(0, L.correct), want.subarray(0, L.correct), tol, 'losses, loss-only prefix');
      const grad = new Float64Array(multinomialModeLength(1, k, q)).fill(0.5);
      b.multinomialPass({ x, rows, cols: q, k, y, s, theta, mode: 1, out: grad });
      expect(grad.length).toBe(L.h);
      expectClose(grad.subarray(L.grad), want.subarray(L.grad, L.h), tol, 'gradient, gradient-only prefix');
    }
  });

  it('finite for logits of ±800 (the log-sum-exp is shifted), and zero rows change nothing', () => {
    const q = 2;
    const k = 3;
    const rows = 4;
    const x = Float32Array.from([800, 1, -800, 1, 0, 1, 400, 0]);
    // θ_0 = (1, 0), θ_1 = (−1, 0), θ_2 = 0: row logits (800, −800, 0), (−800, 800, 0), (0, 0, 0), (400, −400, 0).
    const theta = Float64Array.from([1, 0, -1, 0, 0, 0]);
    const y = Float64Array.from([1, 1, 2, 0]);
    const out = new Float64Array(multinomialLayout(k, q).length);
    b.multinomialPass({ x, rows, cols: q, k, y, theta, mode: 2, out });
    expect(Array.from(out).every(Number.isFinite)).toBe(true);
    // Oracle: ℓ = lse − z_y: 800 − (−800) = 1600 (e^{−1600} terms vanish in f64), 0, log 3, 0.
    expect(Math.abs(out[1]! - (1600 + Math.log(3)))).toBeLessThanOrEqual(1e-12 * 1600);
    expect(out[2]).toBe(2); // rows 1 and 3 are predicted right; row 2's tie goes to class 0
    const none = new Float64Array(multinomialLayout(k, q).length).fill(3);
    b.multinomialPass({ x: new Float32Array(0), rows: 0, cols: q, k, y: new Float64Array(0), theta, mode: 2, out: none });
    expect(none.every((v) => v === 3)).toBe(true);
  });
});
