//! AVX-512 parts of the ALS conjugate-gradient products (als_cg_ops.rs) written with intrinsics, where LLVM's
//! vectorisation of the portable loops fell short: t = G·p with a 16-row reduction, and (YᵀY + λI)·p for four
//! rows. f32 with fused multiply-adds, the same summation order whatever the rows around them.

use super::als_cg_ops::GROUP;

/// t_q = y_q·p for 16 interactions at a time from the rows in order (n × k): each row's products summed over k in
/// one vector (16 partial sums), then the 16 vectors of a strip reduced together (three rounds of shuffles and
/// adds, about three operations per interaction). Costs k/16 + 3 vector operations per interaction and needs no
/// transposed copy, whose 16 × 16 shuffles and second set of stores cost more than the reduction.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::needless_range_loop)] // m indexes the accumulators and the rows alike
pub(super) unsafe fn dots_rows_avx512(rows: &[f32], n: usize, k: usize, p: &[f32], t: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!(rows.len() >= n * k && p.len() >= k && t.len() >= n.div_ceil(16) * 16);
    let (r, pp, tp) = (rows.as_ptr(), p.as_ptr(), t.as_mut_ptr());
    let k16 = k / 16 * 16;
    let tail: __mmask16 = ((1u32 << (k - k16)) - 1) as __mmask16;
    let mut q0 = 0;
    while q0 < n {
        let m_end = (n - q0).min(16);
        // SAFETY: rows q0..q0+m_end of `rows` (k values each), p (k values) and t[q0..q0+16] are in bounds
        // (asserted); the masked loads read only the k − k16 values left.
        unsafe {
            let mut acc = [_mm512_setzero_ps(); 16];
            let mut c0 = 0;
            while c0 < k16 {
                let pv = _mm512_loadu_ps(pp.add(c0));
                for m in 0..m_end {
                    acc[m] = _mm512_fmadd_ps(_mm512_loadu_ps(r.add((q0 + m) * k + c0)), pv, acc[m]);
                }
                c0 += 16;
            }
            if k16 < k {
                let pv = _mm512_maskz_loadu_ps(tail, pp.add(k16));
                for m in 0..m_end {
                    acc[m] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r.add((q0 + m) * k + k16)), pv, acc[m]);
                }
            }
            // Round 1: pairs (2i, 2i + 1) → per 128-bit lane [a0+a2, b0+b2, a1+a3, b1+b3] of each lane's four.
            let mut h = [_mm512_setzero_ps(); 8];
            for i in 0..8 {
                let (a, b) = (acc[2 * i], acc[2 * i + 1]);
                h[i] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
            }
            // Round 2: per 128-bit lane, the four lane sums of rows 4g..4g+4.
            let mut u = [_mm512_setzero_ps(); 4];
            for g in 0..4 {
                let (a, b) = (h[2 * g], h[2 * g + 1]);
                u[g] = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(a, b), _mm512_shuffle_ps::<0xEE>(a, b));
            }
            // Round 3: sum the four 128-bit lanes; lane g of the result holds rows 4g..4g+4.
            let w01 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[0], u[1]), _mm512_shuffle_f32x4::<0xEE>(u[0], u[1]));
            let w23 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[2], u[3]), _mm512_shuffle_f32x4::<0xEE>(u[2], u[3]));
            let sums = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(w01, w23), _mm512_shuffle_f32x4::<0xDD>(w01, w23));
            _mm512_storeu_ps(tp.add(q0), sums);
        }
        q0 += 16;
    }
}

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
