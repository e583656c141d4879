// Implicit ALS half-step over CSR rows [row0, row1) (Hu, Koren & Volinsky 2008): per row u, with
// c = 1 + alpha·r, A_u = YᵀY + Σ (c − 1) y_i y_iᵀ + λ_u I and b_u = Σ c y_i, x_u = A_u⁻¹ b_u written over the
// row's f32 factors. Exact Cholesky (solver 0) or cgSteps warm-started conjugate-gradient steps (solver 1)
// that never form A_u. A fused per-row step no BLAS offers. One scalar kernel for both builds: the work is
// k-long f64 loops that the simd128 build's 2-lane f64 would barely widen.
// Returns -1, or the first row whose system is not positive definite.

// @ts-ignore: decorator
@inline function dotF64(a: usize, b: usize, n: i32): f64 {
  let s0: f64 = 0, s1: f64 = 0;
  let i = 0;
  for (; i + 2 <= n; i += 2) {
    const o = <usize>i << 3;
    s0 += load<f64>(a + o) * load<f64>(b + o);
    s1 += load<f64>(a + o + 8) * load<f64>(b + o + 8);
  }
  if (i < n) s0 += load<f64>(a + (<usize>i << 3)) * load<f64>(b + (<usize>i << 3));
  return s0 + s1;
}

// @ts-ignore: decorator
@inline function axpyF64(y: usize, a: f64, x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 3;
    store<f64>(y + o, load<f64>(y + o) + a * load<f64>(x + o));
  }
}

// @ts-ignore: decorator
@inline function loadRow(dst: usize, y: usize, i: i32, k: i32): void {
  const src = y + ((<usize>i * <usize>k) << 2);
  for (let r = 0; r < k; r++) store<f64>(dst + (<usize>r << 3), <f64>load<f32>(src + (<usize>r << 2)));
}

/** out = A_u p (yi scratch). */
function applyA(yty: usize, y: usize, k: i32, idx: usize, val: usize, q0: i32, q1: i32, alpha: f64, lam: f64, p: usize, out: usize, yi: usize): void {
  for (let r = 0; r < k; r++) {
    store<f64>(out + (<usize>r << 3), dotF64(yty + ((<usize>r * <usize>k) << 3), p, k) + lam * load<f64>(p + (<usize>r << 3)));
  }
  for (let q = q0; q < q1; q++) {
    const c = 1 + alpha * <f64>load<f32>(val + (<usize>q << 2));
    loadRow(yi, y, load<i32>(idx + (<usize>q << 2)), k);
    axpyF64(out, (c - 1) * dotF64(yi, p, k), yi, k);
  }
}

export function als_solve_f64_scalar(
  yty: usize, y: usize, k: i32, ptr: usize, idx: usize, val: usize, row0: i32, row1: i32, x: usize,
  alpha: f64, reg: f64, regMode: i32, solver: i32, cgSteps: i32, scratch: usize,
): i32 {
  const kk = <usize>k;
  const m = scratch;
  const bv = m + ((kk * kk) << 3);
  const yi = bv + (kk << 3);
  const xv = yi + (kk << 3);
  const pv = xv + (kk << 3);
  const apv = pv + (kk << 3);
  for (let u = row0; u < row1; u++) {
    const q0 = load<i32>(ptr + (<usize>u << 2));
    const q1 = load<i32>(ptr + (<usize>(u + 1) << 2));
    const xu = x + ((<usize>u * kk) << 2);
    if (q0 == q1) {
      // b_u = 0, so x_u = 0 (a solution even when λ_u = 0 leaves A_u singular).
      memory.fill(xu, 0, kk << 2);
      continue;
    }
    const lam = regMode == 1 ? reg * <f64>(q1 - q0) : reg;
    memory.fill(bv, 0, kk << 3);
    if (solver == 0) {
      memory.copy(m, yty, (kk * kk) << 3);
      for (let q = q0; q < q1; q++) {
        const c = 1 + alpha * <f64>load<f32>(val + (<usize>q << 2));
        loadRow(yi, y, load<i32>(idx + (<usize>q << 2)), k);
        axpyF64(bv, c, yi, k);
        const w = c - 1;
        for (let r = 0; r < k; r++) {
          const off = (<usize>r * kk + <usize>r) << 3;
          axpyF64(m + off, w * load<f64>(yi + (<usize>r << 3)), yi + (<usize>r << 3), k - r);
        }
      }
      let scale: f64 = 0;
      for (let r = 0; r < k; r++) {
        const d = m + ((<usize>r * kk + <usize>r) << 3);
        store<f64>(d, load<f64>(d) + lam);
        scale = Math.max(scale, Math.abs(load<f64>(d)));
      }
      const tiny = scale * 1e-13;
      // L (row-major, lower triangle) over A's upper triangle.
      for (let i = 0; i < k; i++) {
        const li = m + ((<usize>i * kk) << 3);
        for (let j = 0; j <= i; j++) {
          const lj = m + ((<usize>j * kk) << 3);
          const s = load<f64>(lj + (<usize>i << 3)) - dotF64(li, lj, j);
          if (i == j) {
            if (!(s > tiny) || !isFinite<f64>(s)) return u;
            store<f64>(li + (<usize>i << 3), Math.sqrt(s));
          } else {
            store<f64>(li + (<usize>j << 3), s / load<f64>(lj + (<usize>j << 3)));
          }
        }
      }
      for (let i = 0; i < k; i++) {
        const li = m + ((<usize>i * kk) << 3);
        const s = load<f64>(bv + (<usize>i << 3)) - dotF64(li, bv, i);
        store<f64>(bv + (<usize>i << 3), s / load<f64>(li + (<usize>i << 3)));
      }
      for (let i = k - 1; i >= 0; i--) {
        let s = load<f64>(bv + (<usize>i << 3));
        for (let j = i + 1; j < k; j++) s -= load<f64>(m + ((<usize>j * kk + <usize>i) << 3)) * load<f64>(bv + (<usize>j << 3));
        store<f64>(bv + (<usize>i << 3), s / load<f64>(m + ((<usize>i * kk + <usize>i) << 3)));
      }
      for (let r = 0; r < k; r++) store<f32>(xu + (<usize>r << 2), <f32>load<f64>(bv + (<usize>r << 3)));
    } else {
      for (let q = q0; q < q1; q++) {
        const c = 1 + alpha * <f64>load<f32>(val + (<usize>q << 2));
        loadRow(yi, y, load<i32>(idx + (<usize>q << 2)), k);
        axpyF64(bv, c, yi, k);
      }
      for (let r = 0; r < k; r++) store<f64>(xv + (<usize>r << 3), <f64>load<f32>(xu + (<usize>r << 2)));
      applyA(yty, y, k, idx, val, q0, q1, alpha, lam, xv, apv, yi);
      for (let r = 0; r < k; r++) {
        const o = <usize>r << 3;
        const v = load<f64>(bv + o) - load<f64>(apv + o);
        store<f64>(bv + o, v);
        store<f64>(pv + o, v);
      }
      let rs = dotF64(bv, bv, k);
      for (let it = 0; it < cgSteps; it++) {
        if (rs < 1e-20) break;
        applyA(yty, y, k, idx, val, q0, q1, alpha, lam, pv, apv, yi);
        const pap = dotF64(pv, apv, k);
        if (!(pap > 0) || !isFinite<f64>(pap)) return u;
        const step = rs / pap;
        axpyF64(xv, step, pv, k);
        axpyF64(bv, -step, apv, k);
        const rsNew = dotF64(bv, bv, k);
        const beta = rsNew / rs;
        for (let r = 0; r < k; r++) {
          const o = <usize>r << 3;
          store<f64>(pv + o, load<f64>(bv + o) + beta * load<f64>(pv + o));
        }
        rs = rsNew;
      }
      for (let r = 0; r < k; r++) store<f32>(xu + (<usize>r << 2), <f32>load<f64>(xv + (<usize>r << 3)));
    }
  }
  return -1;
}
