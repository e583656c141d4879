//! One Lloyd step over a block of rows: label = argmin_c ‖c‖² − 2x·c (ties to the lower centroid; ‖x‖² is
//! the same for every c), weighted sums and counts, and unless `min_dist2` is None the exact Σ(x − c)² for
//! the chosen centroid and the inertia (NaN without distances).
//! The x·cᵀ block is the f32 GEMM of `similarity`; norms, distances, sums, counts and inertia are f64.
//! Tails: see `reduce` (lanes, then a sequential remainder).

use super::reduce::{Lanes, Reduce, Seq};
use super::scratch::{self, Scratch};
use super::similarity::{
    similarity_tile_f32_avx2, similarity_tile_f32_avx512, similarity_tile_f32_scalar,
};

/// Rows per GEMM block: ROW_BLOCK × k dot products, reused by the per-row pass right after.
const ROW_BLOCK: usize = 256;

pub struct KmeansArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub centroids: &'a [f32],
    pub k: usize,
    pub weights: Option<&'a [f32]>,
    pub labels: &'a mut [i32],
    pub min_dist2: Option<&'a mut [f64]>,
    pub sums: &'a mut [f64],
    pub counts: &'a mut [f64],
    /// When given, changes[0] += the number of rows whose new label differs from what `labels` held.
    pub changes: Option<&'a mut [i32]>,
}

type Gemm = unsafe fn(&[f32], usize, &[f32], usize, usize, &mut [f32], usize);

#[inline(always)]
unsafe fn body<R: Reduce>(a: KmeansArgs<'_>, gemm: Gemm) -> f64 {
    let KmeansArgs {
        x,
        rows,
        cols,
        centroids,
        k,
        weights,
        labels,
        mut min_dist2,
        sums,
        counts,
        changes,
    } = a;
    if k == 0 || rows == 0 {
        return finish(changes, 0, min_dist2.is_some(), 0.0);
    }
    let mut inertia = 0.0f64;
    let mut changed = 0i32;
    let mut cn_buf = Scratch::take(&scratch::KMEANS_F64, k);
    let cn = cn_buf.slice(k);
    for (c, n) in cn.iter_mut().enumerate() {
        *n = R::sumsq(&centroids[c * cols..(c + 1) * cols]);
    }
    let mut dots_buf = Scratch::take(&scratch::KMEANS_DOTS, rows.min(ROW_BLOCK) * k);
    let dots = dots_buf.slice(rows.min(ROW_BLOCK) * k);
    for r0 in (0..rows).step_by(ROW_BLOCK) {
        let rb = (rows - r0).min(ROW_BLOCK);
        unsafe {
            gemm(
                &x[r0 * cols..(r0 + rb) * cols],
                rb,
                centroids,
                k,
                cols,
                dots,
                k,
            )
        };
        for i in 0..rb {
            let row = r0 + i;
            let xr = &x[row * cols..(row + 1) * cols];
            let d = &dots[i * k..(i + 1) * k];
            let best = R::argmin_dist(d, cn);
            let w = weights.map_or(1.0, |w| w[row] as f64);
            let sr = &mut sums[best * cols..(best + 1) * cols];
            match min_dist2.as_deref_mut() {
                Some(md) => {
                    let exact = R::dist2_accumulate(xr, &centroids[best * cols..(best + 1) * cols], w, sr);
                    md[row] = exact;
                    inertia += w * exact;
                }
                None => R::accumulate(xr, w, sr),
            }
            changed += (labels[row] != best as i32) as i32;
            labels[row] = best as i32;
            counts[best] += w;
        }
    }
    finish(changes, changed, min_dist2.is_some(), inertia)
}

/// A block's return value (its inertia, or NaN without distances), once its label changes are added.
#[inline(always)]
pub(super) fn finish(changes: Option<&mut [i32]>, changed: i32, distances: bool, inertia: f64) -> f64 {
    if let Some(ch) = changes {
        ch[0] += changed;
    }
    if distances {
        inertia
    } else {
        f64::NAN
    }
}

pub fn kmeans_step_f32_scalar(a: KmeansArgs<'_>) -> f64 {
    // SAFETY: the scalar GEMM runs on every CPU.
    unsafe { body::<Seq>(a, scalar_gemm) }
}

unsafe fn scalar_gemm(
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    out: &mut [f32],
    ld: usize,
) {
    similarity_tile_f32_scalar(a, m, b, n, k, out, ld)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn kmeans_step_f32_avx2(a: KmeansArgs<'_>) -> f64 {
    if a.k >= 1 && a.k <= small_k::MAX_K {
        return unsafe { small_k::step(a) };
    }
    unsafe { body::<Lanes>(a, similarity_tile_f32_avx2) }
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn kmeans_step_f32_avx512(a: KmeansArgs<'_>) -> f64 {
    // Small k: the 512-bit kernel (kmeans_avx512.rs), whose dots, labels and sums equal the AVX2 kernel's
    // and the GEMM path's bit for bit, so the level does not change results.
    if a.k >= 1 && a.k <= super::kmeans_avx512::MAX_K {
        return unsafe { super::kmeans_avx512::step(a) };
    }
    // Zen 4: the whole AVX2 step measured faster here (simd::avx512_runs_avx2), and it is a tested level.
    if crate::simd::avx512_runs_avx2(crate::simd::Family::KmeansLargeK) {
        return unsafe { kmeans_step_f32_avx2(a) };
    }
    unsafe { body::<Lanes>(a, similarity_tile_f32_avx512) }
}

/// Asks for rows from..to of x (clamped to `rows`) in L2, one request per 64 bytes. The caller asks for the
/// rows two blocks ahead, a tile at a time, so that they arrive while the current block is labelled. A step
/// streams all of x (25.6 MB at 200k × 32), more than the caches hold: on one thread, the same block 61 times
/// took 3.3–3.4 ms of CPU per 200k-row step against 3.9 ms for the stream, and these hints bring the stream to
/// 3.7 ms (interleaved A/B, W3's data, Zen 4, AVX-512 kernel; into L1, or one block ahead into L1, measured
/// slower). Used by both small-k kernels (SSE only, so callable from either level). A hint only: no result changes.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn prefetch_rows(x: *const f32, cols: usize, rows: usize, from: usize, to: usize) {
    let to = to.min(rows);
    if from >= to {
        return;
    }
    // SAFETY (caller): x holds `rows` rows; prefetching never faults, and the range lies inside x anyway.
    unsafe {
        let start = x.add(from * cols) as *const i8;
        let bytes = (to - from) * cols * 4;
        let mut o = 0;
        while o < bytes {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(start.add(o));
            o += 64;
        }
    }
}

/// Assignment for k ≤ 32 without the GEMM: the centroids are transposed once per call into a
/// cols × W panel (W = k rounded up to 8, zero columns after k), and MR rows at a time run, for each
/// depth p, a broadcast of x[r,p] FMA'd against the NB ymm registers holding c[·,p]. Each dot is thus
/// one hardware-FMA chain from +0 in depth order, restarted every DEPTH_BLOCK elements with the block
/// results added in f32: exactly the arithmetic of `similarity`'s GEMM (faer's microkernels and their
/// replica), so labels, distances, sums and inertia equal `body`'s bit for bit. The per-row f64
/// argmin keeps the same ‖c‖² − 2·dot and its first-strict-minimum rule (run 8 rows at a time,
/// a row per lane, over a transposed copy of the block's dots).
#[cfg(target_arch = "x86_64")]
pub(crate) mod small_k {
    use super::scratch::{self, Scratch};
    use super::KmeansArgs;
    use crate::kernels::reduce::{Lanes, Reduce};
    use std::arch::x86_64::*;

    pub const MAX_K: usize = 32;
    /// `similarity`'s DEPTH_BLOCK: faer's chains restart every this many depth elements.
    const DEPTH_BLOCK: usize = 512;

    /// # Safety
    /// AVX2 and FMA; 1 ≤ k ≤ MAX_K.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn step(a: KmeansArgs<'_>) -> f64 {
        unsafe {
            match a.k.div_ceil(8) {
                1 => run::<8, 1>(a),
                2 => run::<6, 2>(a),
                3 => run::<4, 3>(a),
                _ => run::<3, 4>(a),
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn run<const MR: usize, const NB: usize>(a: KmeansArgs<'_>) -> f64 {
        let KmeansArgs { x, rows, cols, centroids, k, weights, labels, mut min_dist2, sums, counts, changes } = a;
        if rows == 0 {
            return super::finish(changes, 0, min_dist2.is_some(), 0.0);
        }
        let w8 = NB * 8;
        // Panel cols × W (zero beyond k), then W norms (+∞ beyond k: those lanes never win).
        let mut panel_buf = Scratch::take(&scratch::KMEANS_DOTS, cols * w8);
        let panel = panel_buf.slice(cols * w8);
        for p in 0..cols {
            for c in 0..w8 {
                panel[p * w8 + c] = if c < k { centroids[c * cols + p] } else { 0.0 };
            }
        }
        // W norms, then the k centroid rows widened to f64 (exact) for the distance pass.
        let mut f64_buf = Scratch::take(&scratch::KMEANS_F64, w8 + k * cols);
        let (cn, c64) = f64_buf.slice(w8 + k * cols).split_at_mut(w8);
        for (d, &v) in c64.iter_mut().zip(centroids) {
            *d = v as f64;
        }
        for (c, n) in cn.iter_mut().enumerate() {
            *n = if c < k { Lanes::sumsq(&centroids[c * cols..(c + 1) * cols]) } else { f64::INFINITY };
        }
        // Rows are taken BLOCK at a time: their dots, then every label, then the dependent exact
        // distances and sums. With the labels known first, the loads of the chosen centroid rows and
        // sums rows no longer wait on each row's argmin in turn.
        const BLOCK: usize = 96;
        let mut dots = [0.0f32; BLOCK * 32];
        let mut best = [0i32; BLOCK];
        let mut dt = [0.0f32; BLOCK * 32];
        let mut inertia = 0.0f64;
        let mut changed = 0i32;
        let mut r0 = 0;
        while r0 < rows {
            let rb = (rows - r0).min(BLOCK);
            let mut i = 0;
            while i < rb {
                let mr = if rb - i >= MR { MR } else { 1 };
                unsafe {
                    super::prefetch_rows(x.as_ptr(), cols, rows, r0 + 2 * BLOCK + i, r0 + 2 * BLOCK + i + mr);
                    let (xp, dp) = (x.as_ptr().add((r0 + i) * cols), dots.as_mut_ptr().add(i * w8));
                    if mr == MR {
                        tile::<MR, NB>(xp, cols, panel.as_ptr(), dp);
                    } else {
                        tile::<1, NB>(xp, cols, panel.as_ptr(), dp);
                    }
                }
                i += mr;
            }
            // Rows of a partial last group of 8 hold stale dots: computed, never used.
            let rb8 = rb.div_ceil(8) * 8;
            unsafe {
                for ib in (0..rb8).step_by(8) {
                    for cb in (0..w8).step_by(8) {
                        transpose8(dots.as_ptr().add(ib * w8 + cb), w8, dt.as_mut_ptr().add(cb * BLOCK + ib), BLOCK);
                    }
                }
                for ib in (0..rb8).step_by(8) {
                    argmin8(dt.as_ptr().add(ib), BLOCK, cn, k, best.as_mut_ptr().add(ib));
                }
            }
            match min_dist2.as_deref_mut() {
                None => {
                    // The intermediate steps' case (labels, sums and counts only) as a tight loop: the bounds
                    // are checked once per block rather than per row and slice (2 ns of about 24 per row here).
                    assert!((r0 + rb) * cols <= x.len() && k * cols <= sums.len() && r0 + rb <= labels.len() && k <= counts.len());
                    assert!(weights.is_none_or(|wt| r0 + rb <= wt.len()));
                    for (i, &b) in best.iter().enumerate().take(rb) {
                        let (row, bu) = (r0 + i, b as usize);
                        // SAFETY: rows r0..r0 + rb and clusters b < k lie inside x, sums, labels, counts and
                        // the weights (asserted above; argmin8 gives b < k).
                        unsafe {
                            let w = weights.map_or(1.0, |wt| *wt.get_unchecked(row) as f64);
                            Lanes::accumulate(x.get_unchecked(row * cols..(row + 1) * cols), w, sums.get_unchecked_mut(bu * cols..(bu + 1) * cols));
                            let l = labels.get_unchecked_mut(row);
                            changed += (*l != b) as i32;
                            *l = b;
                            *counts.get_unchecked_mut(bu) += w;
                        }
                    }
                }
                Some(md) => {
                    for (i, &b) in best.iter().enumerate().take(rb) {
                        let (row, b) = (r0 + i, b as usize);
                        let (xr, sr) = (&x[row * cols..(row + 1) * cols], &mut sums[b * cols..(b + 1) * cols]);
                        let w = weights.map_or(1.0, |wt| wt[row] as f64);
                        md[row] = match weights {
                            // w = 1: w·x = x exactly, so the sums take x as is.
                            None => unsafe { dist2_accumulate::<false>(xr, &c64[b * cols..(b + 1) * cols], 1.0, sr) },
                            Some(_) => unsafe { dist2_accumulate::<true>(xr, &c64[b * cols..(b + 1) * cols], w, sr) },
                        };
                        changed += (labels[row] != b as i32) as i32;
                        labels[row] = b as i32;
                        counts[b] += w;
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
            }
            r0 += rb;
        }
        super::finish(changes, changed, min_dist2.is_some(), inertia)
    }

    /// out[c * ldo + r] = a[r * lda + c] for an 8 × 8 block (also the mirror kernel's block move).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(crate) unsafe fn transpose8(a: *const f32, lda: usize, out: *mut f32, ldo: usize) {
        unsafe {
            let r: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(a.add(i * lda)));
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let o = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (i, v) in o.iter().enumerate() {
                _mm256_storeu_ps(out.add(i * ldo), *v);
            }
        }
    }

    /// `Reduce::argmin_dist` for 8 rows at once, one row per f64 lane: the scan over c < k of
    /// cn[c] − 2·dot keeping the first strict improvement (a NaN never improves; index 0 when
    /// nothing is below +∞), exactly the sequential scan, lane by lane. dt[c * ld + r] = row r's dot.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn argmin8(dt: *const f32, ld: usize, cn: &[f64], k: usize, best: *mut i32) {
        unsafe {
            let m2 = _mm256_set1_pd(-2.0);
            let inf = _mm256_set1_pd(f64::INFINITY);
            let (mut ba, mut bb) = (inf, inf);
            let (mut ia, mut ib) = (_mm256_setzero_pd(), _mm256_setzero_pd());
            let mut cv = _mm256_setzero_pd();
            let one = _mm256_set1_pd(1.0);
            for (c, &n) in cn.iter().enumerate().take(k) {
                let p = dt.add(c * ld);
                let nv = _mm256_set1_pd(n);
                let da = _mm256_fmadd_pd(m2, _mm256_cvtps_pd(_mm_loadu_ps(p)), nv);
                let db = _mm256_fmadd_pd(m2, _mm256_cvtps_pd(_mm_loadu_ps(p.add(4))), nv);
                let la = _mm256_cmp_pd::<_CMP_LT_OQ>(da, ba);
                let lb = _mm256_cmp_pd::<_CMP_LT_OQ>(db, bb);
                ba = _mm256_blendv_pd(ba, da, la);
                bb = _mm256_blendv_pd(bb, db, lb);
                ia = _mm256_blendv_pd(ia, cv, la);
                ib = _mm256_blendv_pd(ib, cv, lb);
                cv = _mm256_add_pd(cv, one);
            }
            _mm_storeu_si128(best as *mut __m128i, _mm256_cvttpd_epi32(ia));
            _mm_storeu_si128(best.add(4) as *mut __m128i, _mm256_cvttpd_epi32(ib));
        }
    }

    /// `reduce`'s `Lanes::dist2_accumulate` with the centroid row already in f64 (the same values, the
    /// same lanes and order, so the same result bit for bit); `WEIGHTED` false skips the exact 1·x.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn dist2_accumulate<const WEIGHTED: bool>(x: &[f32], c: &[f64], w: f64, sums: &mut [f64]) -> f64 {
        let n = x.len().min(c.len()).min(sums.len());
        let (p, q, o) = (x.as_ptr(), c.as_ptr(), sums.as_mut_ptr());
        let wv = _mm256_set1_pd(w);
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1) = (z, z);
        let mut i = 0;
        // SAFETY: every access covers 4 elements below n, which all three slices have.
        unsafe {
            while i + 8 <= n {
                let (x0, x1) = (_mm256_cvtps_pd(_mm_loadu_ps(p.add(i))), _mm256_cvtps_pd(_mm_loadu_ps(p.add(i + 4))));
                let d0 = _mm256_sub_pd(x0, _mm256_loadu_pd(q.add(i)));
                let d1 = _mm256_sub_pd(x1, _mm256_loadu_pd(q.add(i + 4)));
                a0 = _mm256_fmadd_pd(d0, d0, a0);
                a1 = _mm256_fmadd_pd(d1, d1, a1);
                let (y0, y1) = if WEIGHTED { (_mm256_mul_pd(wv, x0), _mm256_mul_pd(wv, x1)) } else { (x0, x1) };
                _mm256_storeu_pd(o.add(i), _mm256_add_pd(_mm256_loadu_pd(o.add(i)), y0));
                _mm256_storeu_pd(o.add(i + 4), _mm256_add_pd(_mm256_loadu_pd(o.add(i + 4)), y1));
                i += 8;
            }
        }
        // hsum(a0, a1, 0, 0) of `reduce`, term for term.
        let s4 = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(z, z));
        let t = _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd::<1>(s4));
        let mut s = _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)));
        for t in i..n {
            let d = x[t] as f64 - c[t];
            s += d * d;
            sums[t] += if WEIGHTED { w * x[t] as f64 } else { x[t] as f64 };
        }
        s
    }

    /// dots[r * W + c] = x[r,:]·c[c,:] for R rows (row stride `cols`) and the W panel columns.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile<const R: usize, const NB: usize>(x: *const f32, cols: usize, panel: *const f32, dots: *mut f32) {
        let w8 = NB * 8;
        let mut d0 = 0;
        while d0 < cols {
            let dl = (cols - d0).min(DEPTH_BLOCK);
            let mut acc = [[_mm256_setzero_ps(); NB]; R];
            unsafe {
                for p in d0..d0 + dl {
                    let cp = panel.add(p * w8);
                    let cv: [__m256; NB] = std::array::from_fn(|j| _mm256_loadu_ps(cp.add(8 * j)));
                    for (r, accr) in acc.iter_mut().enumerate() {
                        let xv = _mm256_broadcast_ss(&*x.add(r * cols + p));
                        for j in 0..NB {
                            accr[j] = _mm256_fmadd_ps(xv, cv[j], accr[j]);
                        }
                    }
                }
                for (r, accr) in acc.iter().enumerate() {
                    for (j, &a) in accr.iter().enumerate() {
                        let o = dots.add(r * w8 + 8 * j);
                        let v = if d0 == 0 { a } else { _mm256_add_ps(_mm256_loadu_ps(o), a) };
                        _mm256_storeu_ps(o, v);
                    }
                }
            }
            d0 += dl;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::rng;

    type Out = (Vec<i32>, Vec<f64>, Vec<f64>, Vec<f64>, f64);

    fn run(f: &dyn Fn(KmeansArgs<'_>) -> f64, x: &[f32], rows: usize, cols: usize, c: &[f32], k: usize, w: Option<&[f32]>) -> Out {
        // Labels on entry: some equal to what the step gives, some not; `changes` adds to what it holds.
        let before: Vec<i32> = (0..rows).map(|i| (i % 3) as i32 - 1).collect();
        let (mut l, mut d, mut s, mut n) = (before.clone(), vec![f64::NAN; rows], vec![0.5; k * cols], vec![0.25; k]);
        let mut ch = [100i32];
        let inertia = f(KmeansArgs {
            x,
            rows,
            cols,
            centroids: c,
            k,
            weights: w,
            labels: &mut l,
            min_dist2: Some(&mut d),
            sums: &mut s,
            counts: &mut n,
            changes: Some(&mut ch),
        });
        // oracle: a direct count of the labels that differ from those on entry
        assert_eq!(ch[0] - 100, l.iter().zip(&before).filter(|(a, b)| a != b).count() as i32);
        (l, d, s, n, inertia)
    }

    fn run_no_dist(f: &dyn Fn(KmeansArgs<'_>) -> f64, x: &[f32], rows: usize, cols: usize, c: &[f32], k: usize, w: Option<&[f32]>) -> (Vec<i32>, Vec<f64>, Vec<f64>, f64) {
        let (mut l, mut s, mut n) = (vec![-7; rows], vec![0.5; k * cols], vec![0.25; k]);
        let inertia = f(KmeansArgs { x, rows, cols, centroids: c, k, weights: w, labels: &mut l, min_dist2: None, sums: &mut s, counts: &mut n, changes: None });
        (l, s, n, inertia)
    }

    fn bits(o: &Out) -> (Vec<i32>, Vec<u64>, Vec<u64>, Vec<u64>, u64) {
        let b = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        (o.0.clone(), b(&o.1), b(&o.2), b(&o.3), o.4.to_bits())
    }

    /// The small-k micro-kernel gives exactly what the GEMM path gives: labels, distances, sums,
    /// counts and inertia, over every k it takes, depths across the 512 block, row tails, ties
    /// (duplicated centroids, quantised data) and non-finite values.
    #[test]
    fn small_k_equals_the_gemm_path_bitwise() {
        assert!(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"));
        let mut r = rng(3);
        for &cols in &[1usize, 2, 3, 7, 8, 16, 32, 33, 100, 512, 513, 1100] {
            for k in 1..=small_k::MAX_K {
                if cols > 100 && k % 5 != 1 {
                    continue;
                }
                for case in 0..3 {
                    let rows = [1usize, 13, 203][case] + k % 4;
                    let quant = case == 1;
                    let mut x: Vec<f32> = (0..rows * cols)
                        .map(|_| if quant { (r() * 3.0).round() } else { r() })
                        .collect();
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
                        let gemm = run(&|a| unsafe { body::<Lanes>(a, similarity_tile_f32_avx2) }, &x, rows, cols, &c, k, wt);
                        let small = run(&|a| unsafe { kmeans_step_f32_avx2(a) }, &x, rows, cols, &c, k, wt);
                        assert_eq!(bits(&small), bits(&gemm), "cols={cols} k={k} case={case} weights={}", wt.is_some());
                        // Without distances: the same labels, sums and counts on both paths, inertia NaN.
                        let b64 = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                        let paths: [&dyn Fn(KmeansArgs<'_>) -> f64; 2] =
                            [&|a| unsafe { body::<Lanes>(a, similarity_tile_f32_avx2) }, &|a| unsafe { kmeans_step_f32_avx2(a) }];
                        for f in paths {
                            let nd = run_no_dist(f, &x, rows, cols, &c, k, wt);
                            assert_eq!(nd.0, small.0);
                            assert_eq!(b64(&nd.1), b64(&small.2));
                            assert_eq!(b64(&nd.2), b64(&small.3));
                            assert!(nd.3.is_nan());
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod bench {
    use super::*;
    use crate::kernels::testutil::{bench_matrix, best_over_blocks};

    /// `cargo test --release bench_kmeans -- --ignored --nocapture`: one thread, 200,000 × 32, k = 16 (and
    /// k = 32), the AVX2 and AVX-512 levels alternating so that drift in the machine's speed hits both.
    #[test]
    #[ignore]
    fn bench_kmeans() {
        let (rows, cols) = (200_000usize, 32usize);
        let x = bench_matrix(rows, cols);
        let (mut labels, mut d2) = (vec![0i32; rows], vec![0.0f64; rows]);
        type Step = unsafe fn(KmeansArgs<'_>) -> f64;
        let levels: [(&str, Step); 2] = [("avx2", kmeans_step_f32_avx2), ("avx512", kmeans_step_f32_avx512)];
        for k in [16usize, 32] {
            let c: Vec<f32> = x[..k * cols].to_vec();
            let (mut sums, mut counts) = (vec![0.0f64; k * cols], vec![0.0f64; k]);
            for round in 0..3 {
                for with_dist in [true, false] {
                    for (name, f) in levels {
                        if name == "avx512" && !std::arch::is_x86_feature_detected!("avx512f") {
                            continue;
                        }
                        let best = best_over_blocks(10, rows, |r0, rb| unsafe {
                            f(KmeansArgs {
                                x: &x[r0 * cols..(r0 + rb) * cols],
                                rows: rb,
                                cols,
                                centroids: &c,
                                k,
                                weights: None,
                                labels: &mut labels[r0..r0 + rb],
                                min_dist2: if with_dist { Some(&mut d2[r0..r0 + rb]) } else { None },
                                sums: &mut sums,
                                counts: &mut counts,
                                changes: None,
                            });
                        });
                        println!("round {round} k {k} {name} step (distances {with_dist}): {:.2} ms ({:.1} ns/row)", best * 1e3, best * 1e9 / rows as f64);
                    }
                }
            }
        }
    }
}
