// Gram accumulation: g[a,b] += sum_i w_i (x_ia - c_a)(x_ib - c_b) for b >= a, xty[a] += sum_i v_i (x_ia - c_a),
// sums[a] += sum_i w_i (x_ia - c_a) (the fits' one-pass centring on a shift).
// f64, each element updated row by row with the reference's operations ((w_i r_a) r_b added to g): the same bits.
// Tails: columns past the last full 4-column block go one element at a time; rows with w_i = 0 are skipped.

// A 4x4 tile of g stays in eight f64x2 registers while a block of rows streams past it; the block is small
// enough that its rows stay in cache for every tile.
const ROW_BLOCK_BYTES: usize = 64 << 10;

// @ts-ignore: decorator
@inline function rowWeight(w: usize, i: i32): f64 {
  return w == 0 ? 1 : load<f64>(w + (<usize>i << 3));
}

// @ts-ignore: decorator
@inline function centre(center: usize, d: i32): f64 {
  return center == 0 ? 0 : load<f64>(center + (<usize>d << 3));
}

/** Scalar element path shared by both ISAs: columns b >= c4 of every row a <= b, over rows i0..i1. */
// @ts-ignore: decorator
@inline function gramEdge(x: usize, cols: i32, w: usize, center: usize, g: usize, c4: i32, i0: i32, i1: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let b = c4; b < cols; b++) {
    const cb = centre(center, b);
    for (let a = 0; a <= b; a++) {
      const ca = centre(center, a);
      const pg = g + ((<usize>a * <usize>cols + <usize>b) << 3);
      let acc = load<f64>(pg);
      for (let i = i0; i < i1; i++) {
        const wi = rowWeight(w, i);
        if (wi == 0) continue;
        const xi = x + <usize>i * rowBytes;
        const wa = wi * (<f64>load<f32>(xi + (<usize>a << 2)) - ca);
        acc += wa * (<f64>load<f32>(xi + (<usize>b << 2)) - cb);
      }
      store<f64>(pg, acc);
    }
  }
}

/** xty[a] += v_i (x_ia - c_a), row by row (the same per-element order in both ISAs). */
// @ts-ignore: decorator
@inline function gramXty(x: usize, cols: i32, center: usize, v: usize, xty: usize, i0: i32, i1: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let i = i0; i < i1; i++) {
    const vi = load<f64>(v + (<usize>i << 3));
    const xi = x + <usize>i * rowBytes;
    for (let a = 0; a < cols; a++) {
      const p = xty + (<usize>a << 3);
      store<f64>(p, load<f64>(p) + vi * (<f64>load<f32>(xi + (<usize>a << 2)) - centre(center, a)));
    }
  }
}

/** sums[a] += w_i (x_ia - c_a), row by row (w absent: 1), while the block is in cache. */
// @ts-ignore: decorator
@inline function gramSums(x: usize, cols: i32, w: usize, center: usize, sums: usize, i0: i32, i1: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let i = i0; i < i1; i++) {
    const wi = rowWeight(w, i);
    const xi = x + <usize>i * rowBytes;
    for (let a = 0; a < cols; a++) {
      const p = sums + (<usize>a << 3);
      store<f64>(p, load<f64>(p) + wi * (<f64>load<f32>(xi + (<usize>a << 2)) - centre(center, a)));
    }
  }
}

// @ts-ignore: decorator
@inline function loadCentre2(center: usize, d: i32): v128 {
  return center == 0 ? f64x2.splat(0) : v128.load(center + (<usize>d << 3));
}

/**
 * The 4x4 tiles on and above the diagonal over rows i0..i1. `weighted` and `centred` are constants at every
 * call site, so each of the four instantiations drops the work it does not need; 1 * r and x - 0 are exact,
 * so every instantiation gives the same bits as the general one.
 */
// @ts-ignore: decorator
@inline function gramTiles_simd128(
  x: usize, cols: i32, w: usize, center: usize, g: usize, c4: i32, i0: i32, i1: i32, weighted: bool, centred: bool,
): void {
  const rowBytes = <usize>cols << 2;
  const gRow = <usize>cols << 3;
  for (let a0 = 0; a0 < c4; a0 += 4) {
    const caLo = loadCentre2(center, a0);
    const caHi = loadCentre2(center, a0 + 2);
    for (let b0 = a0; b0 < c4; b0 += 4) {
      const cbLo = loadCentre2(center, b0);
      const cbHi = loadCentre2(center, b0 + 2);
      const p0 = g + <usize>a0 * gRow + (<usize>b0 << 3);
      const p1 = p0 + gRow;
      const p2 = p1 + gRow;
      const p3 = p2 + gRow;
      let g0l = v128.load(p0), g0h = v128.load(p0, 16);
      let g1l = v128.load(p1), g1h = v128.load(p1, 16);
      let g2l = v128.load(p2), g2h = v128.load(p2, 16);
      let g3l = v128.load(p3), g3h = v128.load(p3, 16);
      for (let i = i0; i < i1; i++) {
        const wi: f64 = weighted ? load<f64>(w + (<usize>i << 3)) : 1;
        if (weighted && wi == 0) continue;
        const xi = x + <usize>i * rowBytes;
        const xa = v128.load(xi + (<usize>a0 << 2));
        const xb = v128.load(xi + (<usize>b0 << 2));
        let waLo = f64x2.promote_low_f32x4(xa);
        let waHi = f64x2.promote_low_f32x4(i32x4.shuffle(xa, xa, 2, 3, 2, 3));
        let rbLo = f64x2.promote_low_f32x4(xb);
        let rbHi = f64x2.promote_low_f32x4(i32x4.shuffle(xb, xb, 2, 3, 2, 3));
        if (centred) {
          waLo = f64x2.sub(waLo, caLo);
          waHi = f64x2.sub(waHi, caHi);
          rbLo = f64x2.sub(rbLo, cbLo);
          rbHi = f64x2.sub(rbHi, cbHi);
        }
        if (weighted) {
          const wv = f64x2.splat(wi);
          waLo = f64x2.mul(wv, waLo);
          waHi = f64x2.mul(wv, waHi);
        }
        let s = i64x2.shuffle(waLo, waLo, 0, 0);
        g0l = f64x2.add(g0l, f64x2.mul(s, rbLo));
        g0h = f64x2.add(g0h, f64x2.mul(s, rbHi));
        s = i64x2.shuffle(waLo, waLo, 1, 1);
        g1l = f64x2.add(g1l, f64x2.mul(s, rbLo));
        g1h = f64x2.add(g1h, f64x2.mul(s, rbHi));
        s = i64x2.shuffle(waHi, waHi, 0, 0);
        g2l = f64x2.add(g2l, f64x2.mul(s, rbLo));
        g2h = f64x2.add(g2h, f64x2.mul(s, rbHi));
        s = i64x2.shuffle(waHi, waHi, 1, 1);
        g3l = f64x2.add(g3l, f64x2.mul(s, rbLo));
        g3h = f64x2.add(g3h, f64x2.mul(s, rbHi));
      }
      if (b0 > a0) {
        v128.store(p0, g0l);
        v128.store(p0, g0h, 16);
        v128.store(p1, g1l);
        v128.store(p1, g1h, 16);
        v128.store(p2, g2l);
        v128.store(p2, g2h, 16);
        v128.store(p3, g3l);
        v128.store(p3, g3h, 16);
      } else {
        // A diagonal tile: the lower triangle was computed in registers but must be left as it was.
        v128.store(p0, g0l);
        v128.store(p0, g0h, 16);
        v128.store64_lane(p1, g1l, 1, 8);
        v128.store(p1, g1h, 16);
        v128.store(p2, g2h, 16);
        v128.store64_lane(p3, g3h, 1, 24);
      }
    }
  }
}

export function gram_f32_simd128(
  x: usize, rows: i32, cols: i32, w: usize, center: usize, v: usize, g: usize, xty: usize, sums: usize = 0,
): void {
  const rowBytes = <usize>cols << 2;
  const c4 = cols & ~3;
  const block = blockRowsGram(rowBytes);
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = min<i32>(rows, i0 + block);
    if (w == 0) {
      if (center == 0) gramTiles_simd128(x, cols, w, center, g, c4, i0, i1, false, false);
      else gramTiles_simd128(x, cols, w, center, g, c4, i0, i1, false, true);
    } else {
      if (center == 0) gramTiles_simd128(x, cols, w, center, g, c4, i0, i1, true, false);
      else gramTiles_simd128(x, cols, w, center, g, c4, i0, i1, true, true);
    }
    gramEdge(x, cols, w, center, g, c4, i0, i1);
    if (v != 0 && xty != 0) gramXty(x, cols, center, v, xty, i0, i1);
    if (sums != 0) gramSums(x, cols, w, center, sums, i0, i1);
  }
}

export function gram_f32_scalar(
  x: usize, rows: i32, cols: i32, w: usize, center: usize, v: usize, g: usize, xty: usize, sums: usize = 0,
): void {
  const rowBytes = <usize>cols << 2;
  const block = blockRowsGram(rowBytes);
  for (let i0 = 0; i0 < rows; i0 += block) {
    const i1 = min<i32>(rows, i0 + block);
    // Every column is an "edge" column here: one register accumulator per element over the row block.
    gramEdge(x, cols, w, center, g, 0, i0, i1);
    if (v != 0 && xty != 0) gramXty(x, cols, center, v, xty, i0, i1);
    if (sums != 0) gramSums(x, cols, w, center, sums, i0, i1);
  }
}

// @ts-ignore: decorator
@inline function blockRowsGram(rowBytes: usize): i32 {
  return rowBytes == 0 ? 1024 : max<i32>(8, <i32>(ROW_BLOCK_BYTES / rowBytes));
}
