// Sparse co-occurrence kernels over CSR rows: similarity with a running top-k, and scoring with a top-n.
// Products and sums in f64 in CSR order, rounded to f32 only when a score is stored (bit-identical to the js
// reference). Scatter at data-dependent columns does not vectorise: one scalar version serves both builds.
// The i32 `mark` scratch is used as one byte per column (more of it stays in cache beside the accumulator).

// @ts-ignore: decorator
@inline function better(s: f32, j: i32, t: f32, i: i32): bool {
  return s > t || (s == t && j < i);
}

/** Merges (s, j) into the k sorted slots at pi/ps (best first; ties to the lower index). */
function insertTopk(pi: usize, ps: usize, k: i32, s: f32, j: i32): void {
  if (k <= 0) return;
  let p = <usize>(k - 1);
  if (!better(s, j, load<f32>(ps + (p << 2)), load<i32>(pi + (p << 2)))) return;
  while (p > 0 && better(s, j, load<f32>(ps + ((p - 1) << 2)), load<i32>(pi + ((p - 1) << 2)))) {
    store<f32>(ps + (p << 2), load<f32>(ps + ((p - 1) << 2)));
    store<i32>(pi + (p << 2), load<i32>(pi + ((p - 1) << 2)));
    p--;
  }
  store<f32>(ps + (p << 2), s);
  store<i32>(pi + (p << 2), j);
}

/** See `sparseSimilarityTopk` in src/backends/types.ts. Pointers are byte offsets; 0 means "no array". */
export function sparse_similarity_topk_f64_scalar(
  aPtr: usize, aIdx: usize, aVal: usize, bPtr: usize, bIdx: usize, bVal: usize,
  row0: i32, row1: i32, rowNorms: usize, colNorms: usize, shrink: f64, k: i32, excludeSelf: bool,
  acc: usize, mark: usize, list: usize, outIdx: usize, outScores: usize,
): void {
  for (let r = row0; r < row1; r++) {
    let touched = 0;
    const p1 = load<i32>(aPtr + ((<usize>r + 1) << 2));
    for (let p = load<i32>(aPtr + (<usize>r << 2)); p < p1; p++) {
      const av = <f64>load<f32>(aVal + (<usize>p << 2));
      const src = <usize>load<i32>(aIdx + (<usize>p << 2));
      const q1 = load<i32>(bPtr + ((src + 1) << 2));
      for (let q = load<i32>(bPtr + (src << 2)); q < q1; q++) {
        const j = load<i32>(bIdx + (<usize>q << 2));
        const jo = <usize>j;
        if (load<u8>(mark + jo) == 0) {
          store<u8>(mark + jo, 1);
          store<i32>(list + (<usize>touched << 2), j);
          touched++;
        }
        store<f64>(acc + (jo << 3), load<f64>(acc + (jo << 3)) + av * <f64>load<f32>(bVal + (<usize>q << 2)));
      }
    }
    const o = <usize>(r - row0) * <usize>k;
    const pi = outIdx + (o << 2);
    const ps = outScores + (o << 2);
    const rn: f64 = rowNorms != 0 ? <f64>load<f32>(rowNorms + (<usize>r << 2)) : 1.0;
    for (let t = 0; t < touched; t++) {
      const j = load<i32>(list + (<usize>t << 2));
      const jo = <usize>j;
      const dot = load<f64>(acc + (jo << 3));
      store<f64>(acc + (jo << 3), 0.0);
      store<u8>(mark + jo, 0);
      if (excludeSelf && j == r) continue;
      const cn: f64 = colNorms != 0 ? <f64>load<f32>(colNorms + (jo << 2)) : 1.0;
      const den = rn * cn + shrink;
      const s: f32 = den != 0.0 ? <f32>(dot / den) : 0.0;
      insertTopk(pi, ps, k, s, j);
    }
  }
}

const SEEN: u8 = 2;

/** See `sparseScoreTopn` in src/backends/types.ts. Pointers are byte offsets; 0 means "no array". */
export function sparse_score_topn_f64_scalar(
  aPtr: usize, aIdx: usize, aVal: usize, mPtr: usize, mIdx: usize, mVal: usize,
  seenPtr: usize, seenIdx: usize, allow: usize, normalize: i32, row0: i32, row1: i32, n: i32,
  acc: usize, den: usize, mark: usize, list: usize, outIdx: usize, outScores: usize,
): void {
  const withSeen = seenPtr != 0 && seenIdx != 0;
  for (let r = row0; r < row1; r++) {
    const s0 = withSeen ? load<i32>(seenPtr + (<usize>r << 2)) : 0;
    const s1 = withSeen ? load<i32>(seenPtr + ((<usize>r + 1) << 2)) : 0;
    for (let p = s0; p < s1; p++) store<u8>(mark + <usize>load<i32>(seenIdx + (<usize>p << 2)), SEEN);
    let touched = 0;
    const p1 = load<i32>(aPtr + ((<usize>r + 1) << 2));
    for (let p = load<i32>(aPtr + (<usize>r << 2)); p < p1; p++) {
      const av = <f64>load<f32>(aVal + (<usize>p << 2));
      const src = <usize>load<i32>(aIdx + (<usize>p << 2));
      const q1 = load<i32>(mPtr + ((src + 1) << 2));
      for (let q = load<i32>(mPtr + (src << 2)); q < q1; q++) {
        const j = load<i32>(mIdx + (<usize>q << 2));
        const jo = <usize>j;
        const m = load<u8>(mark + jo);
        if (m == SEEN) continue;
        if (m == 0) {
          store<u8>(mark + jo, 1);
          store<i32>(list + (<usize>touched << 2), j);
          touched++;
        }
        const v = <f64>load<f32>(mVal + (<usize>q << 2));
        store<f64>(acc + (jo << 3), load<f64>(acc + (jo << 3)) + av * v);
        if (normalize == 1) store<f64>(den + (jo << 3), load<f64>(den + (jo << 3)) + Math.abs(av));
        else if (normalize == 2) store<f64>(den + (jo << 3), load<f64>(den + (jo << 3)) + Math.abs(v));
      }
    }
    const o = <usize>(r - row0) * <usize>n;
    const pi = outIdx + (o << 2);
    const ps = outScores + (o << 2);
    for (let t = 0; t < touched; t++) {
      const j = load<i32>(list + (<usize>t << 2));
      const jo = <usize>j;
      const sum = load<f64>(acc + (jo << 3));
      store<f64>(acc + (jo << 3), 0.0);
      store<u8>(mark + jo, 0);
      let score = sum;
      if (normalize != 0) {
        const d = load<f64>(den + (jo << 3));
        store<f64>(den + (jo << 3), 0.0);
        score = d != 0.0 ? sum / d : 0.0;
      }
      if (allow != 0 && load<i32>(allow + (jo << 2)) == 0) continue;
      insertTopk(pi, ps, n, <f32>score, j);
    }
    for (let p = s0; p < s1; p++) store<u8>(mark + <usize>load<i32>(seenIdx + (<usize>p << 2)), 0);
  }
}
