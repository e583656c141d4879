//! The register tiles of the f32-accumulation Gram mode (gram_f32.rs): each sums one tile of one block of
//! rows in f32 registers and adds it, widened, into its f64 accumulators; and the L2 prefetch of the next
//! block that they spread over their row loops.

/// The share of the next block's lines one tile fetches into L2, spread over the tile's row loop instead
/// of bursting (a burst of ~50 prefetches before each tile filled the miss queue and stalled). Row i
/// fetches line (i·step) >> 16 of the share (step = 2¹⁶·lines / rows): no branch in the FMA loop (a branch
/// there made LLVM spill an AVX2 accumulator); the repeats of a line cost a load slot, not memory traffic.
#[derive(Clone, Copy)]
pub(super) struct Pf {
    pub(super) p: *const f32,
    pub(super) step: usize,
}

impl Pf {
    #[inline(always)]
    pub(super) fn row(self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch never faults, whatever the address; the lines are inside `x` or just past it.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(self.p.wrapping_add(((i * self.step) >> 16) * 16).cast())
        };
    }
}

/// p[0..16] += v, widened to f64: how every AVX-512 tile flushes one f32 register row into its accumulators.
///
/// # Safety
/// AVX-512 F/DQ; p points at 16 writable f64.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn add_widened16(p: *mut f64, v: std::arch::x86_64::__m512) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract.
    unsafe {
        let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
        let hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(v));
        _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), lo));
        _mm512_storeu_pd(p.add(8), _mm512_add_pd(_mm512_loadu_pd(p.add(8)), hi));
    }
}

/// p[0..8] += v, widened to f64: the AVX2 tiles' flush of one register row.
///
/// # Safety
/// AVX2; p points at 8 writable f64.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn add_widened8(p: *mut f64, v: std::arch::x86_64::__m256) {
    use std::arch::x86_64::*;
    // SAFETY: the caller's contract.
    unsafe {
        let lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
        let hi = _mm256_cvtps_pd(_mm256_extractf128_ps::<1>(v));
        _mm256_storeu_pd(p, _mm256_add_pd(_mm256_loadu_pd(p), lo));
        _mm256_storeu_pd(p.add(4), _mm256_add_pd(_mm256_loadu_pd(p.add(4)), hi));
    }
}

/// 16 × 16 tile: sixteen zmm accumulators, one zmm of `a` per row and each `b` value broadcast from memory
/// into its FMA (Zen 4 splits 512-bit FMAs in two halves, so the gain is the register count, which lets a
/// row of `a` serve sixteen FMAs for one load).
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub(super) unsafe fn tile_16x16_avx512(rb: usize, b: &[f32], a: &[f32], wd: usize, acc: &mut [f64], pf: Pf) {
    use std::arch::x86_64::*;
    assert!(rb >= 1 && b.len() >= (rb - 1) * wd + 16 && a.len() >= (rb - 1) * wd + 16 && acc.len() >= 256);
    let mut c = [_mm512_setzero_ps(); 16];
    for i in 0..rb {
        pf.row(i);
        // SAFETY: row i of both panels is in bounds (asserted above).
        unsafe {
            let av = _mm512_loadu_ps(a.as_ptr().add(i * wd));
            let br = b.as_ptr().add(i * wd);
            for (r, cr) in c.iter_mut().enumerate() {
                *cr = _mm512_fmadd_ps(_mm512_set1_ps(*br.add(r)), av, *cr);
            }
        }
    }
    for (r, &v) in c.iter().enumerate() {
        // SAFETY: acc holds 16 × 16 f64 (asserted).
        unsafe { add_widened16(acc.as_mut_ptr().add(r * 16), v) };
    }
}

/// A diagonal 16 × 16 tile (q = p): rows 0–7 need all sixteen columns (zmm), rows 8–15 only columns 8–15
/// (the upper ymm of the row; its lower half is below the diagonal), so those run as ymm FMAs, which Zen 4
/// issues two per cycle: 12 cycles a row instead of 16. acc's cells below the diagonal are left as they are.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub(super) unsafe fn tile_diag_16_avx512(rb: usize, b: &[f32], a: &[f32], wd: usize, acc: &mut [f64], pf: Pf) {
    use std::arch::x86_64::*;
    assert!(rb >= 1 && b.len() >= (rb - 1) * wd + 16 && a.len() >= (rb - 1) * wd + 16 && acc.len() >= 256);
    let mut c = [_mm512_setzero_ps(); 8];
    let mut h = [_mm256_setzero_ps(); 8];
    for i in 0..rb {
        pf.row(i);
        // SAFETY: row i of both panels is in bounds (asserted above).
        unsafe {
            let av = _mm512_loadu_ps(a.as_ptr().add(i * wd));
            let ah = _mm256_loadu_ps(a.as_ptr().add(i * wd + 8));
            let br = b.as_ptr().add(i * wd);
            for (r, cr) in c.iter_mut().enumerate() {
                *cr = _mm512_fmadd_ps(_mm512_set1_ps(*br.add(r)), av, *cr);
            }
            for (r, hr) in h.iter_mut().enumerate() {
                *hr = _mm256_fmadd_ps(_mm256_set1_ps(*br.add(8 + r)), ah, *hr);
            }
        }
    }
    for (r, &v) in c.iter().enumerate() {
        // SAFETY: acc holds 16 × 16 f64 (asserted).
        unsafe { add_widened16(acc.as_mut_ptr().add(r * 16), v) };
    }
    for (r, &v) in h.iter().enumerate() {
        // SAFETY: as above; row 8 + r, columns 8–15.
        unsafe {
            let p = acc.as_mut_ptr().add((8 + r) * 16 + 8);
            _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), _mm512_cvtps_pd(v)));
        }
    }
}

/// A diagonal 16 × 16 tile of an unsplit block (both sides the same row x): nine zmm FMAs a row instead of
/// twelve, x ⊙ rot_k(x) for k = 0..=8 (rot_k a lane rotation, which LLVM emits as vpermps / vpermpd / vshuff64x2), which cover every pair
/// {j, j'} of the tile's 136 once (k = 8 twice). Each product is the same f32 product x_j·x_j' summed over
/// the same rows in the same order as in the broadcast tiles, so the sums have the same bits; only the
/// place they are kept differs (acc's rotated layout, 9 × 16 f64, see `unrotate`).
/// With V it also sums Σ v_i·x_i over the panel's columns (one more FMA a row, `v` the block's v in f32)
/// into a tenth row of 16 f64 after the rotated ones, and with S Σ x_i (one add a row) into an eleventh:
/// Xᵀv and the column sums then cost no pass of their own over the block.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub(super) unsafe fn tile_diag_rot_avx512<const V: bool, const S: bool>(rb: usize, a: &[f32], wd: usize, acc: &mut [f64], pf: Pf, v: &[f32]) {
    use std::arch::x86_64::*;
    assert!(rb >= 1 && a.len() >= (rb - 1) * wd + 16 && acc.len() >= 11 * 16 && (!V || v.len() >= rb));
    let mut c = [_mm512_setzero_ps(); 9];
    let mut t = _mm512_setzero_ps();
    let mut u = _mm512_setzero_ps();
    let vp = v.as_ptr();
    for i in 0..rb {
        pf.row(i);
        // SAFETY: row i of the panel is in bounds (asserted above), and v[i] when V.
        unsafe {
            let v = _mm512_loadu_ps(a.as_ptr().add(i * wd));
            let vi = _mm512_castps_si512(v);
            c[0] = _mm512_fmadd_ps(v, v, c[0]);
            c[1] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<1>(vi, vi)), c[1]);
            c[2] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<2>(vi, vi)), c[2]);
            c[3] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<3>(vi, vi)), c[3]);
            c[4] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<4>(vi, vi)), c[4]);
            c[5] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<5>(vi, vi)), c[5]);
            c[6] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<6>(vi, vi)), c[6]);
            c[7] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<7>(vi, vi)), c[7]);
            c[8] = _mm512_fmadd_ps(v, _mm512_castsi512_ps(_mm512_alignr_epi32::<8>(vi, vi)), c[8]);
            if V {
                t = _mm512_fmadd_ps(_mm512_set1_ps(*vp.add(i)), v, t);
            }
            if S {
                u = _mm512_add_ps(u, v);
            }
        }
    }
    for (r, &v) in c.iter().enumerate() {
        // SAFETY: acc holds 11 × 16 f64 (asserted).
        unsafe { add_widened16(acc.as_mut_ptr().add(r * 16), v) };
    }
    if V {
        // SAFETY: as above, the tenth row.
        unsafe { add_widened16(acc.as_mut_ptr().add(9 * 16), t) };
    }
    if S {
        // SAFETY: as above, the eleventh row.
        unsafe { add_widened16(acc.as_mut_ptr().add(10 * 16), u) };
    }
}

/// 8 × 8 tile: eight ymm accumulators, one ymm of `a` per row and each `b` value broadcast from memory into
/// its FMA. Square tiles on the diagonal line up with the column panels, so no row tile straddles the
/// diagonal (the 6 × 16 tiles this replaced computed 336 ymm FMAs a row at 64 columns, these 264 with
/// `tile_diag_rot_avx2`, of 260 for the upper triangle).
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile_8x8_avx2(rb: usize, b: &[f32], a: &[f32], wd: usize, acc: &mut [f64], pf: Pf) {
    use std::arch::x86_64::*;
    assert!(rb >= 1 && b.len() >= (rb - 1) * wd + 8 && a.len() >= (rb - 1) * wd + 8 && acc.len() >= 64);
    let mut c = [_mm256_setzero_ps(); 8];
    for i in 0..rb {
        pf.row(i);
        // SAFETY: row i of both panels is in bounds (asserted above).
        unsafe {
            let av = _mm256_loadu_ps(a.as_ptr().add(i * wd));
            let br = b.as_ptr().add(i * wd);
            for (r, cr) in c.iter_mut().enumerate() {
                *cr = _mm256_fmadd_ps(_mm256_broadcast_ss(&*br.add(r)), av, *cr);
            }
        }
    }
    for (r, &v) in c.iter().enumerate() {
        // SAFETY: acc holds the tile's rows of 8 f64 (asserted).
        unsafe { add_widened8(acc.as_mut_ptr().add(r * 8), v) };
    }
}

/// The AVX2 twin of `tile_diag_rot_avx512` on 8 columns: x ⊙ rot_k(x), k = 0..=4, five ymm FMAs a row
/// instead of eight (rot_k by `vpermps`), the same products over the same rows in the same order; with V,
/// Σ v_i·x_i into a sixth row of 8 f64 and with S Σ x_i into a seventh, as the AVX-512 tile does.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn tile_diag_rot_avx2<const V: bool, const S: bool>(rb: usize, a: &[f32], wd: usize, acc: &mut [f64], pf: Pf, v: &[f32]) {
    use std::arch::x86_64::*;
    assert!(rb >= 1 && a.len() >= (rb - 1) * wd + 8 && acc.len() >= 7 * 8 && (!V || v.len() >= rb));
    let idx = [
        _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 0),
        _mm256_setr_epi32(2, 3, 4, 5, 6, 7, 0, 1),
        _mm256_setr_epi32(3, 4, 5, 6, 7, 0, 1, 2),
        _mm256_setr_epi32(4, 5, 6, 7, 0, 1, 2, 3),
    ];
    let mut c = [_mm256_setzero_ps(); 5];
    let mut t = _mm256_setzero_ps();
    let mut u = _mm256_setzero_ps();
    let vp = v.as_ptr();
    for i in 0..rb {
        pf.row(i);
        // SAFETY: row i of the panel is in bounds (asserted above), and v[i] when V.
        unsafe {
            let v = _mm256_loadu_ps(a.as_ptr().add(i * wd));
            c[0] = _mm256_fmadd_ps(v, v, c[0]);
            for (cr, &ix) in c[1..].iter_mut().zip(&idx) {
                *cr = _mm256_fmadd_ps(v, _mm256_permutevar8x32_ps(v, ix), *cr);
            }
            if V {
                t = _mm256_fmadd_ps(_mm256_broadcast_ss(&*vp.add(i)), v, t);
            }
            if S {
                u = _mm256_add_ps(u, v);
            }
        }
    }
    for (r, &v) in c.iter().enumerate() {
        // SAFETY: acc holds the tile's rows of 8 f64 (asserted).
        unsafe { add_widened8(acc.as_mut_ptr().add(r * 8), v) };
    }
    if V {
        // SAFETY: as above, the sixth row.
        unsafe { add_widened8(acc.as_mut_ptr().add(5 * 8), t) };
    }
    if S {
        // SAFETY: as above, the seventh row.
        unsafe { add_widened8(acc.as_mut_ptr().add(6 * 8), u) };
    }
}
