//! f64 reductions over f32 rows, shared by normalize, k-means and matvec. The SIMD form (`Lanes`) widens
//! f32 to f64 four at a time and accumulates with FMA in four ymm registers (AVX2 intrinsics: the compiler
//! kept these in 128-bit registers when left to vectorise plain code; the AVX-512 level runs the same
//! 256-bit code). The `seq` forms are the scalar twins' strictly sequential sums. Tails: the last len % 4
//! elements are added one by one after the vector part.

#[inline(always)]
pub fn sumsq_seq(x: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for &v in x {
        s += (v as f64) * (v as f64);
    }
    s
}

#[inline(always)]
pub fn dist2_seq(x: &[f32], c: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for (a, b) in x.iter().zip(c) {
        let d = *a as f64 - *b as f64;
        s += d * d;
    }
    s
}

#[inline(always)]
pub fn dot_f32_f64_seq(x: &[f32], w: &[f64]) -> f64 {
    let mut s = 0.0f64;
    for (a, b) in x.iter().zip(w) {
        s += *a as f64 * *b;
    }
    s
}

/// The reduction style a kernel body is instantiated with: `Lanes` under the SIMD levels (the
/// compiler vectorises it at the level of the calling kernel), `Seq` for the scalar twins.
pub trait Reduce {
    fn sumsq(x: &[f32]) -> f64;
    fn dist2(x: &[f32], c: &[f32]) -> f64;
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64;
    /// Σ (x − c)² in f64 and, in the same pass, sums += w·x (f64).
    fn dist2_accumulate(x: &[f32], c: &[f32], w: f64, sums: &mut [f64]) -> f64;
    /// sums += w·x (f64), as `dist2_accumulate` does, without the distance.
    fn accumulate(x: &[f32], w: f64, sums: &mut [f64]);
    /// First c minimising cn[c] − 2·dots[c] in f64 (‖x − c‖² − ‖x‖²: ‖x‖² is the same for every c, so it is
    /// left out, as scikit-learn's Lloyd step does; 2·dot is exact, so the difference is rounded once), i.e.
    /// the first strict improvement in a scan (ties to the lower centroid); 0 when no value is below +∞.
    fn argmin_dist(dots: &[f32], cn: &[f64]) -> usize;
}

pub struct Lanes;
pub struct Seq;

impl Reduce for Lanes {
    #[inline(always)]
    fn sumsq(x: &[f32]) -> f64 {
        // SAFETY: `Lanes` is only instantiated by the AVX2 / AVX-512 kernels.
        unsafe { avx2::sumsq(x) }
    }
    #[inline(always)]
    fn dist2(x: &[f32], c: &[f32]) -> f64 {
        // SAFETY: as above.
        unsafe { avx2::dist2(x, c) }
    }
    #[inline(always)]
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64 {
        // SAFETY: as above.
        unsafe { avx2::dot_f32_f64(x, w) }
    }
    #[inline(always)]
    fn dist2_accumulate(x: &[f32], c: &[f32], w: f64, sums: &mut [f64]) -> f64 {
        // SAFETY: as above.
        unsafe { avx2::dist2_accumulate(x, c, w, sums) }
    }
    #[inline(always)]
    fn accumulate(x: &[f32], w: f64, sums: &mut [f64]) {
        // SAFETY: as above.
        unsafe { avx2::accumulate(x, w, sums) }
    }
    #[inline(always)]
    fn argmin_dist(dots: &[f32], cn: &[f64]) -> usize {
        // SAFETY: as above.
        unsafe { avx2::argmin_dist(dots, cn) }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(a: __m256d, b: __m256d, c: __m256d, d: __m256d) -> f64 {
        let s = _mm256_add_pd(_mm256_add_pd(a, b), _mm256_add_pd(c, d));
        let lo = _mm256_castpd256_pd128(s);
        let hi = _mm256_extractf128_pd::<1>(s);
        let t = _mm_add_pd(lo, hi);
        _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)))
    }

    /// Four f32 at `p` widened to f64.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn widen(p: *const f32) -> __m256d {
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn sumsq(x: &[f32]) -> f64 {
        let (n, p) = (x.len(), x.as_ptr());
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let mut i = 0;
        // SAFETY: every load reads 4 elements below n.
        unsafe {
            while i + 16 <= n {
                let (v0, v1, v2, v3) = (widen(p.add(i)), widen(p.add(i + 4)), widen(p.add(i + 8)), widen(p.add(i + 12)));
                a0 = _mm256_fmadd_pd(v0, v0, a0);
                a1 = _mm256_fmadd_pd(v1, v1, a1);
                a2 = _mm256_fmadd_pd(v2, v2, a2);
                a3 = _mm256_fmadd_pd(v3, v3, a3);
                i += 16;
            }
            while i + 4 <= n {
                let v = widen(p.add(i));
                a0 = _mm256_fmadd_pd(v, v, a0);
                i += 4;
            }
        }
        let mut s = hsum(a0, a1, a2, a3);
        for &v in &x[i..] {
            s += (v as f64) * (v as f64);
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn dist2(x: &[f32], c: &[f32]) -> f64 {
        let n = x.len().min(c.len());
        let (p, q) = (x.as_ptr(), c.as_ptr());
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let mut i = 0;
        // SAFETY: every load reads 4 elements below n, which both slices have.
        unsafe {
            while i + 16 <= n {
                let d0 = _mm256_sub_pd(widen(p.add(i)), widen(q.add(i)));
                let d1 = _mm256_sub_pd(widen(p.add(i + 4)), widen(q.add(i + 4)));
                let d2 = _mm256_sub_pd(widen(p.add(i + 8)), widen(q.add(i + 8)));
                let d3 = _mm256_sub_pd(widen(p.add(i + 12)), widen(q.add(i + 12)));
                a0 = _mm256_fmadd_pd(d0, d0, a0);
                a1 = _mm256_fmadd_pd(d1, d1, a1);
                a2 = _mm256_fmadd_pd(d2, d2, a2);
                a3 = _mm256_fmadd_pd(d3, d3, a3);
                i += 16;
            }
            while i + 4 <= n {
                let d = _mm256_sub_pd(widen(p.add(i)), widen(q.add(i)));
                a0 = _mm256_fmadd_pd(d, d, a0);
                i += 4;
            }
        }
        let mut s = hsum(a0, a1, a2, a3);
        for (a, b) in x[i..n].iter().zip(&c[i..n]) {
            let d = *a as f64 - *b as f64;
            s += d * d;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64 {
        let n = x.len().min(w.len());
        let (p, q) = (x.as_ptr(), w.as_ptr());
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1, mut a2, mut a3) = (z, z, z, z);
        let mut i = 0;
        // SAFETY: every load reads 4 elements below n, which both slices have.
        unsafe {
            while i + 16 <= n {
                a0 = _mm256_fmadd_pd(widen(p.add(i)), _mm256_loadu_pd(q.add(i)), a0);
                a1 = _mm256_fmadd_pd(widen(p.add(i + 4)), _mm256_loadu_pd(q.add(i + 4)), a1);
                a2 = _mm256_fmadd_pd(widen(p.add(i + 8)), _mm256_loadu_pd(q.add(i + 8)), a2);
                a3 = _mm256_fmadd_pd(widen(p.add(i + 12)), _mm256_loadu_pd(q.add(i + 12)), a3);
                i += 16;
            }
            while i + 4 <= n {
                a0 = _mm256_fmadd_pd(widen(p.add(i)), _mm256_loadu_pd(q.add(i)), a0);
                i += 4;
            }
        }
        let mut s = hsum(a0, a1, a2, a3);
        for (a, b) in x[i..n].iter().zip(&w[i..n]) {
            s += *a as f64 * *b;
        }
        s
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn dist2_accumulate(x: &[f32], c: &[f32], w: f64, sums: &mut [f64]) -> f64 {
        let n = x.len().min(c.len()).min(sums.len());
        let (p, q, o) = (x.as_ptr(), c.as_ptr(), sums.as_mut_ptr());
        let wv = _mm256_set1_pd(w);
        let z = _mm256_setzero_pd();
        let (mut a0, mut a1) = (z, z);
        let mut i = 0;
        // SAFETY: every access covers 4 elements below n, which all three slices have.
        unsafe {
            while i + 8 <= n {
                let (x0, x1) = (widen(p.add(i)), widen(p.add(i + 4)));
                let d0 = _mm256_sub_pd(x0, widen(q.add(i)));
                let d1 = _mm256_sub_pd(x1, widen(q.add(i + 4)));
                a0 = _mm256_fmadd_pd(d0, d0, a0);
                a1 = _mm256_fmadd_pd(d1, d1, a1);
                // w·x + s with one rounding of w·x first, like the scalar `s += w * x`.
                _mm256_storeu_pd(o.add(i), _mm256_add_pd(_mm256_loadu_pd(o.add(i)), _mm256_mul_pd(wv, x0)));
                _mm256_storeu_pd(o.add(i + 4), _mm256_add_pd(_mm256_loadu_pd(o.add(i + 4)), _mm256_mul_pd(wv, x1)));
                i += 8;
            }
        }
        let mut s = hsum(a0, a1, z, z);
        for t in i..n {
            let d = x[t] as f64 - c[t] as f64;
            s += d * d;
            sums[t] += w * x[t] as f64;
        }
        s
    }

    /// Branch-free min-location: each lane keeps its first strict minimum (value and index, the index
    /// as an exact f64), then lanes merge by (value, index) and the tail continues the strict scan. A
    /// scalar scan with a data-dependent branch mispredicted on nearly every row.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn accumulate(x: &[f32], w: f64, sums: &mut [f64]) {
        let n = x.len().min(sums.len());
        let (p, o) = (x.as_ptr(), sums.as_mut_ptr());
        let wv = _mm256_set1_pd(w);
        let mut i = 0;
        // SAFETY: every access covers 4 elements below n, which both slices have.
        unsafe {
            while i + 4 <= n {
                let t = o.add(i);
                _mm256_storeu_pd(t, _mm256_add_pd(_mm256_loadu_pd(t), _mm256_mul_pd(wv, widen(p.add(i)))));
                i += 4;
            }
        }
        for t in i..n {
            sums[t] += w * x[t] as f64;
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub unsafe fn argmin_dist(dots: &[f32], cn: &[f64]) -> usize {
        let k = dots.len().min(cn.len());
        let (p, q) = (dots.as_ptr(), cn.as_ptr());
        let (m2, four) = (_mm256_set1_pd(-2.0), _mm256_set1_pd(4.0));
        let mut best = _mm256_set1_pd(f64::INFINITY);
        let mut best_i = _mm256_set1_pd(-1.0);
        let mut cur = _mm256_setr_pd(0.0, 1.0, 2.0, 3.0);
        let mut c = 0;
        while c + 4 <= k {
            // SAFETY: c + 4 ≤ k, the length of both inputs.
            // cn − 2·dot: one rounding in the FMA form and in the scalar twin's (2·dot is exact).
            let d = unsafe { _mm256_fmadd_pd(m2, widen(p.add(c)), _mm256_loadu_pd(q.add(c))) };
            let lt = _mm256_cmp_pd::<_CMP_LT_OQ>(d, best);
            best = _mm256_blendv_pd(best, d, lt);
            best_i = _mm256_blendv_pd(best_i, cur, lt);
            cur = _mm256_add_pd(cur, four);
            c += 4;
        }
        // Lanes merge without branches: the smallest value, then the smallest index among lanes holding
        // it (lanes that never improved hold +∞ and index −1, and only win when every lane is +∞).
        let hmin = |v: __m256d| {
            let t = _mm256_min_pd(v, _mm256_permute2f128_pd::<1>(v, v));
            _mm256_min_pd(t, _mm256_permute_pd::<0b0101>(t))
        };
        let m = hmin(best);
        let idx = _mm256_blendv_pd(_mm256_set1_pd(f64::MAX), best_i, _mm256_cmp_pd::<_CMP_EQ_OQ>(best, m));
        let (mut bd, mut bc) = (_mm256_cvtsd_f64(m), _mm256_cvtsd_f64(hmin(idx)));
        if bd.is_nan() || bd == f64::INFINITY {
            bd = f64::INFINITY;
            bc = -1.0;
        }
        let mut best_c = if bc >= 0.0 { bc as usize } else { usize::MAX };
        for t in c..k {
            let dist = cn[t] - 2.0 * dots[t] as f64;
            if dist < bd {
                bd = dist;
                best_c = t;
            }
        }
        if best_c == usize::MAX {
            0
        } else {
            best_c
        }
    }
}

impl Reduce for Seq {
    #[inline(always)]
    fn dist2_accumulate(x: &[f32], c: &[f32], w: f64, sums: &mut [f64]) -> f64 {
        for (s, &v) in sums.iter_mut().zip(x) {
            *s += w * v as f64;
        }
        dist2_seq(x, c)
    }
    #[inline(always)]
    fn accumulate(x: &[f32], w: f64, sums: &mut [f64]) {
        for (s, &v) in sums.iter_mut().zip(x) {
            *s += w * v as f64;
        }
    }
    #[inline(always)]
    fn argmin_dist(dots: &[f32], cn: &[f64]) -> usize {
        let mut best = 0usize;
        let mut best_d = f64::INFINITY;
        for (c, (&d, &n)) in dots.iter().zip(cn).enumerate() {
            let dist = n - 2.0 * d as f64;
            // Strict: an equal distance keeps the lower centroid.
            if dist < best_d {
                best_d = dist;
                best = c;
            }
        }
        best
    }
    #[inline(always)]
    fn sumsq(x: &[f32]) -> f64 {
        sumsq_seq(x)
    }
    #[inline(always)]
    fn dist2(x: &[f32], c: &[f32]) -> f64 {
        dist2_seq(x, c)
    }
    #[inline(always)]
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64 {
        dot_f32_f64_seq(x, w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_argmin_is_the_first_strict_minimum_like_the_scan() {
        assert!(std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma"));
        for k in 0..=21usize {
            for case in 0..40u32 {
                // Few distinct values (many ties), a NaN now and then, an occasional +∞.
                let dots: Vec<f32> = (0..k).map(|c| ((c as u32 * 7 + case * 13) % 5) as f32 - 2.0).collect();
                let cn: Vec<f64> = (0..k)
                    .map(|c| match (c as u32 + case) % 11 {
                        0 if case % 3 == 0 => f64::NAN,
                        1 if case % 5 == 0 => f64::INFINITY,
                        v => (v % 3) as f64,
                    })
                    .collect();
                let want = Seq::argmin_dist(&dots, &cn);
                assert_eq!(Lanes::argmin_dist(&dots, &cn), want, "k={k} case={case}");
            }
        }
        assert_eq!(Lanes::argmin_dist(&[1.0; 6], &[f64::NAN; 6]), 0);
    }

    #[test]
    fn vector_sums_match_the_sequential_ones_over_every_tail() {
        for n in 0..70usize {
            let x: Vec<f32> = (0..n).map(|i| ((i * 37) % 17) as f32 * 0.125 - 1.0).collect();
            let c: Vec<f32> = (0..n).map(|i| ((i * 11) % 13) as f32 * 0.25).collect();
            let w: Vec<f64> = (0..n).map(|i| ((i * 5) % 7) as f64 - 3.0).collect();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs().max(1.0);
            assert!(close(Lanes::sumsq(&x), sumsq_seq(&x)), "sumsq n={n}");
            assert!(close(Lanes::dist2(&x, &c), dist2_seq(&x, &c)), "dist2 n={n}");
            assert!(close(Lanes::dot_f32_f64(&x, &w), dot_f32_f64_seq(&x, &w)), "dot n={n}");
            let (mut s1, mut s2) = (w.clone(), w.clone());
            let (d1, d2) = (Lanes::dist2_accumulate(&x, &c, 0.75, &mut s1), Seq::dist2_accumulate(&x, &c, 0.75, &mut s2));
            assert!(close(d1, d2), "dist2_accumulate n={n}");
            assert_eq!(s1, s2, "the sums are element-wise, so exactly equal (n={n})");
        }
    }
}
