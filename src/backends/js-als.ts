/**
 * The plain-JS implicit-ALS half-step (see `AlsSolveArgs` in types.ts): the reference the native and WASM
 * kernels follow, in f64 throughout. A fused per-row sparse-weighted Gram update plus a k × k solve: no
 * library offers this step, so each backend carries its own.
 */
import type { AlsSolveArgs } from './types.js';

export function alsSolveJs(a: AlsSolveArgs): number {
  const { yty, y, k, ptr, idx, val, x, alpha, reg, regMode, solver, cgSteps, scratch } = a;
  const m = scratch.subarray(0, k * k);
  const b = scratch.subarray(k * k, k * k + k);
  const yi = scratch.subarray(k * k + k, k * k + 2 * k);
  const xv = scratch.subarray(k * k + 2 * k, k * k + 3 * k);
  const p = scratch.subarray(k * k + 3 * k, k * k + 4 * k);
  const ap = scratch.subarray(k * k + 4 * k, k * k + 5 * k);
  const loadRow = (i: number): void => {
    for (let r = 0; r < k; r++) yi[r] = y[i * k + r]!;
  };
  const dot = (u: Float64Array, v: Float64Array, n: number): number => {
    let s = 0;
    for (let r = 0; r < n; r++) s += u[r]! * v[r]!;
    return s;
  };
  for (let u = a.row0; u < a.row1; u++) {
    const q0 = ptr[u]!;
    const q1 = ptr[u + 1]!;
    if (q0 === q1) {
      // b_u = 0, so x_u = 0 (a solution even when λ_u = 0 leaves A_u singular).
      x.fill(0, u * k, u * k + k);
      continue;
    }
    const lam = regMode === 1 ? reg * (q1 - q0) : reg;
    b.fill(0);
    if (solver === 0) {
      m.set(yty.subarray(0, k * k));
      for (let q = q0; q < q1; q++) {
        const c = 1 + alpha * val[q]!;
        loadRow(idx[q]!);
        for (let r = 0; r < k; r++) {
          b[r]! += c * yi[r]!;
          const s = (c - 1) * yi[r]!;
          for (let t = r; t < k; t++) m[r * k + t]! += s * yi[t]!;
        }
      }
      let scale = 0;
      for (let r = 0; r < k; r++) {
        m[r * k + r]! += lam;
        scale = Math.max(scale, Math.abs(m[r * k + r]!));
      }
      const tiny = scale * 1e-13;
      // L row-major in the lower triangle, A read from the upper one.
      for (let i = 0; i < k; i++) {
        for (let j = 0; j <= i; j++) {
          let s = m[j * k + i]!;
          for (let t = 0; t < j; t++) s -= m[i * k + t]! * m[j * k + t]!;
          if (i === j) {
            if (!(s > tiny) || !Number.isFinite(s)) return u;
            m[i * k + i] = Math.sqrt(s);
          } else {
            m[i * k + j] = s / m[j * k + j]!;
          }
        }
      }
      for (let i = 0; i < k; i++) {
        let s = b[i]!;
        for (let t = 0; t < i; t++) s -= m[i * k + t]! * b[t]!;
        b[i] = s / m[i * k + i]!;
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = b[i]!;
        for (let t = i + 1; t < k; t++) s -= m[t * k + i]! * b[t]!;
        b[i] = s / m[i * k + i]!;
      }
      for (let r = 0; r < k; r++) x[u * k + r] = b[r]!;
      continue;
    }
    const apply = (v: Float64Array): void => {
      for (let r = 0; r < k; r++) {
        let s = lam * v[r]!;
        for (let t = 0; t < k; t++) s += yty[r * k + t]! * v[t]!;
        ap[r] = s;
      }
      for (let q = q0; q < q1; q++) {
        loadRow(idx[q]!);
        const w = alpha * val[q]! * dot(yi, v, k);
        for (let r = 0; r < k; r++) ap[r]! += w * yi[r]!;
      }
    };
    for (let q = q0; q < q1; q++) {
      const c = 1 + alpha * val[q]!;
      loadRow(idx[q]!);
      for (let r = 0; r < k; r++) b[r]! += c * yi[r]!;
    }
    for (let r = 0; r < k; r++) xv[r] = x[u * k + r]!;
    apply(xv);
    for (let r = 0; r < k; r++) {
      b[r]! -= ap[r]!;
      p[r] = b[r]!;
    }
    let rs = dot(b, b, k);
    for (let it = 0; it < cgSteps && rs >= 1e-20; it++) {
      apply(p);
      const pap = dot(p, ap, k);
      if (!(pap > 0) || !Number.isFinite(pap)) return u;
      const step = rs / pap;
      for (let r = 0; r < k; r++) {
        xv[r]! += step * p[r]!;
        b[r]! -= step * ap[r]!;
      }
      const rsNew = dot(b, b, k);
      const beta = rsNew / rs;
      for (let r = 0; r < k; r++) p[r] = b[r]! + beta * p[r]!;
      rs = rsNew;
    }
    for (let r = 0; r < k; r++) x[u * k + r] = xv[r]!;
  }
  return -1;
}
