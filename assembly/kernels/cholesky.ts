// Cholesky solve G X = B in f64: G = U^T U on the upper triangle of row-major g, then U^T Y = B, U X = Y.
// Right-looking (row updates are contiguous, f64x2) yet every element sees the reference's subtractions in the
// same order, so the factor is bit-identical to the js backend. Tails: an odd last column goes scalar.
// Returns -1 on success, else the index of the first pivot that is <= 0 or not finite (g[j,j] then holds it).

// @ts-ignore: decorator
@inline function badPivot(s: f64): bool {
  return !(s > 0) || !isFinite<f64>(s);
}

/** Row r, columns c0..n-1: g[r,c] -= f * g[j,c]. */
// @ts-ignore: decorator
@inline function axpyRow_simd128(dst: usize, src: usize, f: f64, len: i32): void {
  const fv = f64x2.splat(f);
  let c = 0;
  for (; c + 2 <= len; c += 2) {
    const o = <usize>c << 3;
    v128.store(dst + o, f64x2.sub(v128.load(dst + o), f64x2.mul(fv, v128.load(src + o))));
  }
  if (c < len) {
    const o = <usize>c << 3;
    store<f64>(dst + o, load<f64>(dst + o) - f * load<f64>(src + o));
  }
}

// @ts-ignore: decorator
@inline function axpyRow_scalar(dst: usize, src: usize, f: f64, len: i32): void {
  for (let c = 0; c < len; c++) {
    const o = <usize>c << 3;
    store<f64>(dst + o, load<f64>(dst + o) - f * load<f64>(src + o));
  }
}

// @ts-ignore: decorator
@inline function factor_simd128(g: usize, n: i32): i32 {
  const row = <usize>n << 3;
  for (let j = 0; j < n; j++) {
    const pj = g + <usize>j * row;
    const pjj = pj + (<usize>j << 3);
    const s = load<f64>(pjj);
    if (badPivot(s)) return j;
    const ujj = Math.sqrt(s);
    store<f64>(pjj, ujj);
    // Division, not a reciprocal multiply: the reference divides.
    for (let c = j + 1; c < n; c++) {
      const p = pj + (<usize>c << 3);
      store<f64>(p, load<f64>(p) / ujj);
    }
    // Trailing update of the upper triangle: g[r, r..] -= U[j,r] * U[j, r..].
    for (let r = j + 1; r < n; r++) {
      const f = load<f64>(pj + (<usize>r << 3));
      const dst = g + <usize>r * row + (<usize>r << 3);
      const src = pj + (<usize>r << 3);
      axpyRow_simd128(dst, src, f, n - r);
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline function factor_scalar(g: usize, n: i32): i32 {
  const row = <usize>n << 3;
  for (let j = 0; j < n; j++) {
    const pj = g + <usize>j * row;
    const pjj = pj + (<usize>j << 3);
    const s = load<f64>(pjj);
    if (badPivot(s)) return j;
    const ujj = Math.sqrt(s);
    store<f64>(pjj, ujj);
    for (let c = j + 1; c < n; c++) {
      const p = pj + (<usize>c << 3);
      store<f64>(p, load<f64>(p) / ujj);
    }
    for (let r = j + 1; r < n; r++) {
      const f = load<f64>(pj + (<usize>r << 3));
      const dst = g + <usize>r * row + (<usize>r << 3);
      const src = pj + (<usize>r << 3);
      axpyRow_scalar(dst, src, f, n - r);
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline function solve(g: usize, n: i32, b: usize, nrhs: i32): void {
  const row = <usize>n << 3;
  const brow = <usize>nrhs << 3;
  // U^T y = b, column-oriented so U is read by rows: b[i,:] -= U[p,i] b[p,:] for p < i, in order.
  for (let p = 0; p < n; p++) {
    const pp = g + <usize>p * row;
    const ujj = load<f64>(pp + (<usize>p << 3));
    const bp = b + <usize>p * brow;
    for (let r = 0; r < nrhs; r++) {
      const q = bp + (<usize>r << 3);
      store<f64>(q, load<f64>(q) / ujj);
    }
    for (let i = p + 1; i < n; i++) {
      const u = load<f64>(pp + (<usize>i << 3));
      const bi = b + <usize>i * brow;
      for (let r = 0; r < nrhs; r++) {
        const q = bi + (<usize>r << 3);
        store<f64>(q, load<f64>(q) - u * load<f64>(bp + (<usize>r << 3)));
      }
    }
  }
  // U x = y, row-oriented: x[i] = (y[i] - sum_{p>i} U[i,p] x[p]) / U[i,i], p ascending.
  for (let i = n - 1; i >= 0; i--) {
    const pi = g + <usize>i * row;
    const bi = b + <usize>i * brow;
    for (let r = 0; r < nrhs; r++) {
      let s = load<f64>(bi + (<usize>r << 3));
      for (let p = i + 1; p < n; p++) {
        s -= load<f64>(pi + (<usize>p << 3)) * load<f64>(b + <usize>p * brow + (<usize>r << 3));
      }
      store<f64>(bi + (<usize>r << 3), s / load<f64>(pi + (<usize>i << 3)));
    }
  }
}

export function cholesky_f64_simd128(g: usize, n: i32, b: usize, nrhs: i32): i32 {
  const bad = factor_simd128(g, n);
  if (bad >= 0) return bad;
  solve(g, n, b, nrhs);
  return -1;
}

export function cholesky_f64_scalar(g: usize, n: i32, b: usize, nrhs: i32): i32 {
  const bad = factor_scalar(g, n);
  if (bad >= 0) return bad;
  solve(g, n, b, nrhs);
  return -1;
}
