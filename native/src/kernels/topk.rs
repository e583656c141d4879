//! Fused top-k: for each query row, the k base rows with the largest dot products (higher score first,
//! equal scores by lower global index), merged into a running state without materialising the whole
//! qRows × xRows score matrix. Scores are f32 and come from the same GEMM as `similarity` (so they are
//! bit-identical to similarityTile's); blocks of them go through a SIMD threshold scan, and only scores
//! that beat the current k-th best reach the bounded heap. Scan tails go through the scalar path.
//!
//! Written by hand because no library offers this fusion: a GEMM library returns the whole block, and
//! a generic selection routine would touch every score instead of comparing lanes against one threshold.

use super::scratch::{self, Scratch};
use super::similarity::{
    similarity_tile_f32_avx2, similarity_tile_f32_avx512, similarity_tile_f32_scalar,
};

/// Query rows per GEMM block.
const QUERY_BLOCK: usize = 512;
/// Base rows per GEMM block: QUERY_BLOCK × BASE_BLOCK f32 scores (512 KiB) stay in L2 between the GEMM
/// that writes them and the scan that reads them. Measured at d = 128 on Zen 3 against 128×512, 256×256,
/// 64×1024 and others: this shape keeps the whole pass at the GEMM's own rate (~87 GFLOP/s).
const BASE_BLOCK: usize = 256;

/// (q_scale, x_scale): the inverse norms of the query rows and of the base rows.
pub type Scales<'a> = (&'a [f32], &'a [f32]);

pub struct TopkArgs<'a> {
    pub q: &'a [f32],
    pub q_rows: usize,
    pub x: &'a [f32],
    pub x_rows: usize,
    pub cols: usize,
    pub k: usize,
    pub q_offset: i64,
    pub x_offset: i64,
    pub exclude_self: bool,
    /// Cosine without normalised copies: with `Some((q_scale, x_scale))`, score(i, j) =
    /// (q_i·x_j · q_scale[i]) · x_scale[j] (f32 products, in that order; the rows' inverse norms, q_rows and
    /// x_rows of them).
    pub scales: Option<Scales<'a>>,
    pub out_idx: &'a mut [i32],
    pub out_scores: &'a mut [f32],
}

/// Scales a qb × xb score block (row stride xb) in place: s[i][j] = (s[i][j] · qs[i]) · xs[j]. Plain
/// multiplies (no contraction), so every level gives the same bits; the compiler vectorises the row loop
/// at the calling kernel's level. One pass over a block still in L2, against the GEMM's 2·cols flops a score.
#[inline(always)]
fn scale_block(s: &mut [f32], xb: usize, qs: &[f32], xs: &[f32]) {
    for (row, &a) in s.chunks_exact_mut(xb).zip(qs) {
        for (v, &b) in row.iter_mut().zip(&xs[..xb]) {
            *v = (*v * a) * b;
        }
    }
}

// ---- The bounded heap: the k-slot state of one query, kept as a min-heap on "goodness" during a
// call (its root is the current k-th best, the threshold) and sorted best-first between calls.

/// Is (s, i) worse than (t, j)? Lower score, or equal score and higher index.
#[inline(always)]
pub(super) fn worse(s: f32, i: i32, t: f32, j: i32) -> bool {
    s < t || (s == t && i > j)
}

#[inline(always)]
pub(super) fn sift_down(sc: &mut [f32], ix: &mut [i32], mut p: usize, len: usize) {
    loop {
        let l = 2 * p + 1;
        if l >= len {
            return;
        }
        let r = l + 1;
        let c = if r < len && worse(sc[r], ix[r], sc[l], ix[l]) {
            r
        } else {
            l
        };
        if !worse(sc[c], ix[c], sc[p], ix[p]) {
            return;
        }
        sc.swap(c, p);
        ix.swap(c, p);
        p = c;
    }
}

/// Heapify rather than trust the incoming order, so a state that is not sorted cannot corrupt results.
#[inline(always)]
pub(super) fn make_heap(sc: &mut [f32], ix: &mut [i32]) {
    let len = sc.len();
    for p in (0..len / 2).rev() {
        sift_down(sc, ix, p, len);
    }
}

/// Heap sort: popping the worst to the back leaves the slots best-first, as the contract requires.
#[inline(always)]
pub(super) fn sort_best_first(sc: &mut [f32], ix: &mut [i32]) {
    for end in (1..sc.len()).rev() {
        sc.swap(0, end);
        ix.swap(0, end);
        sift_down(sc, ix, 0, end);
    }
}

/// Which candidates a query row never takes (checked only for scores that pass the threshold filter).
/// Within one call, each row asks about increasing global indices, so an implementation may keep a
/// cursor per row (see topk_excl.rs).
pub(super) trait Skip {
    fn skip(&mut self, row: usize, g: i64) -> bool;
}

/// The plain kernel's rule: with `on`, query row i skips the base row of global index q_offset + i.
pub(super) struct SelfSkip {
    pub on: bool,
    pub q_offset: i64,
}

impl Skip for SelfSkip {
    #[inline(always)]
    fn skip(&mut self, row: usize, g: i64) -> bool {
        self.on && g == self.q_offset + row as i64
    }
}

/// Candidate (s, g) of query `row`: kept if it beats the current k-th best and is not skipped.
#[inline(always)]
pub(super) fn offer<S: Skip>(sc: &mut [f32], ix: &mut [i32], s: f32, g: i64, row: usize, skip: &mut S) {
    let g32 = g as i32;
    if !(s > sc[0] || (s == sc[0] && g32 < ix[0])) || skip.skip(row, g) {
        return;
    }
    let g = g32;
    sc[0] = s;
    ix[0] = g;
    let len = sc.len();
    sift_down(sc, ix, 0, len);
}

/// The value a score must exceed (strictly) to be looked at, for candidates whose global index is at
/// least `next_g`. Such a candidate wins a tie only if the k-th best has a higher index; then one float
/// step below the k-th best score lets equal scores through (s > prev(t) ⇔ s ≥ t). Every flagged score
/// still goes through the exact rule in `offer`, so the filter only has to be conservative.
#[inline(always)]
fn threshold(sc: &[f32], ix: &[i32], next_g: i64) -> f32 {
    if (ix[0] as i64) < next_g {
        sc[0]
    } else {
        sc[0].next_down()
    }
}

/// One query's scores over a base block starting at global index `g0`.
#[inline(always)]
fn scan_scalar<S: Skip>(
    s: &[f32],
    g0: i64,
    row: usize,
    skip: &mut S,
    sc: &mut [f32],
    ix: &mut [i32],
) {
    let mut t = threshold(sc, ix, g0);
    for (j, &v) in s.iter().enumerate() {
        if v > t {
            offer(sc, ix, v, g0 + j as i64, row, skip);
            t = threshold(sc, ix, g0 + j as i64 + 1);
        }
    }
}

/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2,fma")]
unsafe fn scan_avx2<S: Skip>(
    s: &[f32],
    g0: i64,
    row: usize,
    skip: &mut S,
    sc: &mut [f32],
    ix: &mut [i32],
) {
    use std::arch::x86_64::*;
    let n = s.len();
    let p = s.as_ptr();
    let mut t = threshold(sc, ix, g0);
    let mut tv = _mm256_set1_ps(t);
    let mut j = 0;
    // 32 scores per branch: four compares OR-ed into one test keeps the common no-candidate case short.
    while j + 32 <= n {
        let (v0, v1, v2, v3) = unsafe {
            (
                _mm256_loadu_ps(p.add(j)),
                _mm256_loadu_ps(p.add(j + 8)),
                _mm256_loadu_ps(p.add(j + 16)),
                _mm256_loadu_ps(p.add(j + 24)),
            )
        };
        let (c0, c1, c2, c3) = (
            _mm256_cmp_ps::<_CMP_GT_OQ>(v0, tv),
            _mm256_cmp_ps::<_CMP_GT_OQ>(v1, tv),
            _mm256_cmp_ps::<_CMP_GT_OQ>(v2, tv),
            _mm256_cmp_ps::<_CMP_GT_OQ>(v3, tv),
        );
        let any = _mm256_or_ps(_mm256_or_ps(c0, c1), _mm256_or_ps(c2, c3));
        if _mm256_movemask_ps(any) != 0 {
            let mut mask = (_mm256_movemask_ps(c0) as u32)
                | ((_mm256_movemask_ps(c1) as u32) << 8)
                | ((_mm256_movemask_ps(c2) as u32) << 16)
                | ((_mm256_movemask_ps(c3) as u32) << 24);
            while mask != 0 {
                let l = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                offer(sc, ix, s[j + l], g0 + (j + l) as i64, row, skip);
            }
            t = threshold(sc, ix, g0 + (j + 32) as i64);
            tv = _mm256_set1_ps(t);
        }
        j += 32;
    }
    scan_scalar(&s[j..], g0 + j as i64, row, skip, sc, ix);
}

/// # Safety
/// The CPU must support AVX-512 F.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
unsafe fn scan_avx512<S: Skip>(
    s: &[f32],
    g0: i64,
    row: usize,
    skip: &mut S,
    sc: &mut [f32],
    ix: &mut [i32],
) {
    use std::arch::x86_64::*;
    let n = s.len();
    let p = s.as_ptr();
    let mut t = threshold(sc, ix, g0);
    let mut tv = _mm512_set1_ps(t);
    let mut j = 0;
    while j + 32 <= n {
        let (v0, v1) = unsafe { (_mm512_loadu_ps(p.add(j)), _mm512_loadu_ps(p.add(j + 16))) };
        let mut mask = (_mm512_cmp_ps_mask::<_CMP_GT_OQ>(v0, tv) as u32)
            | ((_mm512_cmp_ps_mask::<_CMP_GT_OQ>(v1, tv) as u32) << 16);
        if mask != 0 {
            while mask != 0 {
                let l = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                offer(sc, ix, s[j + l], g0 + (j + l) as i64, row, skip);
            }
            t = threshold(sc, ix, g0 + (j + 32) as i64);
            tv = _mm512_set1_ps(t);
        }
        j += 32;
    }
    scan_scalar(&s[j..], g0 + j as i64, row, skip, sc, ix);
}

/// The two ISA-specific steps of a top-k pass; everything else is shared.
pub(super) trait Level {
    unsafe fn gemm(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize);
    unsafe fn scan<S: Skip>(
        s: &[f32],
        g0: i64,
        row: usize,
        skip: &mut S,
        sc: &mut [f32],
        ix: &mut [i32],
    );
}

pub(super) struct Scalar;
pub(super) struct Avx2;
pub(super) struct Avx512;

impl Level for Scalar {
    #[inline(always)]
    unsafe fn gemm(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
        similarity_tile_f32_scalar(a, m, b, n, k, out, ld)
    }
    #[inline(always)]
    unsafe fn scan<S: Skip>(
        s: &[f32],
        g0: i64,
        row: usize,
        skip: &mut S,
        sc: &mut [f32],
        ix: &mut [i32],
    ) {
        scan_scalar(s, g0, row, skip, sc, ix)
    }
}

impl Level for Avx2 {
    #[inline(always)]
    unsafe fn gemm(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
        unsafe { similarity_tile_f32_avx2(a, m, b, n, k, out, ld) }
    }
    #[inline(always)]
    unsafe fn scan<S: Skip>(
        s: &[f32],
        g0: i64,
        row: usize,
        skip: &mut S,
        sc: &mut [f32],
        ix: &mut [i32],
    ) {
        unsafe { scan_avx2(s, g0, row, skip, sc, ix) }
    }
}

impl Level for Avx512 {
    #[inline(always)]
    unsafe fn gemm(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
        unsafe { similarity_tile_f32_avx512(a, m, b, n, k, out, ld) }
    }
    #[inline(always)]
    unsafe fn scan<S: Skip>(
        s: &[f32],
        g0: i64,
        row: usize,
        skip: &mut S,
        sc: &mut [f32],
        ix: &mut [i32],
    ) {
        unsafe { scan_avx512(s, g0, row, skip, sc, ix) }
    }
}

/// Base blocks outermost: one base block (BASE_BLOCK × cols) stays in cache while every query block
/// meets it, so the large base matrix is read from memory once per call.
/// `skip` is asked about each flagged candidate, rows in increasing global index order.
#[inline(always)]
pub(super) unsafe fn body<L: Level, S: Skip>(a: TopkArgs<'_>, skip: &mut S) {
    let TopkArgs {
        q,
        q_rows,
        x,
        x_rows,
        cols,
        k,
        q_offset: _,
        x_offset,
        exclude_self: _,
        scales,
        out_idx,
        out_scores,
    } = a;
    if k == 0 || q_rows == 0 {
        return;
    }
    let states = q_rows * k;
    let (out_idx, out_scores) = (&mut out_idx[..states], &mut out_scores[..states]);
    for (sc, ix) in out_scores
        .chunks_exact_mut(k)
        .zip(out_idx.chunks_exact_mut(k))
    {
        make_heap(sc, ix);
    }
    let qb_max = q_rows.min(QUERY_BLOCK);
    let xb_max = x_rows.min(BASE_BLOCK);
    let mut scores_buf = Scratch::take(&scratch::TOPK_SCORES, qb_max * xb_max);
    let scores = scores_buf.slice(qb_max * xb_max);
    for x0 in (0..x_rows).step_by(BASE_BLOCK) {
        let xb = (x_rows - x0).min(BASE_BLOCK);
        let xs = &x[x0 * cols..(x0 + xb) * cols];
        let g0 = x_offset + x0 as i64;
        for q0 in (0..q_rows).step_by(QUERY_BLOCK) {
            let qb = (q_rows - q0).min(QUERY_BLOCK);
            unsafe {
                L::gemm(
                    &q[q0 * cols..(q0 + qb) * cols],
                    qb,
                    xs,
                    xb,
                    cols,
                    scores,
                    xb,
                )
            };
            if let Some((qs, xsc)) = scales {
                scale_block(&mut scores[..qb * xb], xb, &qs[q0..q0 + qb], &xsc[x0..x0 + xb]);
            }
            for i in 0..qb {
                let row = q0 + i;
                let (sc, ix) = (
                    &mut out_scores[row * k..(row + 1) * k],
                    &mut out_idx[row * k..(row + 1) * k],
                );
                unsafe { L::scan(&scores[i * xb..(i + 1) * xb], g0, row, skip, sc, ix) };
            }
        }
    }
    for (sc, ix) in out_scores
        .chunks_exact_mut(k)
        .zip(out_idx.chunks_exact_mut(k))
    {
        sort_best_first(sc, ix);
    }
}

pub fn topk_tile_f32_scalar(a: TopkArgs<'_>) {
    let mut skip = SelfSkip {
        on: a.exclude_self,
        q_offset: a.q_offset,
    };
    // SAFETY: the scalar level runs on every CPU.
    unsafe { body::<Scalar, _>(a, &mut skip) }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn topk_tile_f32_avx2(a: TopkArgs<'_>) {
    let mut skip = SelfSkip {
        on: a.exclude_self,
        q_offset: a.q_offset,
    };
    unsafe { body::<Avx2, _>(a, &mut skip) }
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn topk_tile_f32_avx512(a: TopkArgs<'_>) {
    let mut skip = SelfSkip {
        on: a.exclude_self,
        q_offset: a.q_offset,
    };
    unsafe { body::<Avx512, _>(a, &mut skip) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(
        q: &[f32],
        nq: usize,
        x: &[f32],
        nx: usize,
        d: usize,
        k: usize,
        excl: bool,
    ) -> Vec<(i32, f32)> {
        let mut out = Vec::new();
        let mut s = vec![0.0f32; nq * nx];
        unsafe { similarity_tile_f32_avx2(q, nq, x, nx, d, &mut s, nx) };
        for i in 0..nq {
            let mut v: Vec<(i32, f32)> = (0..nx)
                .filter(|&j| !(excl && j == i))
                .map(|j| (j as i32, s[i * nx + j]))
                .collect();
            v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
            v.resize(k, (-1, f32::NEG_INFINITY));
            v.truncate(k);
            out.extend(v);
        }
        out
    }

    #[test]
    fn blocks_in_any_order_give_the_full_sort() {
        assert!(std::arch::is_x86_feature_detected!("avx2"));
        let d = 20;
        let (nq, nx) = (300, 1500);
        // Few distinct values: many ties, so the index rule is exercised.
        let q: Vec<f32> = (0..nq * d).map(|i| ((i * 7919) % 5) as f32 - 2.0).collect();
        let x: Vec<f32> = (0..nx * d)
            .map(|i| ((i * 104729) % 3) as f32 - 1.0)
            .collect();
        for &k in &[1usize, 10, 37, 2000] {
            let want = naive(&q, nq, &x, nx, d, k, true);
            // Base blocks visited back to front, so states meet higher indices first.
            let mut idx = vec![-1i32; nq * k];
            let mut sc = vec![f32::NEG_INFINITY; nq * k];
            let mut starts: Vec<usize> = (0..nx).step_by(333).collect();
            starts.reverse();
            for s0 in starts {
                let nb = (nx - s0).min(333);
                let args = TopkArgs {
                    q: &q,
                    q_rows: nq,
                    x: &x[s0 * d..(s0 + nb) * d],
                    x_rows: nb,
                    cols: d,
                    k,
                    q_offset: 0,
                    x_offset: s0 as i64,
                    exclude_self: true,
                    scales: None,
                    out_idx: &mut idx,
                    out_scores: &mut sc,
                };
                unsafe { topk_tile_f32_avx2(args) };
            }
            let got: Vec<(i32, f32)> = idx.iter().copied().zip(sc.iter().copied()).collect();
            assert_eq!(got, want, "k={k}");
            // The scalar twin agrees exactly on small integers.
            let mut idx2 = vec![-1i32; nq * k];
            let mut sc2 = vec![f32::NEG_INFINITY; nq * k];
            topk_tile_f32_scalar(TopkArgs {
                q: &q,
                q_rows: nq,
                x: &x,
                x_rows: nx,
                cols: d,
                k,
                q_offset: 0,
                x_offset: 0,
                exclude_self: true,
                scales: None,
                out_idx: &mut idx2,
                out_scores: &mut sc2,
            });
            assert_eq!(idx2, idx, "scalar k={k}");
        }
    }

    /// Runs only where AVX-512 exists (not on the Zen 3 development machines): the 512-bit scan must
    /// agree exactly with the AVX2 one.
    #[test]
    fn avx512_level_matches_avx2_where_available() {
        if crate::simd::detected() < crate::simd::Isa::Avx512 {
            return;
        }
        let d = 24;
        let (nq, nx, k) = (70, 3000, 9);
        let q: Vec<f32> = (0..nq * d).map(|i| ((i * 7919) % 7) as f32 - 3.0).collect();
        let x: Vec<f32> = (0..nx * d)
            .map(|i| ((i * 104729) % 5) as f32 - 2.0)
            .collect();
        let run = |f: unsafe fn(TopkArgs<'_>)| {
            let mut idx = vec![-1i32; nq * k];
            let mut sc = vec![f32::NEG_INFINITY; nq * k];
            let args = TopkArgs {
                q: &q,
                q_rows: nq,
                x: &x,
                x_rows: nx,
                cols: d,
                k,
                q_offset: 0,
                x_offset: 0,
                exclude_self: true,
                scales: None,
                out_idx: &mut idx,
                out_scores: &mut sc,
            };
            unsafe { f(args) };
            (idx, sc)
        };
        assert_eq!(run(topk_tile_f32_avx512), run(topk_tile_f32_avx2));
    }

    /// Scaled scores equal the unscaled kernel's scores scaled after the fact, at every level, and the
    /// selection follows the scaled order (not the raw dot order).
    #[test]
    fn scaled_scores_are_the_scaled_dots() {
        let d = 19;
        let (nq, nx, k) = (37, 700, 6);
        let q: Vec<f32> = (0..nq * d).map(|i| ((i * 7919) % 11) as f32 - 5.0).collect();
        let x: Vec<f32> = (0..nx * d).map(|i| ((i * 104729) % 13) as f32 - 6.0).collect();
        let qs: Vec<f32> = (0..nq).map(|i| 1.0 / (1.0 + i as f32)).collect();
        let xs: Vec<f32> = (0..nx).map(|j| 1.0 / (1.0 + (j % 17) as f32 * 3.0)).collect();
        let mut dots = vec![0.0f32; nq * nx];
        similarity_tile_f32_scalar(&q, nq, &x, nx, d, &mut dots, nx);
        let mut want = Vec::new();
        for i in 0..nq {
            let mut v: Vec<(i32, f32)> = (0..nx).map(|j| (j as i32, (dots[i * nx + j] * qs[i]) * xs[j])).collect();
            v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
            v.truncate(k);
            want.extend(v);
        }
        let mut levels: Vec<unsafe fn(TopkArgs<'_>)> = vec![topk_tile_f32_scalar];
        if crate::simd::detected() >= crate::simd::Isa::Avx2 {
            levels.push(topk_tile_f32_avx2);
        }
        if crate::simd::detected() >= crate::simd::Isa::Avx512 {
            levels.push(topk_tile_f32_avx512);
        }
        for f in levels {
            let mut idx = vec![-1i32; nq * k];
            let mut sc = vec![f32::NEG_INFINITY; nq * k];
            unsafe {
                f(TopkArgs {
                    q: &q,
                    q_rows: nq,
                    x: &x,
                    x_rows: nx,
                    cols: d,
                    k,
                    q_offset: 0,
                    x_offset: 0,
                    exclude_self: false,
                    scales: Some((&qs, &xs)),
                    out_idx: &mut idx,
                    out_scores: &mut sc,
                })
            };
            let got: Vec<(i32, f32)> = idx.iter().copied().zip(sc.iter().copied()).collect();
            assert_eq!(got, want);
        }
    }
}
