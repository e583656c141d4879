//! AVX-512 parts of the ALS conjugate-gradient products (als_cg_ops.rs) written with intrinsics, where LLVM's
//! vectorisation of the portable loops fell short: a row's Σ_q s_q y_q with s_q from t_q = y_q·p, fused per strip
//! of 16 interactions (the dot products with a 16-row reduction, the weights, then the scaled rows while they are
//! in L1), reading the factor rows gathered or in place; and (YᵀY + λI)·p for four rows. f32 with fused
//! multiply-adds, the same summation order whatever the rows around them.

use super::als_cg_ops::GROUP;

/// The YᵀY·p + λp part of `multi_apply` for the first k/16·16 outputs of each group row, in registers: 32 (or
/// 16) outputs of all four rows per pass over YᵀY's rows, so each YᵀY vector is loaded once for four FMAs.
/// Same arithmetic as the portable loop (λp rounded, then one fused multiply-add per c in c order).
/// Returns how many outputs it wrote.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::needless_range_loop)] // j indexes the accumulators and the rows of ps alike
pub(super) unsafe fn yty_apply_avx512(yty: &[f32], k: usize, lams: &[f32; GROUP], ps: &[f32], out: &mut [f32], g: usize) -> usize {
    use std::arch::x86_64::*;
    assert!(yty.len() >= k * k && ps.len() >= GROUP * k && out.len() >= g * k && g <= GROUP);
    let (y, p, o) = (yty.as_ptr(), ps.as_ptr(), out.as_mut_ptr());
    let mut r0 = 0;
    // SAFETY (both loops): r0 + 32 (or 16) ≤ k and c < k, so every load is inside yty (k × k) or a row of ps
    // (GROUP × k), every store inside the first g rows of out (asserted lengths).
    while r0 + 32 <= k {
        unsafe {
            let mut lo = [_mm512_setzero_ps(); GROUP];
            let mut hi = [_mm512_setzero_ps(); GROUP];
            for j in 0..GROUP {
                let lam = _mm512_set1_ps(lams[j]);
                lo[j] = _mm512_mul_ps(lam, _mm512_loadu_ps(p.add(j * k + r0)));
                hi[j] = _mm512_mul_ps(lam, _mm512_loadu_ps(p.add(j * k + r0 + 16)));
            }
            for c in 0..k {
                let (r_lo, r_hi) = (_mm512_loadu_ps(y.add(c * k + r0)), _mm512_loadu_ps(y.add(c * k + r0 + 16)));
                for j in 0..GROUP {
                    let pc = _mm512_set1_ps(*p.add(j * k + c));
                    lo[j] = _mm512_fmadd_ps(pc, r_lo, lo[j]);
                    hi[j] = _mm512_fmadd_ps(pc, r_hi, hi[j]);
                }
            }
            for j in 0..g {
                _mm512_storeu_ps(o.add(j * k + r0), lo[j]);
                _mm512_storeu_ps(o.add(j * k + r0 + 16), hi[j]);
            }
        }
        r0 += 32;
    }
    while r0 + 16 <= k {
        unsafe {
            let mut acc = [_mm512_setzero_ps(); GROUP];
            for j in 0..GROUP {
                acc[j] = _mm512_mul_ps(_mm512_set1_ps(lams[j]), _mm512_loadu_ps(p.add(j * k + r0)));
            }
            for c in 0..k {
                let row = _mm512_loadu_ps(y.add(c * k + r0));
                for j in 0..GROUP {
                    acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(*p.add(j * k + c)), row, acc[j]);
                }
            }
            for j in 0..g {
                _mm512_storeu_ps(o.add(j * k + r0), acc[j]);
            }
        }
        r0 += 16;
    }
    r0
}

/// t_q = y_q·p for the 16 interactions of a strip (`rp`: where each row of k values starts), as
/// summed over k in one vector per row (16 partial sums), then the 16 vectors reduced together (three rounds
/// of shuffles and adds, about three operations per interaction; no transposed copy needed). With `FULL` false only the first m_end rows are read: the others' loads are
/// masked off and their lanes are 0. A loop over all 16 keeps the accumulators in registers (a loop to m_end kept
/// them on the stack, a load and a store per FMA).
///
/// # Safety
/// The CPU must support AVX-512 F; rows 0..m_end (16 when `FULL`) and p (k values) must be readable.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // m indexes the accumulators and the rows alike
unsafe fn strip_dots<const FULL: bool>(rp: &[*const f32; 16], k: usize, pp: *const f32, m_end: usize) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    let k16 = k / 16 * 16;
    let tail: __mmask16 = ((1u32 << (k - k16)) - 1) as __mmask16;
    let rm = |m: usize| -> __mmask16 { if FULL || m < m_end { 0xFFFF } else { 0 } };
    // SAFETY: the caller's contract; masked-off lanes are not read.
    unsafe {
        let mut acc = [_mm512_setzero_ps(); 16];
        let mut c0 = 0;
        while c0 < k16 {
            let pv = _mm512_loadu_ps(pp.add(c0));
            for m in 0..16 {
                let at = rp[m].add(c0);
                let row = if FULL { _mm512_loadu_ps(at) } else { _mm512_maskz_loadu_ps(rm(m), at) };
                acc[m] = _mm512_fmadd_ps(row, pv, acc[m]);
            }
            c0 += 16;
        }
        if k16 < k {
            let pv = _mm512_maskz_loadu_ps(tail, pp.add(k16));
            for m in 0..16 {
                acc[m] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail & rm(m), rp[m].add(k16)), pv, acc[m]);
            }
        }
        let mut h = [_mm512_setzero_ps(); 8];
        for i in 0..8 {
            let (a, b) = (acc[2 * i], acc[2 * i + 1]);
            h[i] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        }
        let mut u = [_mm512_setzero_ps(); 4];
        for g in 0..4 {
            let (a, b) = (h[2 * g], h[2 * g + 1]);
            u[g] = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(a, b), _mm512_shuffle_ps::<0xEE>(a, b));
        }
        let w01 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[0], u[1]), _mm512_shuffle_f32x4::<0xEE>(u[0], u[1]));
        let w23 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[2], u[3]), _mm512_shuffle_f32x4::<0xEE>(u[2], u[3]));
        _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(w01, w23), _mm512_shuffle_f32x4::<0xDD>(w01, w23))
    }
}

/// Where an interaction's other-side factor row lies: gathered in order (`rows`, n × k), or read in place from
/// Y through the row's indices.
#[derive(Clone, Copy)]
pub(super) enum RowsAt<'a> {
    Gathered(&'a [f32]),
    InPlace { y: &'a [f32], idx: &'a [i32] },
}

/// o += Σ_q s_q y_q for one row's n interactions, with t_q = y_q·p and s_q = α r_q t_q (or, with `minus_b`,
/// α r_q t_q − (1 + α r_q)), a strip of 16 interactions at a time: the strip's dot products (`strip_dots`), its
/// weights in one vector, then its 16 scaled rows added to o while they are still in L1. Done as two passes over
/// the whole row, the second pass re-read every row from L2 (a group's gathered rows outgrow L1 at a hundred
/// interactions). A row's summation order depends on its own length only (o summed over the strips in order,
/// each strip's interactions in two chains, even and odd, added at its end), never on where its rows are read.
///
/// # Safety
/// The CPU must support AVX-512 F; with `RowsAt::InPlace`, idx holds n values and each is a row of y.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn apply_rows_avx512(src: RowsAt<'_>, n: usize, k: usize, p: &[f32], val: &[f32], alpha: f32, minus_b: bool, o: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!(p.len() >= k && o.len() >= k && val.len() >= n);
    match src {
        RowsAt::Gathered(rows) => assert!(rows.len() >= n * k),
        // Checked once per call by the caller (see the safety contract), not once per product.
        RowsAt::InPlace { y, idx } => debug_assert!(idx.len() >= n && idx[..n].iter().all(|&i| i >= 0 && (i as usize + 1) * k <= y.len())),
    }
    let row = |q: usize| -> *const f32 {
        match src {
            RowsAt::Gathered(rows) => rows[q * k..].as_ptr(),
            // SAFETY: idx[q] is a row of y (the caller's contract).
            RowsAt::InPlace { y, idx } => unsafe { y.as_ptr().add(*idx.get_unchecked(q) as usize * k) },
        }
    };
    let (pp, op, vp) = (p.as_ptr(), o.as_mut_ptr(), val.as_ptr());
    let k16 = k / 16 * 16;
    let tail: __mmask16 = ((1u32 << (k - k16)) - 1) as __mmask16;
    let va = _mm512_set1_ps(alpha);
    let one = _mm512_set1_ps(1.0);
    let mut q0 = 0;
    while q0 < n {
        let m_end = (n - q0).min(16);
        let live: __mmask16 = ((1u32 << m_end) - 1) as __mmask16;
        // Rows past the end point at the strip's first (their loads are masked off).
        let mut rp = [row(q0); 16];
        let mut m = 1;
        while m < m_end {
            rp[m] = row(q0 + m);
            m += 1;
        }
        // SAFETY: the strip's rows (k values each, asserted), p and o (k values), val[q0..q0+m_end] are in bounds
        // (asserted); masked loads and stores touch only the lanes inside.
        unsafe {
            let t = if m_end == 16 { strip_dots::<true>(&rp, k, pp, 16) } else { strip_dots::<false>(&rp, k, pp, m_end) };
            // The weights: w = α r, then s = w t (or w t − (1 + w)), as the portable `weights` computes them.
            let w = _mm512_mul_ps(va, _mm512_maskz_loadu_ps(live, vp.add(q0)));
            let s = if minus_b { _mm512_fmadd_ps(w, t, _mm512_sub_ps(_mm512_setzero_ps(), _mm512_add_ps(one, w))) } else { _mm512_mul_ps(t, w) };
            let mut sv = [0.0f32; 16];
            _mm512_storeu_ps(sv.as_mut_ptr(), s);
            match k {
                16 => sum_strip::<1>(&rp, &sv, m_end, op),
                32 => sum_strip::<2>(&rp, &sv, m_end, op),
                48 => sum_strip::<3>(&rp, &sv, m_end, op),
                64 => sum_strip::<4>(&rp, &sv, m_end, op),
                80 => sum_strip::<5>(&rp, &sv, m_end, op),
                96 => sum_strip::<6>(&rp, &sv, m_end, op),
                112 => sum_strip::<7>(&rp, &sv, m_end, op),
                128 => sum_strip::<8>(&rp, &sv, m_end, op),
                _ => {
                    let mut c0 = 0;
                    while c0 < k {
                        let mask: __mmask16 = if c0 + 16 <= k { 0xFFFF } else { tail };
                        let mut a0 = _mm512_maskz_loadu_ps(mask, op.add(c0));
                        let mut a1 = _mm512_setzero_ps();
                        let mut m = 0;
                        while m + 2 <= m_end {
                            a0 = _mm512_fmadd_ps(_mm512_set1_ps(sv[m]), _mm512_maskz_loadu_ps(mask, rp[m].add(c0)), a0);
                            a1 = _mm512_fmadd_ps(_mm512_set1_ps(sv[m + 1]), _mm512_maskz_loadu_ps(mask, rp[m + 1].add(c0)), a1);
                            m += 2;
                        }
                        if m < m_end {
                            a0 = _mm512_fmadd_ps(_mm512_set1_ps(sv[m]), _mm512_maskz_loadu_ps(mask, rp[m].add(c0)), a0);
                        }
                        _mm512_mask_storeu_ps(op.add(c0), mask, _mm512_add_ps(a0, a1));
                        c0 += 16;
                    }
                }
            }
        }
        q0 += 16;
    }
}

/// o[..16·NB] += Σ_{m < m_end} s_m·row_m for one strip: o's NB vectors in registers, the interactions in the
/// outer loop in two chains (even and odd m, added at the end), so every FMA of an interaction is independent of
/// the others (a loop over o's vectors outside held one vector's 16 dependent FMAs, four cycles each, at a time).
/// Same order as the generic loop in `apply_rows_avx512` (even and odd chains per vector, then their sum).
///
/// # Safety
/// The CPU must support AVX-512 F; rows 0..m_end of `rp` and o hold 16·NB values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
#[allow(clippy::needless_range_loop)] // b indexes both chains' vectors and the rows alike
unsafe fn sum_strip<const NB: usize>(rp: &[*const f32; 16], sv: &[f32; 16], m_end: usize, op: *mut f32) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract.
    unsafe {
        let mut a0 = [_mm512_setzero_ps(); NB];
        let mut a1 = [_mm512_setzero_ps(); NB];
        for (b, a) in a0.iter_mut().enumerate() {
            *a = _mm512_loadu_ps(op.add(16 * b));
        }
        let mut m = 0;
        while m + 2 <= m_end {
            let (s0, s1) = (_mm512_set1_ps(sv[m]), _mm512_set1_ps(sv[m + 1]));
            for b in 0..NB {
                a0[b] = _mm512_fmadd_ps(s0, _mm512_loadu_ps(rp[m].add(16 * b)), a0[b]);
                a1[b] = _mm512_fmadd_ps(s1, _mm512_loadu_ps(rp[m + 1].add(16 * b)), a1[b]);
            }
            m += 2;
        }
        if m < m_end {
            let s0 = _mm512_set1_ps(sv[m]);
            for b in 0..NB {
                a0[b] = _mm512_fmadd_ps(s0, _mm512_loadu_ps(rp[m].add(16 * b)), a0[b]);
            }
        }
        for b in 0..NB {
            _mm512_storeu_ps(op.add(16 * b), _mm512_add_ps(a0[b], a1[b]));
        }
    }
}

/// Σ a·b over n f32 values in f64, as the portable `dot64` sums it: lane l of eight sums elements l, l + 8, …
/// in order (a fused multiply-add changes nothing here: the product of two f32 is exact in f64), the lanes in
/// the same tree, then the tail. LLVM vectorised the portable loop two doubles wide with scalar conversions,
/// which at k = 128 made the CG scalars a fifth of a short-rowed half-step (ml-latest-small's items).
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
pub(super) unsafe fn dot64_avx512(a: &[f32], b: &[f32]) -> f64 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let n8 = n / 8 * 8;
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut v = [0.0f64; 8];
    // SAFETY: i + 8 ≤ n8 ≤ the length of both slices.
    unsafe {
        let mut acc = _mm512_setzero_pd();
        let mut i = 0;
        while i < n8 {
            acc = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_loadu_ps(pa.add(i))), _mm512_cvtps_pd(_mm256_loadu_ps(pb.add(i))), acc);
            i += 8;
        }
        _mm512_storeu_pd(v.as_mut_ptr(), acc);
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for j in n8..n {
        s += f64::from(a[j]) * f64::from(b[j]);
    }
    s
}

/// o = o + s·v, a product then a sum as the portable `axpy` rounds them, sixteen lanes at a time.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
pub(super) unsafe fn axpy_avx512(o: &mut [f32], s: f32, v: &[f32]) {
    use std::arch::x86_64::*;
    let n = o.len().min(v.len());
    let n16 = n / 16 * 16;
    let sv = _mm512_set1_ps(s);
    let (po, pv) = (o.as_mut_ptr(), v.as_ptr());
    let mut i = 0;
    // SAFETY: i + 16 ≤ n16 ≤ the length of both slices.
    unsafe {
        while i < n16 {
            _mm512_storeu_ps(po.add(i), _mm512_add_ps(_mm512_loadu_ps(po.add(i)), _mm512_mul_ps(sv, _mm512_loadu_ps(pv.add(i)))));
            i += 16;
        }
    }
    for j in n16..n {
        o[j] += s * v[j];
    }
}

/// p = r + β·p, rounded as the portable loop, sixteen lanes at a time.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
pub(super) unsafe fn direction_avx512(p: &mut [f32], r: &[f32], beta: f32) {
    use std::arch::x86_64::*;
    let n = p.len().min(r.len());
    let n16 = n / 16 * 16;
    let bv = _mm512_set1_ps(beta);
    let (pp, pr) = (p.as_mut_ptr(), r.as_ptr());
    let mut i = 0;
    // SAFETY: i + 16 ≤ n16 ≤ the length of both slices.
    unsafe {
        while i < n16 {
            _mm512_storeu_ps(pp.add(i), _mm512_add_ps(_mm512_loadu_ps(pr.add(i)), _mm512_mul_ps(bv, _mm512_loadu_ps(pp.add(i)))));
            i += 16;
        }
    }
    for j in n16..n {
        p[j] = r[j] + beta * p[j];
    }
}
