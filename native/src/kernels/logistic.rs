//! One fused pass of binary logistic regression (Newton / IRLS) over a block of rows, all in f64:
//!   z_i = Σ_d x[i,d]·β_d + b,  e_i = exp(−|z_i|),  p_i = σ(z_i),  ℓ_i = log(1 + e^{z_i}) − y_i·z_i,
//!   w_i = s_i·p_i·(1 − p_i),   v_i = s_i·(y_i − p_i)          (s_i the row weight, 1 when absent)
//! accumulating into `out` (layout in `LogisticArgs`): Σ s_i ℓ_i, Σ ℓ_i, the count of rows whose 0.5-threshold
//! prediction equals y_i, Xᵀv and Σv (minus the data gradient), and with `hessian`, Xᵀw, Σw and the upper
//! triangle of XᵀWX. z_i goes to `z`. The intercept's row and column of the Hessian are Xᵀw and Σw, so the
//! caller never materialises the [X, 1] design matrix.
//!
//! Why a hand-written fused kernel: the alternative is a separate per-row pass for the weights in
//! JavaScript, a Gram call, and another pass for the objective, each re-reading X and the per-row vectors.
//! Here each pass reads X once (a 256-row chunk stays in L1/L2 between the per-row phase and the Hessian)
//! and the exponentials run in the worker threads, four rows at a time.
//!
//! Precision: z, the loss, the gradient (Xᵀv, Σv) and Xᵀw, Σw accumulate in f64 on every level. The SIMD
//! levels form the Hessian's XᵀWX from f32 products √w_i·x_i summed in f32 over chunks of at most 256 rows,
//! then in f64 across chunks (relative error ~1e-6, twice the FMA throughput of f64). Newton's method only
//! needs an approximate Hessian: the fixed point is where the f64 gradient vanishes, so the optimum is the
//! same; scikit-learn's newton-cholesky builds the whole Hessian in float32 for float32 input. The scalar
//! twin accumulates the Hessian in f64 (`gram`'s scalar twin) and is the order the tests compare with.
//!
//! Per-row arithmetic (one sequence shared by every level, so the levels differ only in the dot products
//! and the Gram accumulation order): e = exp(−|z|); softplus = max(z, 0) + log1p(e); inv = 1 / (1 + e);
//! p = inv if z ≥ 0 else e·inv; 1 − p = e·inv if z ≥ 0 else inv (both exact for any z, no cancellation);
//! v = s·(y·(1 − p) − (1 − y)·p), which is exactly s(1 − p) for y = 1 and −s·p for y = 0.

use super::gram::{add_tile_upper, gram_f64_avx2, gram_f64_scalar, GramArgs};
use super::reduce::{Lanes, Reduce, Seq};

/// Offsets into `out` for `cols` = d: [0] Σ s·ℓ, [1] Σ ℓ, [2] correct count, then
/// GRAD: Xᵀv (d values) and Σv, then XW: Xᵀw (d values) and Σw, then H: d × d row-major, upper triangle.
pub const OUT_LOSS_W: usize = 0;
pub const OUT_LOSS: usize = 1;
pub const OUT_CORRECT: usize = 2;
pub const OUT_GRAD: usize = 3;

pub fn out_len(d: usize) -> usize {
    OUT_GRAD + 2 * (d + 1) + d * d
}

pub struct LogisticArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub y: &'a [f64],
    pub s: Option<&'a [f64]>,
    /// d coefficients; the intercept is `bias`.
    pub beta: &'a [f64],
    pub bias: f64,
    pub hessian: bool,
    pub z: &'a mut [f64],
    pub out: &'a mut [f64],
}

/// Per-row values of one row (see the module header).
#[inline(always)]
fn row_terms(z: f64, y: f64, s: f64) -> (f64, f64, f64, bool) {
    let e = (-z.abs()).exp();
    let loss = z.max(0.0) + e.ln_1p() - y * z;
    let inv = 1.0 / (1.0 + e);
    let (p, q) = if z >= 0.0 { (inv, e * inv) } else { (e * inv, inv) };
    let v = s * (y * q - (1.0 - y) * p);
    let correct = (if z > 0.0 { 1.0 } else { 0.0 }) == y;
    (loss, s * p * q, v, correct)
}

#[inline(always)]
fn body<R: Reduce>(a: LogisticArgs<'_>, gram: unsafe fn(GramArgs<'_>)) {
    let LogisticArgs {
        x,
        rows,
        cols: d,
        y,
        s,
        beta,
        bias,
        hessian,
        z,
        out,
    } = a;
    if rows == 0 {
        return;
    }
    let beta = &beta[..d];
    // Phase 1: z, the loss terms and the per-row weights (w, v) for the block.
    let mut wv = vec![0.0f64; 2 * rows];
    let (w, v) = wv.split_at_mut(rows);
    let (mut loss_w, mut loss, mut correct, mut sum_v, mut sum_w) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for i in 0..rows {
        let zi = R::dot_f32_f64(&x[i * d..(i + 1) * d], beta) + bias;
        z[i] = zi;
        let si = s.map_or(1.0, |s| s[i]);
        let (li, wi, vi, ok) = row_terms(zi, y[i], si);
        loss_w += si * li;
        loss += li;
        if ok {
            correct += 1.0;
        }
        w[i] = wi;
        v[i] = vi;
        sum_v += vi;
        sum_w += wi;
    }
    out[OUT_LOSS_W] += loss_w;
    out[OUT_LOSS] += loss;
    out[OUT_CORRECT] += correct;
    let (grad, rest) = out[OUT_GRAD..].split_at_mut(d + 1);
    let (xw, h) = rest.split_at_mut(d + 1);
    grad[d] += sum_v;
    if hessian {
        xw[d] += sum_w;
        // Phase 2: XᵀWX and Xᵀv through the Gram kernel (the block was just read, so it comes from cache).
        // SAFETY: `gram` is the Gram entry point of this function's own level.
        unsafe {
            gram(GramArgs {
                x: &x[..rows * d],
                rows,
                cols: d,
                w: Some(w),
                center: None,
                v: Some(v),
                g: &mut h[..d * d],
                xty: Some(&mut grad[..d]),
                sums: None,
            })
        };
        let xw = &mut xw[..d];
        for i in 0..rows {
            let wi = w[i];
            for (t, &xv) in xw.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *t += wi * xv as f64;
            }
        }
    } else {
        let grad = &mut grad[..d];
        for i in 0..rows {
            let vi = v[i];
            for (t, &xv) in grad.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *t += vi * xv as f64;
            }
        }
    }
}

unsafe fn gram_scalar(a: GramArgs<'_>) {
    gram_f64_scalar(a)
}

pub fn logistic_pass_scalar(a: LogisticArgs<'_>) {
    body::<Seq>(a, gram_scalar)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn logistic_pass_avx2(a: LogisticArgs<'_>) {
    // SAFETY: AVX2 and FMA are enabled here.
    unsafe { avx2::pass(a) }
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn logistic_pass_avx512(a: LogisticArgs<'_>) {
    // SAFETY: AVX2 and FMA are implied by this level.
    unsafe { avx2::pass(a) }
}

/// The f64 form of the whole pass (Hessian through `gram`'s f64 kernel), for inputs wider than the f32
/// panels take (both SIMD levels run the AVX2 pass, so this is their one fallback).
unsafe fn pass_f64_gram_avx2(a: LogisticArgs<'_>) {
    body::<Lanes>(a, gram_f64_avx2)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Rows per chunk: the f32 Hessian partial sums cover at most this many rows before going to f64.
    const RB: usize = 256;
    /// Register tile: MR rows of XᵀWX (broadcast) × NR columns (two ymm of eight f32).
    const MR: usize = 4;
    const NR: usize = 16;
    /// Widest input the packed f32 Hessian takes (panels RB × cols f32 = 256 KiB at the widest).
    const MAX_COLS: usize = 256;

    /// Σ c_j x^j by Estrin's scheme (pairs, then pairs of pairs with x², x⁴, …): the same terms as Horner's
    /// rule with a dependency chain of log₂ N multiply-adds instead of N, which is what bounds this loop.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn estrin<const N: usize>(x: __m256d, c: &[f64; N]) -> __m256d {
        let mut v = [_mm256_setzero_pd(); N];
        for j in 0..N {
            v[j] = _mm256_set1_pd(c[j]);
        }
        // A fixed count of levels (five cover N ≤ 32) rather than `while n > 1`: the compiler then unrolls every
        // level, the index arithmetic folds to constants and `v` lives in registers (with a loop it stayed on
        // the stack, each multiply-add waiting on a store and a reload). The same operations in the same order.
        const { assert!(N <= 32) };
        let (mut n, mut xp) = (N, x);
        for _ in 0..5 {
            if n <= 1 {
                break;
            }
            let half = n / 2;
            for k in 0..half {
                v[k] = _mm256_fmadd_pd(v[2 * k + 1], xp, v[2 * k]);
            }
            if n % 2 == 1 {
                v[half] = v[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
            xp = _mm256_mul_pd(xp, xp);
        }
        v[0]
    }

    /// e^t for t ≤ 0, four lanes, to ~1 ulp: t = k·ln2 + r with |r| ≤ ln2/2, e^r by its Taylor series to
    /// degree 13 (remainder < 1e-17 relative; Estrin's scheme), 2^k put in the exponent bits. t < −708 gives 0 (e^t is then
    /// below the smallest normal double, and every use of e here is 1 + e, e/(1 + e) or log1p(e)).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn exp_nonpos(t: __m256d) -> __m256d {
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        const LN2_HI: f64 = 6.931_471_803_691_238e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        let tiny = _mm256_cmp_pd::<_CMP_LT_OQ>(t, _mm256_set1_pd(-708.0));
        let t = _mm256_max_pd(t, _mm256_set1_pd(-708.0));
        let k = _mm256_round_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(_mm256_mul_pd(t, _mm256_set1_pd(LOG2E)));
        let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_HI), t);
        let r = _mm256_fnmadd_pd(k, _mm256_set1_pd(LN2_LO), r);
        // Σ_{j ≤ 13} r^j / j!.
        const C: [f64; 14] = [
            1.0,
            1.0,
            1.0 / 2.0,
            1.0 / 6.0,
            1.0 / 24.0,
            1.0 / 120.0,
            1.0 / 720.0,
            1.0 / 5040.0,
            1.0 / 40320.0,
            1.0 / 362880.0,
            1.0 / 3628800.0,
            1.0 / 39916800.0,
            1.0 / 479001600.0,
            1.0 / 6227020800.0,
        ];
        let p = estrin(r, &C);
        // 2^k: k + 1023 in [1, 1023] lands in the low mantissa bits of k + (2^52 + 1023), then moves up.
        let biased = _mm256_castpd_si256(_mm256_add_pd(k, _mm256_set1_pd(4503599627371519.0)));
        let scale = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(biased));
        _mm256_andnot_pd(tiny, _mm256_mul_pd(p, scale))
    }

    /// log(1 + e) for e in [0, 1], four lanes: 2·atanh(u) with u = e / (2 + e) ≤ 1/3, the odd series
    /// 2u·Σ_{j ≤ 16} u^{2j} / (2j + 1) (remainder < 1e-17 relative); exact at e = 0.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn log1p_unit(e: __m256d) -> __m256d {
        let u = _mm256_div_pd(e, _mm256_add_pd(_mm256_set1_pd(2.0), e));
        let u2 = _mm256_mul_pd(u, u);
        const C: [f64; 17] = {
            let mut c = [0.0; 17];
            let mut j = 0;
            while j < 17 {
                c[j] = 1.0 / (2 * j + 1) as f64;
                j += 1;
            }
            c
        };
        _mm256_mul_pd(_mm256_add_pd(u, u), estrin(u2, &C))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn hsum(v: __m256d) -> f64 {
        let lo = _mm256_castpd256_pd128(v);
        let hi = _mm256_extractf128_pd::<1>(v);
        let t = _mm_add_pd(lo, hi);
        _mm_cvtsd_f64(_mm_add_sd(t, _mm_unpackhi_pd(t, t)))
    }

    /// acc[r][l] = Σ_i bpan[i·NR + off + r] · apan[i·NR + l] in f32 (8 ymm accumulators).
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn tile_4x16(rb: usize, bpan: &[f32], off: usize, apan: &[f32]) -> [[f32; NR]; MR] {
        assert!(bpan.len() >= rb * NR && apan.len() >= rb * NR && off + MR <= NR);
        let (bp, ap) = (bpan.as_ptr().wrapping_add(off), apan.as_ptr());
        let z = _mm256_setzero_ps();
        let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) = (z, z, z, z, z, z, z, z);
        for i in 0..rb {
            // SAFETY: i < rb and both panels hold rb rows of NR (asserted above).
            unsafe {
                let a0 = _mm256_loadu_ps(ap.add(i * NR));
                let a1 = _mm256_loadu_ps(ap.add(i * NR + 8));
                let b = bp.add(i * NR);
                let w0 = _mm256_broadcast_ss(&*b);
                c00 = _mm256_fmadd_ps(w0, a0, c00);
                c01 = _mm256_fmadd_ps(w0, a1, c01);
                let w1 = _mm256_broadcast_ss(&*b.add(1));
                c10 = _mm256_fmadd_ps(w1, a0, c10);
                c11 = _mm256_fmadd_ps(w1, a1, c11);
                let w2 = _mm256_broadcast_ss(&*b.add(2));
                c20 = _mm256_fmadd_ps(w2, a0, c20);
                c21 = _mm256_fmadd_ps(w2, a1, c21);
                let w3 = _mm256_broadcast_ss(&*b.add(3));
                c30 = _mm256_fmadd_ps(w3, a0, c30);
                c31 = _mm256_fmadd_ps(w3, a1, c31);
            }
        }
        let mut acc = [[0.0f32; NR]; MR];
        for (out, (lo, hi)) in acc.iter_mut().zip([(c00, c01), (c10, c11), (c20, c21), (c30, c31)]) {
            // SAFETY: each row holds NR = 16 f32, written as two halves of eight.
            unsafe {
                _mm256_storeu_ps(out.as_mut_ptr(), lo);
                _mm256_storeu_ps(out.as_mut_ptr().add(8), hi);
            }
        }
        acc
    }

    /// acc[c] += Σ_i f[i]·x[i, c] over rb rows of width d, in f64.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn accumulate_xt(x: &[f32], rb: usize, d: usize, f: &[f64], acc: &mut [f64]) {
        assert!(x.len() >= rb * d && f.len() >= rb && acc.len() >= d);
        let xp = x.as_ptr();
        let mut c = 0;
        while c + 8 <= d {
            let z = _mm256_setzero_pd();
            let (mut a0, mut a1, mut b0, mut b1) = (z, z, z, z);
            let mut i = 0;
            // SAFETY: rows i, i + 1 < rb and columns c..c + 8 ≤ d are inside x (asserted above).
            unsafe {
                while i + 2 <= rb {
                    let (fa, fb) = (_mm256_set1_pd(f[i]), _mm256_set1_pd(f[i + 1]));
                    let ra = _mm_loadu_ps(xp.add(i * d + c));
                    let ra2 = _mm_loadu_ps(xp.add(i * d + c + 4));
                    let rb2 = _mm_loadu_ps(xp.add((i + 1) * d + c));
                    let rb3 = _mm_loadu_ps(xp.add((i + 1) * d + c + 4));
                    a0 = _mm256_fmadd_pd(fa, _mm256_cvtps_pd(ra), a0);
                    a1 = _mm256_fmadd_pd(fa, _mm256_cvtps_pd(ra2), a1);
                    b0 = _mm256_fmadd_pd(fb, _mm256_cvtps_pd(rb2), b0);
                    b1 = _mm256_fmadd_pd(fb, _mm256_cvtps_pd(rb3), b1);
                    i += 2;
                }
                if i < rb {
                    let fa = _mm256_set1_pd(f[i]);
                    a0 = _mm256_fmadd_pd(fa, _mm256_cvtps_pd(_mm_loadu_ps(xp.add(i * d + c))), a0);
                    a1 = _mm256_fmadd_pd(fa, _mm256_cvtps_pd(_mm_loadu_ps(xp.add(i * d + c + 4))), a1);
                }
                let o = acc.as_mut_ptr().add(c);
                _mm256_storeu_pd(o, _mm256_add_pd(_mm256_loadu_pd(o), _mm256_add_pd(a0, b0)));
                _mm256_storeu_pd(o.add(4), _mm256_add_pd(_mm256_loadu_pd(o.add(4)), _mm256_add_pd(a1, b1)));
            }
            c += 8;
        }
        // Remaining columns (fewer than eight): one scalar sum each.
        for c in c..d {
            let mut sacc = 0.0f64;
            for i in 0..rb {
                sacc += f[i] * x[i * d + c] as f64;
            }
            acc[c] += sacc;
        }
    }

    /// # Safety
    /// AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn pass(a: LogisticArgs<'_>) {
        if a.cols > MAX_COLS {
            // SAFETY: same level.
            return unsafe { super::pass_f64_gram_avx2(a) };
        }
        let LogisticArgs { x, rows, cols: d, y, s, beta, bias, hessian, z, out } = a;
        if rows == 0 {
            return;
        }
        let beta = &beta[..d];
        let np = d.div_ceil(NR);
        let mp = d.div_ceil(MR);
        // Panels: np × (RB × NR) f32, √w_i·x_i, the last one zero-padded.
        let stride = RB * NR + 2 * NR;
        let mut pan = vec![0.0f32; if hessian { np * stride } else { 0 }];
        let mut w = [0.0f64; RB + 4];
        let mut v = [0.0f64; RB + 4];
        let (mut zc, mut yc, mut sc) = ([0.0f64; RB + 4], [0.0f64; RB + 4], [0.0f64; RB + 4]);
        let (mut loss_w, mut loss, mut correct, mut sum_v, mut sum_w) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
        let (grad, rest) = out[OUT_GRAD..].split_at_mut(d + 1);
        let (xw, h) = rest.split_at_mut(d + 1);
        let (grad, xw, h) = (&mut grad[..d], &mut xw[..d], &mut h[..d * d]);
        let zero = _mm256_setzero_pd();
        for r0 in (0..rows).step_by(RB) {
            let rb = (rows - r0).min(RB);
            let xb = &x[r0 * d..(r0 + rb) * d];
            // z, y and s of the chunk in local arrays padded to a multiple of four (z = y = s = 0 past rb:
            // those lanes' terms are all zero but the unweighted loss, which is masked).
            for i in 0..rb {
                zc[i] = Lanes::dot_f32_f64(&xb[i * d..(i + 1) * d], beta) + bias;
            }
            z[r0..r0 + rb].copy_from_slice(&zc[..rb]);
            yc[..rb].copy_from_slice(&y[r0..r0 + rb]);
            match s {
                Some(s) => sc[..rb].copy_from_slice(&s[r0..r0 + rb]),
                None => sc[..rb].fill(1.0),
            }
            let pad = rb.next_multiple_of(4);
            zc[rb..pad].fill(0.0);
            yc[rb..pad].fill(0.0);
            sc[rb..pad].fill(0.0);
            // The next chunk's rows are requested from memory while this chunk's terms and sums compute (the
            // dot products above would otherwise wait on them): its cache lines spread over this loop.
            let next = &x[(r0 + rb) * d..((r0 + rb + RB).min(rows)) * d];
            let lines = next.len().div_ceil(16);
            let per = lines.div_ceil(pad / 4).max(1);
            let mut line = 0;
            // Per-row terms, four rows at a time.
            let (mut lw4, mut l4, mut sv4, mut sw4) = (zero, zero, zero, zero);
            for i in (0..pad).step_by(4) {
                for _ in 0..per {
                    if line < lines {
                        // SAFETY: a prefetch hint at an address inside `next`.
                        unsafe { _mm_prefetch::<_MM_HINT_T0>(next.as_ptr().add(line * 16) as *const i8) };
                        line += 1;
                    }
                }
                // SAFETY: i + 4 ≤ pad ≤ RB + 4, the length of every local array.
                let (zv, yv, sv) = unsafe { (_mm256_loadu_pd(zc.as_ptr().add(i)), _mm256_loadu_pd(yc.as_ptr().add(i)), _mm256_loadu_pd(sc.as_ptr().add(i))) };
                let absz = _mm256_andnot_pd(_mm256_set1_pd(-0.0), zv);
                let e = exp_nonpos(_mm256_sub_pd(zero, absz));
                let li = _mm256_sub_pd(_mm256_add_pd(_mm256_max_pd(zv, zero), log1p_unit(e)), _mm256_mul_pd(yv, zv));
                let inv = _mm256_div_pd(_mm256_set1_pd(1.0), _mm256_add_pd(_mm256_set1_pd(1.0), e));
                let einv = _mm256_mul_pd(e, inv);
                let nonneg = _mm256_cmp_pd::<_CMP_GE_OQ>(zv, zero);
                let p = _mm256_blendv_pd(einv, inv, nonneg);
                let q = _mm256_blendv_pd(inv, einv, nonneg);
                // s·(y·(1 − p) − (1 − y)·p): exactly s(1 − p) for y = 1 and −s·p for y = 0.
                let vv = _mm256_mul_pd(sv, _mm256_sub_pd(_mm256_mul_pd(yv, q), _mm256_mul_pd(_mm256_sub_pd(_mm256_set1_pd(1.0), yv), p)));
                let wv = _mm256_mul_pd(_mm256_mul_pd(sv, p), q);
                let m = (rb - i).min(4);
                let pred = _mm256_and_pd(_mm256_cmp_pd::<_CMP_GT_OQ>(zv, zero), _mm256_set1_pd(1.0));
                let ok = _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_EQ_OQ>(pred, yv)) & ((1 << m) - 1);
                correct += ok.count_ones() as f64;
                let live = _mm256_castsi256_pd(_mm256_cmpgt_epi64(_mm256_set1_epi64x(m as i64), _mm256_setr_epi64x(0, 1, 2, 3)));
                lw4 = _mm256_fmadd_pd(sv, li, lw4);
                l4 = _mm256_add_pd(l4, _mm256_and_pd(li, live));
                sv4 = _mm256_add_pd(sv4, vv);
                sw4 = _mm256_add_pd(sw4, wv);
                // SAFETY: as for the loads.
                unsafe {
                    _mm256_storeu_pd(w.as_mut_ptr().add(i), wv);
                    _mm256_storeu_pd(v.as_mut_ptr().add(i), vv);
                }
            }
            loss_w += hsum(lw4);
            loss += hsum(l4);
            sum_v += hsum(sv4);
            sum_w += hsum(sw4);
            // Xᵀv (and Xᵀw) in f64: column groups outer, rows inner, the sums in registers (two rows per
            // step into separate accumulators, so the FMA latency is not on the critical path).
            // SAFETY: AVX2 and FMA are enabled in this function; slices are in bounds (checked in the helper).
            unsafe { accumulate_xt(xb, rb, d, &v[..rb], grad) };
            if !hessian {
                continue;
            }
            unsafe { accumulate_xt(xb, rb, d, &w[..rb], xw) };
            // The f32 panels of √w_i·x_i (the padding columns of the last panel are zero).
            for i in 0..rb {
                let xr = &xb[i * d..(i + 1) * d];
                let sw = w[i].max(0.0).sqrt() as f32;
                let swv = _mm256_set1_ps(sw);
                for p in 0..np {
                    let base = p * NR;
                    let dst = &mut pan[p * stride + i * NR..p * stride + (i + 1) * NR];
                    if base + NR <= d {
                        // SAFETY: sixteen f32 of the row from base, and the panel row holds NR = 16.
                        unsafe {
                            let s0 = xr.as_ptr().add(base);
                            _mm256_storeu_ps(dst.as_mut_ptr(), _mm256_mul_ps(swv, _mm256_loadu_ps(s0)));
                            _mm256_storeu_ps(dst.as_mut_ptr().add(8), _mm256_mul_ps(swv, _mm256_loadu_ps(s0.add(8))));
                        }
                    } else {
                        let n = d - base;
                        for l in 0..n {
                            dst[l] = sw * xr[base + l];
                        }
                        dst[n..].fill(0.0);
                    }
                }
            }
            // XᵀWX upper triangle: tiles of 4 rows × 16 columns reaching the triangle, f32 over the chunk.
            for p in 0..np {
                let apan = &pan[p * stride..p * stride + rb * NR];
                for q in 0..mp.min((p + 1) * (NR / MR)) {
                    let (bp, off) = (q / (NR / MR), (q % (NR / MR)) * MR);
                    // SAFETY: same level; panel slices hold rb rows of NR.
                    let acc = unsafe { tile_4x16(rb, &pan[bp * stride..bp * stride + rb * NR], off, apan) };
                    add_tile_upper(h, d, q, p, &acc);
                }
            }
        }
        out[OUT_LOSS_W] += loss_w;
        out[OUT_LOSS] += loss;
        out[OUT_CORRECT] += correct;
        out[OUT_GRAD + d] += sum_v;
        if hessian {
            out[OUT_GRAD + 2 * d + 1] += sum_w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_exp_and_log1p_match_libm() {
        unsafe { check_exp_log1p() }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn check_exp_log1p() {
        use std::arch::x86_64::*;
        let mut t = -750.0f64;
        while t <= 0.0 {
            let ts = [t, t * 0.5, t * 1e-3, t * 1e-9];
            let mut e = [0.0f64; 4];
            let mut l = [0.0f64; 4];
            unsafe {
                let ev = avx2::exp_nonpos(_mm256_loadu_pd(ts.as_ptr()));
                _mm256_storeu_pd(e.as_mut_ptr(), ev);
                _mm256_storeu_pd(l.as_mut_ptr(), avx2::log1p_unit(ev));
            }
            for k in 0..4 {
                let want = ts[k].exp();
                if ts[k] >= -708.0 {
                    assert!((e[k] - want).abs() <= 1e-15 * want, "exp({}) = {} vs {}", ts[k], e[k], want);
                } else {
                    assert!(e[k] == 0.0 && want < 3e-308);
                }
                let lw = e[k].ln_1p();
                assert!((l[k] - lw).abs() <= 1e-15 * lw, "log1p({}) = {} vs {}", e[k], l[k], lw);
            }
            t += 0.37;
        }
    }

    #[test]
    fn simd_matches_scalar_and_both_match_the_formulas() {
        for &cols in &[1usize, 3, 8, 9, 33] {
            for &rows in &[1usize, 7, 300] {
                let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 37) % 19) as f32 * 0.125 - 1.0).collect();
                let y: Vec<f64> = (0..rows).map(|i| (i % 3 == 0) as u8 as f64).collect();
                let s: Vec<f64> = (0..rows).map(|i| 0.5 + (i % 4) as f64).collect();
                let beta: Vec<f64> = (0..cols).map(|j| 0.3 - 0.05 * j as f64).collect();
                let n = out_len(cols);
                let (mut o1, mut o2) = (vec![0.0; n], vec![0.0; n]);
                let (mut z1, mut z2) = (vec![0.0; rows], vec![0.0; rows]);
                logistic_pass_scalar(LogisticArgs { x: &x, rows, cols, y: &y, s: Some(&s), beta: &beta, bias: -0.2, hessian: true, z: &mut z1, out: &mut o1 });
                unsafe {
                    logistic_pass_avx2(LogisticArgs { x: &x, rows, cols, y: &y, s: Some(&s), beta: &beta, bias: -0.2, hessian: true, z: &mut z2, out: &mut o2 })
                };
                // The count is discrete: a row whose z is zero to rounding may fall on either side.
                let near = z1.iter().filter(|z| z.abs() < 1e-9).count() as f64;
                assert!((o1[OUT_CORRECT] - o2[OUT_CORRECT]).abs() <= near);
                // f64 everywhere but the Hessian block, which the SIMD level sums in f32 over ≤ 256 rows.
                let h0 = OUT_GRAD + 2 * (cols + 1);
                let hscale = o1[h0..].iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
                for k in (0..n).filter(|&k| k != OUT_CORRECT) {
                    let tol = if k >= h0 { 2e-6 * hscale } else { 1e-11 * o1[k].abs().max(1.0) };
                    assert!((o1[k] - o2[k]).abs() <= tol, "out[{k}] {} vs {} (cols {cols}, rows {rows})", o1[k], o2[k]);
                }
                for i in 0..rows {
                    assert!((z1[i] - z2[i]).abs() <= 1e-12 * z1[i].abs().max(1.0));
                }
                // The formulas, term by term, for the loss and the intercept entries.
                let (mut lw, mut sv, mut sw) = (0.0, 0.0, 0.0);
                for i in 0..rows {
                    let zi: f64 = (0..cols).map(|j| x[i * cols + j] as f64 * beta[j]).sum::<f64>() - 0.2;
                    assert!((zi - z1[i]).abs() < 1e-12);
                    let p = 1.0 / (1.0 + (-zi).exp());
                    lw += s[i] * ((1.0 + zi.exp()).ln() - y[i] * zi);
                    sv += s[i] * (y[i] - p);
                    sw += s[i] * p * (1.0 - p);
                }
                assert!((lw - o1[OUT_LOSS_W]).abs() < 1e-9 * lw.abs());
                assert!((sv - o1[OUT_GRAD + cols]).abs() < 1e-9 * sv.abs().max(1.0));
                assert!((sw - o1[OUT_GRAD + 2 * cols + 1]).abs() < 1e-9 * sw);
            }
        }
    }
}

#[cfg(test)]
mod bench {
    use super::*;
    use crate::kernels::testutil::{bench_matrix, best_over_blocks};

    /// `cargo test --release bench_logistic -- --ignored --nocapture`: one thread, 200,000 × 32.
    #[test]
    #[ignore]
    fn bench_logistic() {
        let (rows, cols) = (200_000usize, 32usize);
        let x = bench_matrix(rows, cols);
        let y: Vec<f64> = (0..rows).map(|i| (i % 3 == 0) as u8 as f64).collect();
        let beta: Vec<f64> = (0..cols).map(|j| 0.1 - 0.01 * j as f64).collect();
        let mut z = vec![0.0; rows];
        let mut out = vec![0.0; out_len(cols)];
        for hessian in [false, true] {
            let best = best_over_blocks(10, rows, |r0, rb| unsafe {
                logistic_pass_avx2(LogisticArgs {
                    x: &x[r0 * cols..(r0 + rb) * cols],
                    rows: rb,
                    cols,
                    y: &y[r0..r0 + rb],
                    s: None,
                    beta: &beta,
                    bias: 0.1,
                    hessian,
                    z: &mut z[r0..r0 + rb],
                    out: &mut out,
                });
            });
            println!("hessian {hessian}: {:.2} ms ({:.1} ns/row)", best * 1e3, best * 1e9 / rows as f64);
        }
    }
}
