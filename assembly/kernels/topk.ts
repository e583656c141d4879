// Fused top-k: scores q[i,:] . x[j,:] tile by tile and merges them into each query's running top-k.
// Scores are f32 in the order of kernels/dot.ts; a score enters only if it beats the row's k-th entry
// (higher score, then lower global index) and is not in the row's exclusion list (topk_excl_*). Tails: as in similarity.ts (1x4 for a last query, 1x1 for base rows).
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

// A base block that stays in L2 while every query pair sweeps it (16 to 256 KiB timed alike at 128 cols).
const X_BLOCK_BYTES: usize = 64 << 10;

/** Per-call constants of the insertion path (globals: an @inline helper cannot take them by reference). */
let kk: i32 = 0;
let selfSkip: bool = false;
let qBase: i32 = 0;
let xBase: i32 = 0;
let idxBase: usize = 0;
let scoreBase: usize = 0;
/** Cosine scales (the rows' inverse norms): score = (dot * qScale[i]) * xScale[j] in f32; 0: unscaled. */
let qsBase: usize = 0;
let xsBase: usize = 0;
/** Exclusion lists (topk_excl_*): row i's are the i32s at exIdx[exPtr[i] .. exPtr[i + 1]], ascending; 0: none. */
let exPtr: usize = 0;
let exIdx: usize = 0;

/** Is global index gj in query row i's exclusion list? A binary search: only candidates that would enter ask. */
function excluded(i: i32, gj: i32): bool {
  let lo = load<i32>(exPtr + (<usize>i << 2));
  let hi = load<i32>(exPtr + ((<usize>i + 1) << 2));
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (load<i32>(exIdx + (<usize>mid << 2)) < gj) lo = mid + 1;
    else hi = mid;
  }
  return lo < load<i32>(exPtr + ((<usize>i + 1) << 2)) && load<i32>(exIdx + (<usize>lo << 2)) == gj;
}

// @ts-ignore: decorator
@inline function better(s: f32, j: i32, t: f32, i: i32): bool {
  return s > t || (s == t && j < i);
}

/** The k-th (worst) kept score of query row i: a cheap first filter before the exact comparison. */
// @ts-ignore: decorator
@inline function worstScore(i: i32): f32 {
  return load<f32>(scoreBase + ((<usize>i * <usize>kk + <usize>(kk - 1)) << 2));
}

/** Offers score s of local base row j to query row i. */
function offer(i: i32, j: i32, s: f32): void {
  const gj = xBase + j;
  if (selfSkip && gj == qBase + i) return;
  const row = <usize>i * <usize>kk;
  const ps = scoreBase + (row << 2);
  const pi = idxBase + (row << 2);
  let p = <usize>(kk - 1);
  if (!better(s, gj, load<f32>(ps + (p << 2)), load<i32>(pi + (p << 2)))) return;
  if (exPtr != 0 && excluded(i, gj)) return;
  // Shift worse entries down one slot; the state is short (k), so a linear scan beats a binary search.
  while (p > 0 && better(s, gj, load<f32>(ps + ((p - 1) << 2)), load<i32>(pi + ((p - 1) << 2)))) {
    store<f32>(ps + (p << 2), load<f32>(ps + ((p - 1) << 2)));
    store<i32>(pi + (p << 2), load<i32>(pi + ((p - 1) << 2)));
    p--;
  }
  store<f32>(ps + (p << 2), s);
  store<i32>(pi + (p << 2), gj);
}

/** Offers four consecutive scores; one vector compare rejects the common case where none can enter. */
// @ts-ignore: decorator
@inline function offer4(i: i32, j: i32, raw: v128): void {
  let r = raw;
  if (qsBase != 0) {
    r = f32x4.mul(f32x4.mul(r, f32x4.splat(load<f32>(qsBase + (<usize>i << 2)))), v128.load(xsBase + (<usize>j << 2)));
  }
  // >= keeps ties, which the exact comparison in offer() then settles by index.
  if (v128.any_true(f32x4.ge(r, f32x4.splat(worstScore(i))))) {
    offer(i, j, f32x4.extract_lane(r, 0));
    offer(i, j + 1, f32x4.extract_lane(r, 1));
    offer(i, j + 2, f32x4.extract_lane(r, 2));
    offer(i, j + 3, f32x4.extract_lane(r, 3));
  }
}

// @ts-ignore: decorator
@inline function offerScalar(i: i32, j: i32, raw: f32): void {
  let s = raw;
  if (qsBase != 0) s = (s * load<f32>(qsBase + (<usize>i << 2))) * load<f32>(xsBase + (<usize>j << 2));
  if (s >= worstScore(i)) offer(i, j, s);
}

// @ts-ignore: decorator
@inline function setup(k: i32, qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize): void {
  kk = k;
  selfSkip = excludeSelf;
  qBase = qOffset;
  xBase = xOffset;
  idxBase = outIdx;
  scoreBase = outScores;
}

function topkSimd(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize,
): void {
  if (k <= 0) return;
  setup(k, qOffset, xOffset, excludeSelf, outIdx, outScores);
  const rowBytes = <usize>cols << 2;
  const body = <usize>(cols & ~3) << 2;
  const rem = <usize>(cols & 3);
  const step = blockRows(rowBytes, X_BLOCK_BYTES);
  for (let j0 = 0; j0 < xRows; j0 += step) {
    const j1 = min<i32>(xRows, j0 + step);
    const j4 = j0 + ((j1 - j0) & ~3);
    let i = 0;
    for (; i + 2 <= qRows; i += 2) {
      const a0 = q + <usize>i * rowBytes;
      const a1 = a0 + rowBytes;
      for (let j = j0; j < j4; j += 4) {
        const r0 = dot2x4_f32_simd128(a0, a1, x + <usize>j * rowBytes, rowBytes, body, rem);
        const r1 = tileRow1;
        offer4(i, j, r0);
        offer4(i + 1, j, r1);
      }
      for (let j = j4; j < j1; j++) {
        const xj = x + <usize>j * rowBytes;
        offerScalar(i, j, dot1x1_f32_simd128(a0, xj, body, rem));
        offerScalar(i + 1, j, dot1x1_f32_simd128(a1, xj, body, rem));
      }
    }
    if (i < qRows) {
      const a0 = q + <usize>i * rowBytes;
      for (let j = j0; j < j4; j += 4) offer4(i, j, dot1x4_f32_simd128(a0, x + <usize>j * rowBytes, rowBytes, body, rem));
      for (let j = j4; j < j1; j++) offerScalar(i, j, dot1x1_f32_simd128(a0, x + <usize>j * rowBytes, body, rem));
    }
  }
}

function topkScalar(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize,
): void {
  if (k <= 0) return;
  setup(k, qOffset, xOffset, excludeSelf, outIdx, outScores);
  const rowBytes = <usize>cols << 2;
  const n = <usize>cols;
  const step = blockRows(rowBytes, X_BLOCK_BYTES);
  for (let j0 = 0; j0 < xRows; j0 += step) {
    const j1 = min<i32>(xRows, j0 + step);
    const j4 = j0 + ((j1 - j0) & ~3);
    let i = 0;
    for (; i + 2 <= qRows; i += 2) {
      const a0 = q + <usize>i * rowBytes;
      const a1 = a0 + rowBytes;
      for (let j = j0; j < j4; j += 4) {
        const s00 = dot2x4_f32_scalar(a0, a1, x + <usize>j * rowBytes, rowBytes, n);
        // Copy the tile out of the globals before offer() runs.
        const s01 = tileS01, s02 = tileS02, s03 = tileS03;
        const s10 = tileS10, s11 = tileS11, s12 = tileS12, s13 = tileS13;
        offerScalar(i, j, s00);
        offerScalar(i, j + 1, s01);
        offerScalar(i, j + 2, s02);
        offerScalar(i, j + 3, s03);
        offerScalar(i + 1, j, s10);
        offerScalar(i + 1, j + 1, s11);
        offerScalar(i + 1, j + 2, s12);
        offerScalar(i + 1, j + 3, s13);
      }
      for (let j = j4; j < j1; j++) {
        const xj = x + <usize>j * rowBytes;
        offerScalar(i, j, dot1x1_f32_scalar(a0, xj, n));
        offerScalar(i + 1, j, dot1x1_f32_scalar(a1, xj, n));
      }
    }
    if (i < qRows) {
      const a0 = q + <usize>i * rowBytes;
      for (let j = j0; j < j4; j += 4) {
        const s0 = dot1x4_f32_scalar(a0, x + <usize>j * rowBytes, rowBytes, n);
        const s1 = tileS01, s2 = tileS02, s3 = tileS03;
        offerScalar(i, j, s0);
        offerScalar(i, j + 1, s1);
        offerScalar(i, j + 2, s2);
        offerScalar(i, j + 3, s3);
      }
      for (let j = j4; j < j1; j++) offerScalar(i, j, dot1x1_f32_scalar(a0, x + <usize>j * rowBytes, n));
    }
  }
}

export function topk_f32_simd128(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize, qScale: usize, xScale: usize,
): void {
  exPtr = 0;
  qsBase = qScale;
  xsBase = xScale;
  topkSimd(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores);
}

export function topk_f32_scalar(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, outIdx: usize, outScores: usize, qScale: usize, xScale: usize,
): void {
  exPtr = 0;
  qsBase = qScale;
  xsBase = xScale;
  topkScalar(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores);
}

/** topk with per-row exclusion lists (exclPtr: qRows + 1 offsets into exclIdx, each row's list ascending). */
export function topk_excl_f32_simd128(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, exclPtr: usize, exclIdx: usize, outIdx: usize, outScores: usize,
  qScale: usize, xScale: usize,
): void {
  exPtr = exclPtr;
  qsBase = qScale;
  xsBase = xScale;
  exIdx = exclIdx;
  topkSimd(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores);
  exPtr = 0;
}

export function topk_excl_f32_scalar(
  q: usize, qRows: i32, x: usize, xRows: i32, cols: i32, k: i32,
  qOffset: i32, xOffset: i32, excludeSelf: bool, exclPtr: usize, exclIdx: usize, outIdx: usize, outScores: usize,
  qScale: usize, xScale: usize,
): void {
  exPtr = exclPtr;
  qsBase = qScale;
  xsBase = xScale;
  exIdx = exclIdx;
  topkScalar(q, qRows, x, xRows, cols, k, qOffset, xOffset, excludeSelf, outIdx, outScores);
  exPtr = 0;
}
