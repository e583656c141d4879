// Tile GEMM of the blocked Cholesky inverse (family `tiles`), f64: C = alpha·A·B, or C += alpha·A·B, on strided
// blocks (element (i, j) of X at x + 8·(i·xRs + j·xCs)); C never overlaps A or B. Rows go in blocks of 256 so
// a block of A stays in cache. Each C(i, j) gets alpha·B(p, j)·A(i, p) added with p ascending, in both builds
// (the simd128 build adds two rows at a time with the same mul-then-add), except AᵀB-shaped products (rows of A
// and columns of B contiguous), which the simd128 build forms as dot products in two lanes, then adds to C.
// Tails: an odd last row (or depth) goes scalar.

const ROW_BLOCK: i32 = 256;

// @ts-ignore: decorator
@inline function at(x: usize, i: i32, j: i32, rs: i32, cs: i32): usize {
  return x + ((<usize>(i * rs + j * cs)) << 3);
}

function zero(c: usize, cRs: i32, cCs: i32, m: i32, n: i32): void {
  for (let j = 0; j < n; j++) for (let i = 0; i < m; i++) store<f64>(at(c, i, j, cRs, cCs), 0.0);
}

export function tiles_gemm_f64_scalar(
  c: usize, cRs: i32, cCs: i32, a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32,
  m: i32, n: i32, k: i32, alpha: f64, accumulate: bool,
): void {
  if (!accumulate) zero(c, cRs, cCs, m, n);
  for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
    const i1 = min(m, i0 + ROW_BLOCK);
    for (let j = 0; j < n; j++) {
      for (let p = 0; p < k; p++) {
        const s = alpha * load<f64>(at(b, p, j, bRs, bCs));
        if (s == 0) continue;
        for (let i = i0; i < i1; i++) {
          const o = at(c, i, j, cRs, cCs);
          store<f64>(o, load<f64>(o) + load<f64>(at(a, i, p, aRs, aCs)) * s);
        }
      }
    }
  }
}

export function tiles_gemm_f64_simd128(
  c: usize, cRs: i32, cCs: i32, a: usize, aRs: i32, aCs: i32, b: usize, bRs: i32, bCs: i32,
  m: i32, n: i32, k: i32, alpha: f64, accumulate: bool,
): void {
  if (aCs == 1 && bRs == 1) {
    dots_simd128(c, cRs, cCs, a, aRs, b, bCs, m, n, k, alpha, accumulate);
    return;
  }
  if (cRs != 1 || aRs != 1) {
    tiles_gemm_f64_scalar(c, cRs, cCs, a, aRs, aCs, b, bRs, bCs, m, n, k, alpha, accumulate);
    return;
  }
  if (!accumulate) zero(c, cRs, cCs, m, n);
  for (let i0 = 0; i0 < m; i0 += ROW_BLOCK) {
    const i1 = min(m, i0 + ROW_BLOCK);
    for (let j = 0; j < n; j++) {
      const cj = at(c, 0, j, 1, cCs);
      for (let p = 0; p < k; p++) {
        const s = alpha * load<f64>(at(b, p, j, bRs, bCs));
        if (s == 0) continue;
        const sv = f64x2.splat(s);
        const ap = at(a, 0, p, 1, aCs);
        let i = i0;
        for (; i + 2 <= i1; i += 2) {
          const o = <usize>i << 3;
          v128.store(cj + o, f64x2.add(v128.load(cj + o), f64x2.mul(v128.load(ap + o), sv)));
        }
        if (i < i1) {
          const o = <usize>i << 3;
          store<f64>(cj + o, load<f64>(cj + o) + load<f64>(ap + o) * s);
        }
      }
    }
  }
}

/** C(i, j) (+)= alpha·Σ_p A(i, p)·B(p, j) with A's rows and B's columns contiguous: two-lane dot products. */
function dots_simd128(c: usize, cRs: i32, cCs: i32, a: usize, aRs: i32, b: usize, bCs: i32, m: i32, n: i32, k: i32, alpha: f64, accumulate: bool): void {
  for (let j = 0; j < n; j++) {
    const bj = b + ((<usize>(j * bCs)) << 3);
    for (let i = 0; i < m; i++) {
      const ai = a + ((<usize>(i * aRs)) << 3);
      let acc = f64x2.splat(0);
      let p = 0;
      for (; p + 2 <= k; p += 2) {
        const o = <usize>p << 3;
        acc = f64x2.add(acc, f64x2.mul(v128.load(ai + o), v128.load(bj + o)));
      }
      let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
      if (p < k) sum += load<f64>(ai + (<usize>p << 3)) * load<f64>(bj + (<usize>p << 3));
      const o = at(c, i, j, cRs, cCs);
      store<f64>(o, accumulate ? load<f64>(o) + alpha * sum : alpha * sum);
    }
  }
}
