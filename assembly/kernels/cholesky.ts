// Cholesky solve G X = B: G = U^T U in the upper triangle of row-major g, then U^T Y = B and U X = Y.
// f64; right-looking with f64x2 row updates, yet each element gets the reference's subtractions in order (same bits).
// Tails: an odd last column goes scalar; the n % 4 last pivots update the trailing rows one at a time.

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

/**
 * Rows r of the trailing matrix, columns r..n-1, minus four pivot rows at once:
 * g[r,c] = (((g[r,c] - U[j,r]U[j,c]) - U[j+1,r]U[j+1,c]) - ...): the reference's order, one load and store.
 */
// @ts-ignore: decorator
@inline function rank4Row_simd128(dst: usize, u0: usize, u1: usize, u2: usize, u3: usize, len: i32): void {
  const f0 = v128.load64_splat(u0);
  const f1 = v128.load64_splat(u1);
  const f2 = v128.load64_splat(u2);
  const f3 = v128.load64_splat(u3);
  let c = 0;
  for (; c + 2 <= len; c += 2) {
    const o = <usize>c << 3;
    let v = v128.load(dst + o);
    v = f64x2.sub(v, f64x2.mul(f0, v128.load(u0 + o)));
    v = f64x2.sub(v, f64x2.mul(f1, v128.load(u1 + o)));
    v = f64x2.sub(v, f64x2.mul(f2, v128.load(u2 + o)));
    v = f64x2.sub(v, f64x2.mul(f3, v128.load(u3 + o)));
    v128.store(dst + o, v);
  }
  if (c < len) {
    const o = <usize>c << 3;
    let v = load<f64>(dst + o);
    v -= load<f64>(u0) * load<f64>(u0 + o);
    v -= load<f64>(u1) * load<f64>(u1 + o);
    v -= load<f64>(u2) * load<f64>(u2 + o);
    v -= load<f64>(u3) * load<f64>(u3 + o);
    store<f64>(dst + o, v);
  }
}

/** Pivot j: check it, take its root, divide the rest of row j by it. Returns false for a bad pivot. */
// @ts-ignore: decorator
@inline function finishPivot(pj: usize, j: i32, n: i32): bool {
  const pjj = pj + (<usize>j << 3);
  const s = load<f64>(pjj);
  if (badPivot(s)) return false;
  const ujj = Math.sqrt(s);
  store<f64>(pjj, ujj);
  // Division, not a reciprocal multiply: the reference divides.
  for (let c = j + 1; c < n; c++) {
    const p = pj + (<usize>c << 3);
    store<f64>(p, load<f64>(p) / ujj);
  }
  return true;
}

// Panels of four pivots: the panel's own rows are updated pivot by pivot, the trailing rows once per panel
// with all four (rank-4), which cuts the passes over the trailing matrix (the memory traffic) by four.
// @ts-ignore: decorator
@inline function factor_simd128(g: usize, n: i32): i32 {
  const row = <usize>n << 3;
  for (let j0 = 0; j0 < n; j0 += 4) {
    const j1 = min<i32>(n, j0 + 4);
    for (let j = j0; j < j1; j++) {
      const pj = g + <usize>j * row;
      if (!finishPivot(pj, j, n)) return j;
      for (let r = j + 1; r < j1; r++) {
        const src = pj + (<usize>r << 3);
        axpyRow_simd128(g + <usize>r * row + (<usize>r << 3), src, load<f64>(src), n - r);
      }
    }
    if (j1 - j0 == 4) {
      const p0 = g + <usize>j0 * row;
      for (let r = j1; r < n; r++) {
        const o = <usize>r << 3;
        rank4Row_simd128(g + <usize>r * row + o, p0 + o, p0 + row + o, p0 + 2 * row + o, p0 + 3 * row + o, n - r);
      }
    } else {
      for (let j = j0; j < j1; j++) {
        const pj = g + <usize>j * row;
        for (let r = j1; r < n; r++) {
          const src = pj + (<usize>r << 3);
          axpyRow_simd128(g + <usize>r * row + (<usize>r << 3), src, load<f64>(src), n - r);
        }
      }
    }
  }
  return -1;
}

// @ts-ignore: decorator
@inline function factor_scalar(g: usize, n: i32): i32 {
  const row = <usize>n << 3;
  for (let j = 0; j < n; j++) {
    const pj = g + <usize>j * row;
    if (!finishPivot(pj, j, n)) return j;
    for (let r = j + 1; r < n; r++) {
      const src = pj + (<usize>r << 3);
      axpyRow_scalar(g + <usize>r * row + (<usize>r << 3), src, load<f64>(src), n - r);
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
