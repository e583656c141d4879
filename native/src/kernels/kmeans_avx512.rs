//! The k-means step for k ≤ 32 at the AVX-512 level, written for Zen 4 (512-bit operations run as two
//! 256-bit halves there, so the gain has to come from the 32 registers and fewer instructions).
//!
//! Same arithmetic as the AVX2 small-k kernel (kmeans.rs, `small_k`), so labels, distances, sums, counts
//! and inertia equal it and the GEMM path bit for bit:
//! - each dot is one FMA chain from +0 in depth order (a centroid per f32 lane, x[r,p] broadcast),
//!   restarted every DEPTH_BLOCK elements with the block results added in f32;
//! - the argmin is over cn[c] − 2·dot in f64, first strict minimum, 0 when no value is below +∞.
//!
//! What differs is where the work goes. The AVX2 kernel stores a block's dots, transposes them and scans
//! 8 rows per pass; here a row's k dots stay in one or two registers and its argmin is taken from them
//! at once (a horizontal minimum, then the first lane equal to it), with no store, transpose or reload.
//! For k ≤ 16 the rows go 16 at a time (`tile16_argmin`): their 16 dot registers are transposed in
//! registers and the scan runs over the centroids for the 16 rows together, which measured about 4% faster
//! per step than 16 horizontal minima (single thread, 200k × 32, k = 16, Zen 4).
//! The sums are bucketed by label per block (`accumulate_block`): each cluster's sums row is loaded and
//! stored once per block, not once per row, with every element's additions in the same order.

use super::kmeans::{finish, prefetch_rows, KmeansArgs};
use super::reduce::{Lanes, Reduce};
use super::scratch::{self, Scratch};
use std::arch::x86_64::*;

pub const MAX_K: usize = 32;
/// `similarity`'s DEPTH_BLOCK: the chains restart every this many depth elements.
const DEPTH_BLOCK: usize = 512;
/// Rows whose labels are found before their sums are added, bucketed by label (48 and 192 measured slower).
const BLOCK: usize = 96;

/// # Safety
/// AVX-512 F/VL/BW/DQ, AVX2 and FMA; 1 ≤ k ≤ MAX_K.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn step(a: KmeansArgs<'_>) -> f64 {
    debug_assert!(a.k >= 1 && a.k <= MAX_K);
    // Rows per tile: enough independent FMA chains to cover the latency, with registers to spare.
    unsafe {
        if a.k <= 16 {
            run::<1, 8>(a)
        } else {
            run::<2, 6>(a)
        }
    }
}

#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn run<const NB: usize, const MR: usize>(a: KmeansArgs<'_>) -> f64 {
    let KmeansArgs { x, rows, cols, centroids, k, weights, labels, mut min_dist2, sums, counts, changes } = a;
    if rows == 0 {
        return finish(changes, 0, min_dist2.is_some(), 0.0);
    }
    assert!(k >= 1 && k <= NB * 16 && centroids.len() >= k * cols && x.len() >= rows * cols);
    assert!(labels.len() >= rows && sums.len() >= k * cols && counts.len() >= k);
    assert!(weights.is_none_or(|w| w.len() >= rows) && min_dist2.as_deref().is_none_or(|d| d.len() >= rows));
    let w16 = NB * 16;
    // Panel cols × W (zero beyond k): depth p's centroid values side by side.
    let mut panel_buf = Scratch::take(&scratch::KMEANS_DOTS, cols * w16);
    let panel = panel_buf.slice(cols * w16);
    for p in 0..cols {
        for c in 0..w16 {
            panel[p * w16 + c] = if c < k { centroids[c * cols + p] } else { 0.0 };
        }
    }
    // W norms (+∞ beyond k: those lanes never win), then, for the distances only, the centroids widened
    // to f64 (a step without distances is called once per reduction block: no work it does not need).
    let c64_len = if min_dist2.is_some() { k * cols } else { 0 };
    let mut f64_buf = Scratch::take(&scratch::KMEANS_F64, w16 + c64_len);
    let (cn, c64) = f64_buf.slice(w16 + c64_len).split_at_mut(w16);
    for (d, &v) in c64.iter_mut().zip(centroids) {
        *d = v as f64;
    }
    for (c, n) in cn.iter_mut().enumerate() {
        *n = if c < k { Lanes::sumsq(&centroids[c * cols..(c + 1) * cols]) } else { f64::INFINITY };
    }
    let cnv: [[__m512d; 2]; NB] = std::array::from_fn(|j| unsafe {
        [_mm512_loadu_pd(cn.as_ptr().add(16 * j)), _mm512_loadu_pd(cn.as_ptr().add(16 * j + 8))]
    });
    let mut best = [0i32; BLOCK];
    let mut inertia = 0.0f64;
    let mut changed = 0i32;
    let mut r0 = 0;
    while r0 < rows {
        let rb = (rows - r0).min(BLOCK);
        let mut i = 0;
        // SAFETY: rows r0 + i .. r0 + i + MR (or + 1) lie in x (asserted above), best has BLOCK slots.
        unsafe {
            if NB == 1 {
                while i + 16 <= rb {
                    prefetch_rows(x.as_ptr(), cols, rows, r0 + 2 * BLOCK + i, r0 + 2 * BLOCK + i + 16);
                    tile16_argmin(x.as_ptr().add((r0 + i) * cols), cols, panel.as_ptr(), &cn[..k], best.as_mut_ptr().add(i));
                    i += 16;
                }
            }
            while i + MR <= rb {
                prefetch_rows(x.as_ptr(), cols, rows, r0 + 2 * BLOCK + i, r0 + 2 * BLOCK + i + MR);
                tile_argmin::<NB, MR>(x.as_ptr().add((r0 + i) * cols), cols, panel.as_ptr(), &cnv, best.as_mut_ptr().add(i));
                i += MR;
            }
            while i < rb {
                tile_argmin::<NB, 1>(x.as_ptr().add((r0 + i) * cols), cols, panel.as_ptr(), &cnv, best.as_mut_ptr().add(i));
                i += 1;
            }
        }
        // SAFETY: the block's labels are < k, its rows lie in x, labels and the weights (asserted).
        changed += unsafe { accumulate_block(x, cols, r0, &best[..rb], k, weights, labels, sums, counts) };
        if let Some(md) = min_dist2.as_deref_mut() {
            for (i, &b) in best.iter().enumerate().take(rb) {
                // SAFETY: as above; c64 holds k rows of cols values.
                md[r0 + i] = unsafe { dist2(x.as_ptr().add((r0 + i) * cols), c64.as_ptr().add(b as usize * cols), cols) };
            }
            // The same sequential sum as Σ w·d (with w = 1, 1·d = d).
            match weights {
                None => {
                    for &d in &md[r0..r0 + rb] {
                        inertia += d;
                    }
                }
                Some(wt) => {
                    for (&d, &w) in md[r0..r0 + rb].iter().zip(&wt[r0..r0 + rb]) {
                        inertia += w as f64 * d;
                    }
                }
            }
        }
        r0 += rb;
    }
    finish(changes, changed, min_dist2.is_some(), inertia)
}

/// Labels, sums and counts for one block of rows whose labels are `best`: the rows are bucketed by label (a counting sort, row order kept inside a bucket), then each
/// cluster's sums are loaded once, take its rows' w·x in row order in registers, and are stored once. Every
/// sum element thus sees the same f64 additions in the same order as a row-by-row pass, without a load
/// and store of the sums row per row (which also waited on the previous row's store when labels repeat).
/// Returns the number of labels that changed.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn accumulate_block(x: &[f32], cols: usize, r0: usize, best: &[i32], k: usize, weights: Option<&[f32]>, labels: &mut [i32], sums: &mut [f64], counts: &mut [f64]) -> i32 {
    let mut changed = 0i32;
    let mut start = [0u16; MAX_K + 1];
    let mut order = [0u16; BLOCK];
    // SAFETY (caller): every b < k ≤ MAX_K; rows r0..r0 + rb lie in x, labels and the weights.
    unsafe {
        for (i, &b) in best.iter().enumerate() {
            *start.get_unchecked_mut(b as usize + 1) += 1;
            let l = labels.get_unchecked_mut(r0 + i);
            changed += (*l != b) as i32;
            *l = b;
        }
        for c in 0..k {
            start[c + 1] += start[c];
        }
        let mut pos = start;
        for (i, &b) in best.iter().enumerate() {
            let p = pos.get_unchecked_mut(b as usize);
            *order.get_unchecked_mut(*p as usize) = i as u16;
            *p += 1;
        }
        for c in 0..k {
            let bucket = &order[start[c] as usize..start[c + 1] as usize];
            if bucket.is_empty() {
                continue;
            }
            let sr = sums.as_mut_ptr().add(c * cols);
            let mut n = *counts.get_unchecked(c);
            match weights {
                None => {
                    cluster_sums::<false>(x, cols, r0, bucket, None, sr);
                    for _ in bucket {
                        n += 1.0;
                    }
                }
                Some(wt) => {
                    cluster_sums::<true>(x, cols, r0, bucket, Some(wt), sr);
                    for &i in bucket {
                        n += *wt.get_unchecked(r0 + i as usize) as f64;
                    }
                }
            }
            *counts.get_unchecked_mut(c) = n;
        }
    }
    changed
}

/// sums[0..cols] += w·x[row] for the bucket's rows in order, 32 columns at a time in four registers (masked
/// past cols); w·x rounded first, then added (`reduce`'s order; unweighted, w·x = x exactly and is skipped).
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn cluster_sums<const WEIGHTED: bool>(x: &[f32], cols: usize, r0: usize, bucket: &[u16], wt: Option<&[f32]>, sums: *mut f64) {
    let mut c0 = 0;
    // SAFETY (caller): sums holds cols values; the bucket's rows lie in x (and in wt when weighted).
    unsafe {
        while c0 < cols {
            let m: [__mmask8; 4] = std::array::from_fn(|j| {
                let left = cols.saturating_sub(c0 + 8 * j).min(8);
                ((1u32 << left) - 1) as __mmask8
            });
            let full = c0 + 32 <= cols;
            let mut acc: [__m512d; 4] = std::array::from_fn(|j| _mm512_maskz_loadu_pd(m[j], sums.add(c0 + 8 * j)));
            for &i in bucket {
                let row = r0 + i as usize;
                let xr = x.as_ptr().add(row * cols + c0);
                let wv = if WEIGHTED { _mm512_set1_pd(*wt.unwrap_unchecked().get_unchecked(row) as f64) } else { _mm512_setzero_pd() };
                for j in 0..4 {
                    let v = if full { _mm256_loadu_ps(xr.add(8 * j)) } else { _mm256_maskz_loadu_ps(m[j], xr.add(8 * j)) };
                    let v = _mm512_cvtps_pd(v);
                    let v = if WEIGHTED { _mm512_mul_pd(wv, v) } else { v };
                    acc[j] = _mm512_add_pd(acc[j], v);
                }
            }
            for j in 0..4 {
                _mm512_mask_storeu_pd(sums.add(c0 + 8 * j), m[j], acc[j]);
            }
            c0 += 32;
        }
    }
}

/// Labels of R rows (row stride `cols`) into best[0..R]: their dots against the W panel columns held in
/// NB registers per row, then each row's argmin straight from those registers.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn tile_argmin<const NB: usize, const R: usize>(x: *const f32, cols: usize, panel: *const f32, cn: &[[__m512d; 2]; NB], best: *mut i32) {
    // SAFETY (caller): as `tile_dots`; best has R slots.
    unsafe {
        let dots = tile_dots::<NB, R>(x, cols, panel);
        for (r, dr) in dots.iter().enumerate() {
            *best.add(r) = argmin(dr, cn);
        }
    }
}

/// The dots of R rows (row stride `cols`) against the W panel columns, NB registers per row: one FMA chain
/// per dot from +0 in depth order, restarted every DEPTH_BLOCK elements with the block results added in f32.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn tile_dots<const NB: usize, const R: usize>(x: *const f32, cols: usize, panel: *const f32) -> [[__m512; NB]; R] {
    let w16 = NB * 16;
    let mut dots = [[_mm512_setzero_ps(); NB]; R];
    let mut d0 = 0;
    // SAFETY (caller): x holds R rows of cols values, panel cols × W.
    unsafe {
        while d0 < cols {
            let dl = (cols - d0).min(DEPTH_BLOCK);
            let mut acc = [[_mm512_setzero_ps(); NB]; R];
            for p in d0..d0 + dl {
                let cp = panel.add(p * w16);
                let cv: [__m512; NB] = std::array::from_fn(|j| _mm512_loadu_ps(cp.add(16 * j)));
                for (r, accr) in acc.iter_mut().enumerate() {
                    let xv = _mm512_set1_ps(*x.add(r * cols + p));
                    for j in 0..NB {
                        accr[j] = _mm512_fmadd_ps(xv, cv[j], accr[j]);
                    }
                }
            }
            if d0 == 0 {
                dots = acc;
            } else {
                for (dr, ar) in dots.iter_mut().zip(&acc) {
                    for j in 0..NB {
                        dr[j] = _mm512_add_ps(dr[j], ar[j]);
                    }
                }
            }
            d0 += dl;
        }
    }
    dots
}

/// Labels of 16 rows (row stride `cols`, k ≤ 16) into best[0..16]: each row's dots in one register from
/// `tile_dots` (the same FMA chains as `tile_argmin`, so the same dots), then transposed so that register c holds centroid
/// c's dots for the 16 rows, and the sequential scan (the first strict minimum of cn[c] − 2·dot[c], 0 when
/// none is below +∞: a NaN never compares below) runs over c for the 16 rows at once, 8 f64 lanes per half.
/// That replaces a horizontal minimum and a lane search per row (about 20 vector operations) by about 11
/// per row for k = 16, fewer for smaller k, plus 4 for the transpose.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn tile16_argmin(x: *const f32, cols: usize, panel: *const f32, cn: &[f64], best: *mut i32) {
    // SAFETY (caller): x holds 16 rows of cols values, panel cols × 16, best 16 slots; cn.len() = k ≤ 16.
    unsafe {
        // Two tiles of 8 rows: 16 row addresses at once would not fit in the general registers.
        let lo = tile_dots::<1, 8>(x, cols, panel);
        let hi = tile_dots::<1, 8>(x.add(8 * cols), cols, panel);
        let dots: [__m512; 16] = std::array::from_fn(|r| if r < 8 { lo[r][0] } else { hi[r - 8][0] });
        let t = transpose16(&dots);
        let m2 = _mm512_set1_pd(-2.0);
        let (mut b_lo, mut b_hi) = (_mm512_set1_pd(f64::INFINITY), _mm512_set1_pd(f64::INFINITY));
        let (mut i_lo, mut i_hi) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let (mut cv, one) = (_mm256_setzero_si256(), _mm256_set1_epi32(1));
        for (&n, tc) in cn.iter().zip(&t) {
            let nv = _mm512_set1_pd(n);
            // cn − 2·dot: one rounding (2·dot is exact in f64), as in `argmin` and the scan.
            let v_lo = _mm512_fmadd_pd(m2, _mm512_cvtps_pd(_mm512_castps512_ps256(*tc)), nv);
            let v_hi = _mm512_fmadd_pd(m2, _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(*tc)), nv);
            let lt_lo = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(v_lo, b_lo);
            let lt_hi = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(v_hi, b_hi);
            // min(v, b) is v exactly when v < b (b when v is NaN): the update the mask records, off its chain.
            b_lo = _mm512_min_pd(v_lo, b_lo);
            b_hi = _mm512_min_pd(v_hi, b_hi);
            i_lo = _mm256_mask_mov_epi32(i_lo, lt_lo, cv);
            i_hi = _mm256_mask_mov_epi32(i_hi, lt_hi, cv);
            cv = _mm256_add_epi32(cv, one);
        }
        _mm256_storeu_si256(best as *mut __m256i, i_lo);
        _mm256_storeu_si256(best.add(8) as *mut __m256i, i_hi);
    }
}

/// The transpose of a 16 × 16 f32 tile held as 16 rows: out[j] lane i = rows[i] lane j (pairs of 32-bit,
/// then 64-bit interleaves inside 128-bit lanes, then two rounds of 128-bit lane shuffles).
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn transpose16(r: &[__m512; 16]) -> [__m512; 16] {
    // t[2i], t[2i + 1]: rows 2i, 2i + 1 interleaved (columns 4l, 4l + 1 and 4l + 2, 4l + 3 of lane l).
    let t: [__m512; 16] = std::array::from_fn(|j| {
        let (a, b) = (r[j & !1], r[j | 1]);
        if j & 1 == 0 { _mm512_unpacklo_ps(a, b) } else { _mm512_unpackhi_ps(a, b) }
    });
    // u[4g + m]: rows 4g .. 4g + 4, column 4l + m in 128-bit lane l.
    let u: [__m512; 16] = std::array::from_fn(|j| {
        let (g, m) = (j / 4, j % 4);
        let (a, b) = (_mm512_castps_pd(t[4 * g + (m >> 1)]), _mm512_castps_pd(t[4 * g + 2 + (m >> 1)]));
        _mm512_castpd_ps(if m & 1 == 0 { _mm512_unpacklo_pd(a, b) } else { _mm512_unpackhi_pd(a, b) })
    });
    // v[m]: lanes (u[m].0, u[m].2, u[4 + m].0, u[4 + m].2); v[4 + m]: the odd lanes; w likewise for rows 8..16.
    let v: [__m512; 8] = std::array::from_fn(|j| {
        let m = j % 4;
        if j < 4 { _mm512_shuffle_f32x4::<0x88>(u[m], u[4 + m]) } else { _mm512_shuffle_f32x4::<0xDD>(u[m], u[4 + m]) }
    });
    let w: [__m512; 8] = std::array::from_fn(|j| {
        let m = j % 4;
        if j < 4 { _mm512_shuffle_f32x4::<0x88>(u[8 + m], u[12 + m]) } else { _mm512_shuffle_f32x4::<0xDD>(u[8 + m], u[12 + m]) }
    });
    // Column 4l + m gathers lane l of u[m], u[4 + m], u[8 + m], u[12 + m].
    std::array::from_fn(|col| {
        let (l, m) = (col / 4, col % 4);
        match l {
            0 => _mm512_shuffle_f32x4::<0x88>(v[m], w[m]),
            1 => _mm512_shuffle_f32x4::<0x88>(v[4 + m], w[4 + m]),
            2 => _mm512_shuffle_f32x4::<0xDD>(v[m], w[m]),
            _ => _mm512_shuffle_f32x4::<0xDD>(v[4 + m], w[4 + m]),
        }
    })
}

/// The first c with the least cn[c] − 2·dot[c] below +∞ (0 when none is): the sequential scan's answer,
/// since a NaN or +∞ never improves on it. NaN lanes become +∞ (vminpd returns its second operand when
/// either is NaN), the minimum is taken across lanes, and the first lane equal to it wins; when every
/// lane is +∞ that is lane 0. Lanes past k have cn = +∞ and so hold +∞.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn argmin<const NB: usize>(dots: &[__m512; NB], cn: &[[__m512d; 2]; NB]) -> i32 {
    let (m2, inf) = (_mm512_set1_pd(-2.0), _mm512_set1_pd(f64::INFINITY));
    // cn − 2·dot: one rounding (2·dot is exact in f64), as in the scan.
    let d: [[__m512d; 2]; NB] = std::array::from_fn(|j| {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(dots[j]));
        let hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(dots[j]));
        [
            _mm512_min_pd(_mm512_fmadd_pd(m2, lo, cn[j][0]), inf),
            _mm512_min_pd(_mm512_fmadd_pd(m2, hi, cn[j][1]), inf),
        ]
    });
    let mut m = _mm512_min_pd(d[0][0], d[0][1]);
    for dj in d.iter().skip(1) {
        m = _mm512_min_pd(m, _mm512_min_pd(dj[0], dj[1]));
    }
    m = _mm512_min_pd(m, _mm512_shuffle_f64x2::<0b01_00_11_10>(m, m));
    m = _mm512_min_pd(m, _mm512_shuffle_f64x2::<0b10_11_00_01>(m, m));
    m = _mm512_min_pd(m, _mm512_permute_pd::<0b0101_0101>(m));
    let mut mask = 0u64;
    for (j, dj) in d.iter().enumerate() {
        let lo = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(dj[0], m) as u64;
        let hi = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(dj[1], m) as u64;
        mask |= (lo | hi << 8) << (16 * j);
    }
    mask.trailing_zeros() as i32
}

/// Σ (x − c)² with `reduce`'s lanes and order (element i in lane i mod 8 while 8 remain, the lanes summed
/// as its `hsum` does, then the rest in sequence): the distance `dist2_accumulate` gives there.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn dist2(x: *const f32, c: *const f64, n: usize) -> f64 {
    let mut a = _mm512_setzero_pd();
    let mut i = 0;
    // SAFETY (caller): x and c hold n values.
    unsafe {
        while i + 8 <= n {
            let d = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x.add(i))), _mm512_loadu_pd(c.add(i)));
            a = _mm512_fmadd_pd(d, d, a);
            i += 8;
        }
        // hsum(a0, a1, 0, 0) with a0, a1 the low and high halves: (a0 + a1) + (0 + 0), then pairs.
        let z = _mm256_setzero_pd();
        let s4 = _mm256_add_pd(_mm256_add_pd(_mm512_castpd512_pd256(a), _mm512_extractf64x4_pd::<1>(a)), _mm256_add_pd(z, z));
        let t = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
        let mut s = _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
        while i < n {
            let d = *x.add(i) as f64 - *c.add(i);
            s += d * d;
            i += 1;
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::super::kmeans::{kmeans_step_f32_avx2, KmeansArgs};
    use super::super::reduce::{Lanes, Reduce};
    use crate::kernels::testutil::rng;

    type Out = (Vec<i32>, Vec<u64>, Vec<u64>, Vec<u64>, u64, i32);

    fn run(f: unsafe fn(KmeansArgs<'_>) -> f64, x: &[f32], rows: usize, cols: usize, c: &[f32], k: usize, w: Option<&[f32]>, dist: bool) -> Out {
        let (mut l, mut d, mut s, mut n) = ((0..rows).map(|i| (i % 3) as i32 - 1).collect::<Vec<_>>(), vec![f64::NAN; rows], vec![0.5; k * cols], vec![0.25; k]);
        let mut ch = [7i32];
        let md = if dist { Some(&mut d[..]) } else { None };
        let inertia = unsafe { f(KmeansArgs { x, rows, cols, centroids: c, k, weights: w, labels: &mut l, min_dist2: md, sums: &mut s, counts: &mut n, changes: Some(&mut ch) }) };
        let b = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (l, b(&d), b(&s), b(&n), inertia.to_bits(), ch[0])
    }

    /// A row's label from the sequential scan in f64 over f32 dots accumulated in depth order (the
    /// definition the kernels implement), to check the labels against something other than a kernel.
    fn oracle_label(xr: &[f32], c: &[f32], k: usize) -> i32 {
        let cols = xr.len();
        let (mut best, mut bd) = (0, f64::INFINITY);
        for j in 0..k {
            let cr = &c[j * cols..(j + 1) * cols];
            let mut dot = 0.0f32;
            for (blk, (xs, cs)) in xr.chunks(512).zip(cr.chunks(512)).enumerate() {
                let mut acc = 0.0f32;
                for (&a, &b) in xs.iter().zip(cs) {
                    acc = a.mul_add(b, acc);
                }
                dot = if blk == 0 { acc } else { dot + acc };
            }
            // ‖c‖² as the kernels take it (`reduce`'s lanes): the scan's other input.
            let d = Lanes::sumsq(cr) - 2.0 * dot as f64;
            if d < bd {
                bd = d;
                best = j as i32;
            }
        }
        best
    }

    #[test]
    fn transpose16_transposes() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        use std::arch::x86_64::*;
        let m: Vec<f32> = (0..256).map(|i| i as f32).collect();
        // SAFETY: AVX-512 F is present (checked above); m holds 16 rows of 16.
        let out = unsafe {
            let rows: [__m512; 16] = std::array::from_fn(|i| _mm512_loadu_ps(m.as_ptr().add(16 * i)));
            let t = super::transpose16(&rows);
            let mut out = vec![0f32; 256];
            for (j, v) in t.iter().enumerate() {
                _mm512_storeu_ps(out.as_mut_ptr().add(16 * j), *v);
            }
            out
        };
        for i in 0..16 {
            for j in 0..16 {
                assert_eq!(out[j * 16 + i], m[i * 16 + j], "out[{j}][{i}]");
            }
        }
    }

    /// The 512-bit kernel gives exactly what the AVX2 kernel gives (itself held bit for bit to the GEMM
    /// path in kmeans.rs): labels, distances, sums, counts, inertia and label changes, over every k it
    /// takes, depths across the 512 block and with masked tails, row tails, ties (duplicated centroids,
    /// quantised data) and non-finite values; and the labels equal a scalar scan's.
    #[test]
    fn avx512_small_k_equals_the_avx2_kernel_bitwise() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            eprintln!("no AVX-512 on this CPU: skipped");
            return;
        }
        let mut r = rng(11);
        for &cols in &[1usize, 2, 3, 7, 8, 9, 16, 31, 32, 33, 100, 512, 513, 1100] {
            for k in 1..=super::MAX_K {
                if cols > 100 && k % 5 != 1 {
                    continue;
                }
                for case in 0..3 {
                    let rows = [1usize, 13, 203][case] + k % 4;
                    let quant = case == 1;
                    let mut x: Vec<f32> = (0..rows * cols).map(|_| if quant { (r() * 3.0).round() } else { r() }).collect();
                    let mut c: Vec<f32> = (0..k * cols).map(|_| if quant { (r() * 3.0).round() } else { r() }).collect();
                    if k > 2 {
                        let (a, b) = c.split_at_mut(cols);
                        b[cols..2 * cols].copy_from_slice(a);
                    }
                    if case == 2 && rows > 10 {
                        x[5 * cols] = f32::NAN;
                        x[7 * cols] = f32::INFINITY;
                        x[9 * cols] = -f32::INFINITY;
                        x[10 * cols] = f32::MAX;
                    }
                    let w: Vec<f32> = (0..rows).map(|i| (i % 5) as f32 * 0.5).collect();
                    for wt in [None, Some(&w[..])] {
                        for dist in [true, false] {
                            let a2 = run(kmeans_step_f32_avx2, &x, rows, cols, &c, k, wt, dist);
                            let a5 = run(super::step, &x, rows, cols, &c, k, wt, dist);
                            assert_eq!(a5, a2, "cols={cols} k={k} case={case} weights={} dist={dist}", wt.is_some());
                        }
                    }
                    if case != 2 {
                        let l = run(super::step, &x, rows, cols, &c, k, None, false).0;
                        for (i, &li) in l.iter().enumerate() {
                            assert_eq!(li, oracle_label(&x[i * cols..(i + 1) * cols], &c, k), "cols={cols} k={k} row {i}");
                        }
                    }
                }
            }
        }
    }
}
