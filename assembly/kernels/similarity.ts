// Dense block of dot products: out[i * ldOut + j] = a[i,:] . b[j,:].
// f32 accumulation in the order of kernels/dot.ts, so an element is the same whatever tile computed it.
// Tails: a leftover a row runs 1x4 tiles, leftover b rows (bRows % 4) run 1x1; cols % 4 is handled in dot.ts.
import {
  blockRows,
  dot1x1_f32_scalar,
  dot1x1_f32_simd128,
  dot1x4_f32_scalar,
  dot1x4_f32_simd128,
  dot2x4_f32_scalar,
  dot2x4_f32_simd128,
  tileRow1,
  tileS01,
  tileS02,
  tileS03,
  tileS10,
  tileS11,
  tileS12,
  tileS13,
} from './dot';

// b is swept in blocks that stay in L2 while every row pair of a passes over them (at 4096x256: 128 KiB timed
// best of 32..512 KiB; no blocking was ~40% slower).
const B_BLOCK_BYTES: usize = 128 << 10;

export function similarity_f32_simd128(a: usize, aRows: i32, b: usize, bRows: i32, cols: i32, out: usize, ldOut: i32): void {
  const rowBytes = <usize>cols << 2;
  const body = <usize>(cols & ~3) << 2;
  const rem = <usize>(cols & 3);
  const ld = <usize>ldOut << 2;
  const step = blockRows(rowBytes, B_BLOCK_BYTES);
  for (let j0 = 0; j0 < bRows; j0 += step) {
    const j1 = min<i32>(bRows, j0 + step);
    const j4 = j0 + ((j1 - j0) & ~3);
    let i = 0;
    for (; i + 2 <= aRows; i += 2) {
      const a0 = a + <usize>i * rowBytes;
      const a1 = a0 + rowBytes;
      const o0 = out + <usize>i * ld;
      const o1 = o0 + ld;
      for (let j = j0; j < j4; j += 4) {
        const r0 = dot2x4_f32_simd128(a0, a1, b + <usize>j * rowBytes, rowBytes, body, rem);
        v128.store(o0 + (<usize>j << 2), r0);
        v128.store(o1 + (<usize>j << 2), tileRow1);
      }
      for (let j = j4; j < j1; j++) {
        const bj = b + <usize>j * rowBytes;
        store<f32>(o0 + (<usize>j << 2), dot1x1_f32_simd128(a0, bj, body, rem));
        store<f32>(o1 + (<usize>j << 2), dot1x1_f32_simd128(a1, bj, body, rem));
      }
    }
    if (i < aRows) {
      const a0 = a + <usize>i * rowBytes;
      const o0 = out + <usize>i * ld;
      for (let j = j0; j < j4; j += 4) {
        v128.store(o0 + (<usize>j << 2), dot1x4_f32_simd128(a0, b + <usize>j * rowBytes, rowBytes, body, rem));
      }
      for (let j = j4; j < j1; j++) {
        store<f32>(o0 + (<usize>j << 2), dot1x1_f32_simd128(a0, b + <usize>j * rowBytes, body, rem));
      }
    }
  }
}

export function similarity_f32_scalar(a: usize, aRows: i32, b: usize, bRows: i32, cols: i32, out: usize, ldOut: i32): void {
  const rowBytes = <usize>cols << 2;
  const n = <usize>cols;
  const ld = <usize>ldOut << 2;
  const step = blockRows(rowBytes, B_BLOCK_BYTES);
  for (let j0 = 0; j0 < bRows; j0 += step) {
    const j1 = min<i32>(bRows, j0 + step);
    const j4 = j0 + ((j1 - j0) & ~3);
    let i = 0;
    for (; i + 2 <= aRows; i += 2) {
      const a0 = a + <usize>i * rowBytes;
      const a1 = a0 + rowBytes;
      const o0 = out + <usize>i * ld;
      const o1 = o0 + ld;
      for (let j = j0; j < j4; j += 4) {
        const p0 = o0 + (<usize>j << 2);
        const p1 = o1 + (<usize>j << 2);
        store<f32>(p0, dot2x4_f32_scalar(a0, a1, b + <usize>j * rowBytes, rowBytes, n));
        store<f32>(p0, tileS01, 4);
        store<f32>(p0, tileS02, 8);
        store<f32>(p0, tileS03, 12);
        store<f32>(p1, tileS10);
        store<f32>(p1, tileS11, 4);
        store<f32>(p1, tileS12, 8);
        store<f32>(p1, tileS13, 12);
      }
      for (let j = j4; j < j1; j++) {
        const bj = b + <usize>j * rowBytes;
        store<f32>(o0 + (<usize>j << 2), dot1x1_f32_scalar(a0, bj, n));
        store<f32>(o1 + (<usize>j << 2), dot1x1_f32_scalar(a1, bj, n));
      }
    }
    if (i < aRows) {
      const a0 = a + <usize>i * rowBytes;
      const o0 = out + <usize>i * ld;
      for (let j = j0; j < j4; j += 4) {
        const p0 = o0 + (<usize>j << 2);
        store<f32>(p0, dot1x4_f32_scalar(a0, b + <usize>j * rowBytes, rowBytes, n));
        store<f32>(p0, tileS01, 4);
        store<f32>(p0, tileS02, 8);
        store<f32>(p0, tileS03, 12);
      }
      for (let j = j4; j < j1; j++) {
        store<f32>(o0 + (<usize>j << 2), dot1x1_f32_scalar(a0, b + <usize>j * rowBytes, n));
      }
    }
  }
}
