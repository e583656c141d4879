//! Weighted, optionally centred Gram accumulation over a block of rows, all in f64:
//! g[a,b] += Σ_i w_i (x_ia − c_a)(x_ib − c_b) for b ≥ a (the lower triangle is never written) and
//! xty[a] += Σ_i v_i (x_ia − c_a), and optionally sums[a] += Σ_i w_i (x_ia − c_a) (what a fit centred on
//! a shift c needs to correct to the true mean in the same pass). SIMD levels widen a block of rows into f64 scratch (centred; the weight
//! applied to one copy), then: up to SYRK_MAX_COLS columns, a hand-written upper-triangle kernel over
//! packed panels; wider, faer's triangular f64 GEMM. Tails: the last panel is zero-padded.
//!
//! Why a hand-written kernel: for the common narrow case (tens of columns, millions of rows) faer's
//! triangular GEMM reaches ~30 GFLOP/s here and the separate widening passes add ~15 %; a 4×8 register
//! tile over panels packed during the widening itself runs at ~80 % of the f64 FMA peak. Past a few
//! hundred columns the panels outgrow L2 and faer's cache blocking wins, so it keeps those. At the AVX-512
//! level the same panels go through 8 × 16 tiles (16 zmm accumulators), with the same sums bit for bit: on an AMD EPYC (Zen 4, avx512f)
//! the Gram pass of 1M × 64 took 57 ms with them against 62 ms with the 4 × 8 tiles (2 threads).


use super::scratch::{self, Scratch};

/// Widest input the packed kernel takes: its two packed copies of a row block stay within L2.
const SYRK_MAX_COLS: usize = 128;
/// Rows per packed block: 256 × 128 columns × 8 bytes × 2 copies = 512 KiB at the widest.
const SYRK_ROWS: usize = 256;
/// Register tile of the packed kernel: MR rows of g (weighted side, broadcast) × NR columns (two ymm).
const MR: usize = 4;
const NR: usize = 8;

/// Rows per faer call (wide inputs): the depth its microkernels work through at a time.
const ROW_BLOCK: usize = 512;

pub struct GramArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub w: Option<&'a [f64]>,
    pub center: Option<&'a [f64]>,
    pub v: Option<&'a [f64]>,
    pub g: &'a mut [f64],
    pub xty: Option<&'a mut [f64]>,
    /// Accumulates Σ_i w_i (x_i − c) when given.
    pub sums: Option<&'a mut [f64]>,
}

/// Scalar twin: the reference's order, one row at a time into the upper triangle.
pub fn gram_f64_scalar(a: GramArgs<'_>) {
    let GramArgs {
        x,
        rows,
        cols,
        w,
        center,
        v,
        g,
        mut xty,
        mut sums,
    } = a;
    for i in 0..rows {
        let xr = &x[i * cols..(i + 1) * cols];
        let c = |d: usize| xr[d] as f64 - center.map_or(0.0, |c| c[d]);
        let wi = w.map_or(1.0, |w| w[i]);
        for p in 0..cols {
            let wa = wi * c(p);
            let gr = &mut g[p * cols..(p + 1) * cols];
            for (q, gv) in gr.iter_mut().enumerate().skip(p) {
                *gv += wa * c(q);
            }
        }
        if let (Some(v), Some(xty)) = (v, xty.as_deref_mut()) {
            for (p, t) in xty[..cols].iter_mut().enumerate() {
                *t += v[i] * c(p);
            }
        }
        if let Some(s) = sums.as_deref_mut() {
            for (p, t) in s[..cols].iter_mut().enumerate() {
                *t += wi * c(p);
            }
        }
    }
}

#[inline(always)]
fn body(a: GramArgs<'_>, wide: bool) {
    if a.rows == 0 || a.cols == 0 {
        return;
    }
    if a.cols <= SYRK_MAX_COLS {
        // SAFETY: only reached from the AVX2 / AVX-512 entry points below (`wide`: the AVX-512 one).
        unsafe { body_packed(a, wide) }
    } else {
        body_faer(a, wide)
    }
}

/// The packing's destinations and running sums, shared by its two levels.
struct PackOut<'a> {
    ap: &'a mut [f64],
    wp: &'a mut [f64],
    stride: usize,
    xv: &'a mut [f64],
    xs: Option<&'a mut [f64]>,
}

/// Row i's weight forms (see `pack_block`): (scale of `ap`, scale of `wp`, v_i, w_i).
#[inline(always)]
fn row_scales(w: Option<&[f64]>, split: bool, v: Option<&[f64]>, i: usize) -> (f64, f64, f64, f64) {
    let (sa, sw) = match w {
        None => (1.0, 1.0),
        Some(w) if split => (1.0, w[i]),
        Some(w) => (w[i].sqrt(), 1.0),
    };
    (sa, sw, v.map_or(0.0, |v| v[i]), w.map_or(1.0, |w| w[i]))
}

/// Row i's last, partial panel (columns full·NR .. d), zero-padded: the same operations as the whole panels.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack_tail(xr: &[f32], d: usize, cz: &[f64], i: usize, (sa, sw, vi, wi): (f64, f64, f64, f64), split: bool, has_v: bool, o: &mut PackOut<'_>) {
    let base = d / NR * NR;
    if base == d {
        return;
    }
    let mut vals = [0.0f64; NR];
    for l in 0..d - base {
        vals[l] = xr[base + l] as f64 - cz[base + l];
    }
    if has_v {
        let acc = &mut o.xv[base..base + NR];
        for l in 0..NR {
            acc[l] += vi * vals[l];
        }
    }
    if let Some(xs) = o.xs.as_deref_mut() {
        for l in 0..d - base {
            xs[base + l] += wi * vals[l];
        }
    }
    let at = base / NR * o.stride + i * NR;
    let dst = &mut o.ap[at..at + NR];
    for l in 0..NR {
        dst[l] = sa * vals[l];
    }
    if split {
        let dst = &mut o.wp[at..at + NR];
        for l in 0..NR {
            dst[l] = sw * vals[l];
        }
    }
}

/// One row block widened into panels of NR columns (rb × NR each, `stride` apart; the last panel padded
/// with zero columns), with xv += Σ v_i A_i on the way (A = x − c). Two forms of the weight:
/// - `split` false: `ap` holds √w_i·A_i and serves both sides of the product (weights are ≥ 0);
/// - `split` true: `ap` holds A_i and `wp` holds w_i·A_i (some weight is negative, or not a number).
#[target_feature(enable = "avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_block(x: &[f32], rb: usize, d: usize, cz: &[f64], w: Option<&[f64]>, split: bool, v: Option<&[f64]>, o: &mut PackOut<'_>) {
    use std::arch::x86_64::*;
    let full = d / NR;
    for i in 0..rb {
        let xr = &x[i * d..(i + 1) * d];
        let sc = row_scales(w, split, v, i);
        let (sav, swv, viv, wiv) = (_mm256_set1_pd(sc.0), _mm256_set1_pd(sc.1), _mm256_set1_pd(sc.2), _mm256_set1_pd(sc.3));
        // Whole panels: eight f32 widened to two ymm of f64 (the compiler's own version of this
        // loop went element by element).
        for p in 0..full {
            let base = p * NR;
            let at = p * o.stride + i * NR;
            assert!(base + NR <= xr.len() && base + NR <= cz.len() && base + NR <= o.xv.len() && at + NR <= o.ap.len());
            assert!(!split || at + NR <= o.wp.len());
            // SAFETY: every pointer below covers NR elements inside its slice (asserted above).
            unsafe {
                let lo = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(xr.as_ptr().add(base))), _mm256_loadu_pd(cz.as_ptr().add(base)));
                let hi = _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(xr.as_ptr().add(base + 4))), _mm256_loadu_pd(cz.as_ptr().add(base + 4)));
                if v.is_some() {
                    let t = o.xv.as_mut_ptr().add(base);
                    // acc + vi·val with the product rounded first, like the scalar twin's `+= vi * val`.
                    _mm256_storeu_pd(t, _mm256_add_pd(_mm256_loadu_pd(t), _mm256_mul_pd(viv, lo)));
                    _mm256_storeu_pd(t.add(4), _mm256_add_pd(_mm256_loadu_pd(t.add(4)), _mm256_mul_pd(viv, hi)));
                }
                if let Some(xs) = o.xs.as_deref_mut() {
                    assert!(base + NR <= xs.len());
                    let t = xs.as_mut_ptr().add(base);
                    _mm256_storeu_pd(t, _mm256_add_pd(_mm256_loadu_pd(t), _mm256_mul_pd(wiv, lo)));
                    _mm256_storeu_pd(t.add(4), _mm256_add_pd(_mm256_loadu_pd(t.add(4)), _mm256_mul_pd(wiv, hi)));
                }
                _mm256_storeu_pd(o.ap.as_mut_ptr().add(at), _mm256_mul_pd(sav, lo));
                _mm256_storeu_pd(o.ap.as_mut_ptr().add(at + 4), _mm256_mul_pd(sav, hi));
                if split {
                    _mm256_storeu_pd(o.wp.as_mut_ptr().add(at), _mm256_mul_pd(swv, lo));
                    _mm256_storeu_pd(o.wp.as_mut_ptr().add(at + 4), _mm256_mul_pd(swv, hi));
                }
            }
        }
        pack_tail(xr, d, cz, i, sc, split, v.is_some(), o);
    }
}

/// `pack_block` at the AVX-512 level: each whole panel of a row is one zmm (eight f32 widened at once, one
/// 64-byte store per panel row), with the same element-wise operations in the same row order, so the same bits.
/// It goes panel by panel, so Σ v·A and Σ w·A stay in registers over the block's rows: kept in memory, as the
/// AVX2 form does, each row's zmm reload of the previous row's store stalled (Zen 4 splits 512-bit stores), and
/// Xᵀv cost 6 ms of a 60 ms pass. On the AMD EPYC, avx512f (Zen 4; 1M × 64, 2 threads) the Gram pass with Xᵀv went from 58.0 to 55.7 ms
/// with it, and with centring, column sums and Xᵀv from 60.4 to 55.6 ms.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_block_avx512(x: &[f32], rb: usize, d: usize, cz: &[f64], w: Option<&[f64]>, split: bool, v: Option<&[f64]>, o: &mut PackOut<'_>) {
    use std::arch::x86_64::*;
    assert!(rb <= SYRK_ROWS && x.len() >= rb * d);
    let mut sc = [(0.0f64, 0.0f64, 0.0f64, 0.0f64); SYRK_ROWS];
    for (i, s) in sc[..rb].iter_mut().enumerate() {
        *s = row_scales(w, split, v, i);
    }
    for p in 0..d / NR {
        let base = p * NR;
        let at = p * o.stride;
        assert!(base + NR <= cz.len() && base + NR <= o.xv.len() && at + rb * NR <= o.ap.len());
        assert!(!split || at + rb * NR <= o.wp.len());
        assert!(o.xs.as_deref().is_none_or(|xs| base + NR <= xs.len()));
        // SAFETY: row i's panel (x[i·d + base .. + NR], ap / wp [at + i·NR .. + NR]) is in bounds for i < rb
        // (base + NR ≤ d from the loop bound, x.len() ≥ rb·d and at + rb·NR within ap / wp asserted above), as are
        // xv, xs and cz at base.
        unsafe {
            let c = _mm512_loadu_pd(cz.as_ptr().add(base));
            let mut tv = _mm512_loadu_pd(o.xv.as_ptr().add(base));
            let mut ts = o.xs.as_deref().map_or(_mm512_setzero_pd(), |xs| _mm512_loadu_pd(xs.as_ptr().add(base)));
            for (i, &(sa, sw, vi, wi)) in sc[..rb].iter().enumerate() {
                let a = _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(x.as_ptr().add(i * d + base))), c);
                if v.is_some() {
                    // acc + vi·val with the product rounded first, as in `pack_block`.
                    tv = _mm512_add_pd(tv, _mm512_mul_pd(_mm512_set1_pd(vi), a));
                }
                if o.xs.is_some() {
                    ts = _mm512_add_pd(ts, _mm512_mul_pd(_mm512_set1_pd(wi), a));
                }
                _mm512_storeu_pd(o.ap.as_mut_ptr().add(at + i * NR), _mm512_mul_pd(_mm512_set1_pd(sa), a));
                if split {
                    _mm512_storeu_pd(o.wp.as_mut_ptr().add(at + i * NR), _mm512_mul_pd(_mm512_set1_pd(sw), a));
                }
            }
            _mm512_storeu_pd(o.xv.as_mut_ptr().add(base), tv);
            if let Some(xs) = o.xs.as_deref_mut() {
                _mm512_storeu_pd(xs.as_mut_ptr().add(base), ts);
            }
        }
    }
    for (i, &s) in sc[..rb].iter().enumerate() {
        pack_tail(&x[i * d..(i + 1) * d], d, cz, i, s, split, v.is_some(), o);
    }
}

/// acc[r][l] = Σ_i bpan[i·NR + off + r] · apan[i·NR + l]: the MR broadcast values come from a panel of
/// the same layout (at offset 0 or 4), one FMA chain per element, eight ymm accumulators.
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tile_4x8_avx2(rb: usize, bpan: &[f64], off: usize, apan: &[f64]) -> [[f64; NR]; MR] {
    use std::arch::x86_64::*;
    assert!(bpan.len() >= rb * NR && apan.len() >= rb * NR && off + MR <= NR);
    let (bp, ap) = (bpan.as_ptr().wrapping_add(off), apan.as_ptr());
    let z = _mm256_setzero_pd();
    let (mut c00, mut c01, mut c10, mut c11, mut c20, mut c21, mut c30, mut c31) =
        (z, z, z, z, z, z, z, z);
    for i in 0..rb {
        // SAFETY: i < rb and both panels hold rb rows of NR (asserted above).
        unsafe {
            let a0 = _mm256_loadu_pd(ap.add(i * NR));
            let a1 = _mm256_loadu_pd(ap.add(i * NR + 4));
            let b = bp.add(i * NR);
            let w0 = _mm256_broadcast_sd(&*b);
            c00 = _mm256_fmadd_pd(w0, a0, c00);
            c01 = _mm256_fmadd_pd(w0, a1, c01);
            let w1 = _mm256_broadcast_sd(&*b.add(1));
            c10 = _mm256_fmadd_pd(w1, a0, c10);
            c11 = _mm256_fmadd_pd(w1, a1, c11);
            let w2 = _mm256_broadcast_sd(&*b.add(2));
            c20 = _mm256_fmadd_pd(w2, a0, c20);
            c21 = _mm256_fmadd_pd(w2, a1, c21);
            let w3 = _mm256_broadcast_sd(&*b.add(3));
            c30 = _mm256_fmadd_pd(w3, a0, c30);
            c31 = _mm256_fmadd_pd(w3, a1, c31);
        }
    }
    let mut acc = [[0.0f64; NR]; MR];
    for (out, (lo, hi)) in acc
        .iter_mut()
        .zip([(c00, c01), (c10, c11), (c20, c21), (c30, c31)])
    {
        // SAFETY: each row holds NR = 8 f64, written as two halves of four.
        unsafe {
            _mm256_storeu_pd(out.as_mut_ptr(), lo);
            _mm256_storeu_pd(out.as_mut_ptr().add(4), hi);
        }
    }
    acc
}

/// The AVX-512 tile: rows of panel `bpan` (all NR = 8 of them, broadcast) × the 16 columns of two panels,
/// sixteen zmm accumulators. Each cell is the same FMA chain, over the same rows in the same order, as in
/// `tile_4x8_avx2`, so the sums have the same bits; what changes is the traffic from L2, where a block's
/// panels live: 192 bytes a row for 16 zmm FMAs here against 96 for 8 ymm FMAs (a quarter of the work),
/// which the 4 × 8 tile's 16 registers could not avoid and which held it near the L2's bandwidth.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn tile_8x16_avx512(rb: usize, bpan: &[f64], a0: &[f64], a1: &[f64]) -> [[f64; 2 * NR]; NR] {
    use std::arch::x86_64::*;
    assert!(bpan.len() >= rb * NR && a0.len() >= rb * NR && a1.len() >= rb * NR);
    let mut c = [[_mm512_setzero_pd(); 2]; NR];
    for i in 0..rb {
        // SAFETY: i < rb and the three panels hold rb rows of NR (asserted above).
        unsafe {
            let l = _mm512_loadu_pd(a0.as_ptr().add(i * NR));
            let h = _mm512_loadu_pd(a1.as_ptr().add(i * NR));
            let b = bpan.as_ptr().add(i * NR);
            for (r, cr) in c.iter_mut().enumerate() {
                let br = _mm512_set1_pd(*b.add(r));
                cr[0] = _mm512_fmadd_pd(br, l, cr[0]);
                cr[1] = _mm512_fmadd_pd(br, h, cr[1]);
            }
        }
    }
    let mut acc = [[0.0f64; 2 * NR]; NR];
    for (out, cr) in acc.iter_mut().zip(&c) {
        // SAFETY: each row holds 16 f64, written as two halves of eight.
        unsafe {
            _mm512_storeu_pd(out.as_mut_ptr(), cr[0]);
            _mm512_storeu_pd(out.as_mut_ptr().add(NR), cr[1]);
        }
    }
    acc
}

/// `tile_8x16_avx512` on one panel (the diagonal block of a pair, or an unpaired last panel).
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[inline]
unsafe fn tile_8x8_avx512(rb: usize, bpan: &[f64], a0: &[f64]) -> [[f64; NR]; NR] {
    use std::arch::x86_64::*;
    assert!(bpan.len() >= rb * NR && a0.len() >= rb * NR);
    let mut c = [_mm512_setzero_pd(); NR];
    for i in 0..rb {
        // SAFETY: as in tile_8x16_avx512.
        unsafe {
            let l = _mm512_loadu_pd(a0.as_ptr().add(i * NR));
            let b = bpan.as_ptr().add(i * NR);
            for (r, cr) in c.iter_mut().enumerate() {
                *cr = _mm512_fmadd_pd(_mm512_set1_pd(*b.add(r)), l, *cr);
            }
        }
    }
    let mut acc = [[0.0f64; NR]; NR];
    for (out, &cr) in acc.iter_mut().zip(&c) {
        // SAFETY: each row holds 8 f64.
        unsafe { _mm512_storeu_pd(out.as_mut_ptr(), cr) };
    }
    acc
}

#[inline(always)]
fn prefetch_l2(p: *const f32) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address; callers pass addresses inside `x` anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(p.cast())
    };
}

/// g[a·d + b] += tile[a − q·R][b − p·N] for the cells of an R × N register tile (row tile q, column panel p)
/// that fall in the upper triangle (b ≥ a) of the d × d matrix g; shared with the logistic Hessian's tiles.
#[inline(always)]
pub(super) fn add_tile_upper<T: Copy + Into<f64>, const R: usize, const N: usize>(g: &mut [f64], d: usize, q: usize, p: usize, tile: &[[T; N]; R]) {
    for (r, row) in tile.iter().enumerate() {
        let ga = q * R + r;
        if ga >= d {
            break;
        }
        for gb in (p * N).max(ga)..((p + 1) * N).min(d) {
            g[ga * d + gb] += row[gb - p * N].into();
        }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA, and the AVX-512 level when `w512` (its tiles are
/// `tile_8x16_avx512` / `tile_8x8_avx512`, the same bits as the AVX2 4 × 8 tiles').
#[target_feature(enable = "avx2,fma")]
unsafe fn body_packed(a: GramArgs<'_>, w512: bool) {
    let GramArgs {
        x,
        rows,
        cols: d,
        w,
        center,
        v,
        g,
        xty,
        sums,
    } = a;
    let np = d.div_ceil(NR);
    let dp = np * NR;
    let mp = d.div_ceil(MR);
    let rb_max = rows.min(SYRK_ROWS);
    // Panels a whole number of pages apart would put one row's stores in the same L1 set (the cache is
    // 8-way): two extra cache lines per panel spread them over distinct sets.
    let stride = rb_max * NR + 2 * NR;
    let pan_len = np * stride;
    // Only needed when a block has a negative weight; one cache line of offset from `ap`, as above.
    let wp_len = if w.is_some_and(|w| w[..rows].iter().any(|&wi| wi < 0.0 || wi.is_nan())) {
        pan_len + NR
    } else {
        0
    };
    let mut buf = Scratch::take(&scratch::GRAM_F64, pan_len + wp_len + 3 * dp);
    {
        let s = buf.slice(pan_len + wp_len + 3 * dp);
        let (ap, rest) = s.split_at_mut(pan_len);
        let (wp, rest) = rest.split_at_mut(wp_len);
        let wp = if wp_len > 0 { &mut wp[NR..] } else { wp };
        let (cz, rest) = rest.split_at_mut(dp);
        let (xv, xs) = rest.split_at_mut(dp);
        xs.fill(0.0);
        let want_sums = sums.is_some();
        // The centre padded with zeros, so packing has one form with or without centring.
        cz.fill(0.0);
        if let Some(c) = center {
            cz[..d].copy_from_slice(&c[..d]);
        }
        xv.fill(0.0);
        for r0 in (0..rows).step_by(SYRK_ROWS) {
            let rb = (rows - r0).min(SYRK_ROWS);
            let wb = w.map(|w| &w[r0..r0 + rb]);
            let split = wb.is_some_and(|w| w.iter().any(|&wi| wi < 0.0 || wi.is_nan()));
            let (xb, vb) = (&x[r0 * d..(r0 + rb) * d], v.map(|v| &v[r0..r0 + rb]));
            let mut out = PackOut { ap, wp, stride, xv, xs: if want_sums { Some(&mut xs[..]) } else { None } };
            // SAFETY: this function already requires AVX2 and FMA, and the AVX-512 level when w512.
            unsafe {
                if w512 {
                    pack_block_avx512(xb, rb, d, cz, wb, split, vb, &mut out)
                } else {
                    pack_block(xb, rb, d, cz, wb, split, vb, &mut out)
                }
            };
            let PackOut { ap, wp, .. } = out;
            let bsrc: &[f64] = if split { wp } else { ap };
            // The next block of x is fetched into L2 a slice per tile while the tiles compute, so its
            // memory traffic overlaps the arithmetic instead of stalling the next packing pass.
            let next = &x[((r0 + rb) * d).min(x.len())..((r0 + rb + SYRK_ROWS) * d).min(x.len())];
            let tiles = if w512 {
                // Per pair of panels (p, p + 1): p + 1 tiles of 8 × 16 and one 8 × 8; an unpaired last
                // panel: p + 1 tiles of 8 × 8.
                (0..np).step_by(2).map(|p| p + 1 + usize::from(p + 1 < np)).sum::<usize>()
            } else {
                (0..np).map(|p| mp.min((p + 1) * (NR / MR))).sum::<usize>()
            }
            .max(1);
            let lines = (next.len() * 4).div_ceil(64);
            let per_tile = lines.div_ceil(tiles);
            let mut line = 0;
            let mut fetch = || {
                for _ in 0..per_tile {
                    if line < lines {
                        prefetch_l2(next.as_ptr().wrapping_add(line * 16));
                        line += 1;
                    }
                }
            };
            if w512 {
                fn panel(buf: &[f64], p: usize, stride: usize, rb: usize) -> &[f64] {
                    &buf[p * stride..p * stride + rb * NR]
                }
                for p in (0..np).step_by(2) {
                    for q in 0..=p {
                        fetch();
                        // SAFETY: the caller's contract (w512: the AVX-512 level).
                        if p + 1 < np {
                            let acc = unsafe { tile_8x16_avx512(rb, panel(bsrc, q, stride, rb), panel(ap, p, stride, rb), panel(ap, p + 1, stride, rb)) };
                            add_tile_upper(g, d, q, p / 2, &acc);
                        } else {
                            let acc = unsafe { tile_8x8_avx512(rb, panel(bsrc, q, stride, rb), panel(ap, p, stride, rb)) };
                            add_tile_upper(g, d, q, p, &acc);
                        }
                    }
                    if p + 1 < np {
                        fetch();
                        // SAFETY: as above.
                        let acc = unsafe { tile_8x8_avx512(rb, panel(bsrc, p + 1, stride, rb), panel(ap, p + 1, stride, rb)) };
                        add_tile_upper(g, d, p + 1, p + 1, &acc);
                    }
                }
                continue;
            }
            for p in 0..np {
                let apan = &ap[p * stride..p * stride + rb * NR];
                // Row tiles that reach the upper triangle of this column panel: a0 < (p + 1)·NR.
                for q in 0..mp.min((p + 1) * (NR / MR)) {
                    fetch();
                    let (bp, off) = (q / (NR / MR), (q % (NR / MR)) * MR);
                    let acc = unsafe {
                        tile_4x8_avx2(rb, &bsrc[bp * stride..bp * stride + rb * NR], off, apan)
                    };
                    add_tile_upper(g, d, q, p, &acc);
                }
            }
        }
        if let (Some(_), Some(xty)) = (v, xty) {
            for (t, &p) in xty[..d].iter_mut().zip(xv.iter()) {
                *t += p;
            }
        }
        if let Some(sums) = sums {
            for (t, &p) in sums[..d].iter_mut().zip(xs.iter()) {
                *t += p;
            }
        }
    }
}

#[inline(always)]
fn body_faer(a: GramArgs<'_>, wide: bool) {
    let GramArgs {
        x,
        rows,
        cols,
        w,
        center,
        v,
        g,
        xty,
        mut sums,
    } = a;
    let rb_max = rows.min(ROW_BLOCK);
    // Scratch: centred block A, weighted block B = diag(w)·A (only with weights), the Xᵀv partial.
    let b_len = if w.is_some() { rb_max * cols } else { 0 };
    let mut buf = Scratch::take(&scratch::GRAM_F64, rb_max * cols + b_len + cols);
    {
        let s = buf.slice(rb_max * cols + b_len + cols);
        let (a_buf, rest) = s.split_at_mut(rb_max * cols);
        let (b_buf, xv) = rest.split_at_mut(b_len);
        xv.fill(0.0);
        for r0 in (0..rows).step_by(ROW_BLOCK) {
            let rb = (rows - r0).min(ROW_BLOCK);
            let ab = &mut a_buf[..rb * cols];
            for i in 0..rb {
                let xr = &x[(r0 + i) * cols..(r0 + i + 1) * cols];
                let ar = &mut ab[i * cols..(i + 1) * cols];
                match center {
                    Some(c) => {
                        for ((o, &xv), &cv) in ar.iter_mut().zip(xr).zip(&c[..cols]) {
                            *o = xv as f64 - cv;
                        }
                    }
                    None => {
                        for (o, &xv) in ar.iter_mut().zip(xr) {
                            *o = xv as f64;
                        }
                    }
                }
                if let Some(v) = v {
                    let vi = v[r0 + i];
                    for (t, &av) in xv.iter_mut().zip(ar.iter()) {
                        *t += vi * av;
                    }
                }
                if let Some(s) = sums.as_deref_mut() {
                    let wi = w.map_or(1.0, |w| w[r0 + i]);
                    for (t, &av) in s[..cols].iter_mut().zip(ar.iter()) {
                        *t += wi * av;
                    }
                }
            }
            let ab: &[f64] = ab;
            let lhs_rows: &[f64] = match w {
                Some(w) => {
                    let bb = &mut b_buf[..rb * cols];
                    for i in 0..rb {
                        let wi = w[r0 + i];
                        for (o, &av) in bb[i * cols..(i + 1) * cols]
                            .iter_mut()
                            .zip(&ab[i * cols..(i + 1) * cols])
                        {
                            *o = wi * av;
                        }
                    }
                    bb
                }
                None => ab,
            };
            // Row-major g's upper triangle is the lower triangle of g read column-major, so faer gets
            // a column-major destination (its row-major GEMM path is unreliable, see `similarity`):
            // g_cm[b,a] += Σ_i B[i,b]·A[i,a] for b ≥ a.
            // SAFETY: reached only from the AVX2 (`wide` false) and AVX-512 entry points; rb, cols ≥ 1.
            unsafe { super::xgemm::dgemm_tn_lower_add(wide, lhs_rows, ab, rb, cols, &mut g[..cols * cols]) };
        }
        if let (Some(_), Some(xty)) = (v, xty) {
            for (t, &p) in xty[..cols].iter_mut().zip(xv.iter()) {
                *t += p;
            }
        }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gram_f64_avx2(a: GramArgs<'_>) {
    body(a, false)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn gram_f64_avx512(a: GramArgs<'_>) {
    body(a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX-512 level's packing and 8 × 16 tiles keep the AVX2 level's operations and FMA chains: the same
    /// bits (compared bit for bit), for every width the packed kernel takes (odd panel counts end on an unpaired
    /// panel; widths below 8 and not a multiple of 8 take the partial panel), short last blocks, every weight form
    /// (none, positive, a negative or a NaN one: the split form), with and without centring, v and sums.
    #[test]
    fn avx512_tiles_give_the_bits_of_the_avx2_tiles() {
        if !(std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512dq") && std::is_x86_feature_detected!("avx512bw") && std::is_x86_feature_detected!("avx512vl")) {
            return;
        }
        for &cols in &[1usize, 7, 8, 9, 15, 16, 17, 24, 33, 40, 64, 65, 100, 127, 128] {
            for &rows in &[1usize, 255, 256, 257, 700] {
                // Inexact products: x − c in f64 and √w differ in the last bits between any two FMA orders.
                let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 37) % 19) as f32 * 0.37 - 2.9 + (i % 7) as f32 * 1e-3).collect();
                let w: Vec<f64> = (0..rows).map(|i| 0.3 + (i % 5) as f64 * 0.7).collect();
                let wneg: Vec<f64> = (0..rows).map(|i| if i == rows / 2 { -1.5 } else { 0.3 + (i % 5) as f64 * 0.7 }).collect();
                let wnan: Vec<f64> = (0..rows).map(|i| if i == rows / 3 { f64::NAN } else { 0.3 + (i % 5) as f64 * 0.7 }).collect();
                let v: Vec<f64> = (0..rows).map(|i| (i % 5) as f64 * 0.31 - 0.9).collect();
                let c: Vec<f64> = (0..cols).map(|i| i as f64 * 0.013 + 0.1).collect();
                let forms = [(None, None), (None, Some(&c[..])), (Some(&w[..]), None), (Some(&w[..]), Some(&c[..])), (Some(&wneg[..]), Some(&c[..])), (Some(&wnan[..]), None)];
                for (ww, cc) in forms {
                    for (with_v, with_s) in [(true, true), (false, false), (true, false), (false, true)] {
                        let run = |f: unsafe fn(GramArgs<'_>)| {
                            let (mut g, mut t, mut s) = (vec![0.5f64; cols * cols], vec![0.25f64; cols], vec![-0.75f64; cols]);
                            let (xty, sums) = (with_v.then_some(&mut t[..]), with_s.then_some(&mut s[..]));
                            // SAFETY: both levels checked above.
                            unsafe { f(GramArgs { x: &x, rows, cols, w: ww, center: cc, v: with_v.then_some(&v[..]), g: &mut g, xty, sums }) };
                            [g, t, s].map(|a| a.iter().map(|e| e.to_bits()).collect::<Vec<u64>>())
                        };
                        assert_eq!(run(gram_f64_avx512), run(gram_f64_avx2), "cols={cols} rows={rows} w={:?} c={} v={with_v} s={with_s}", ww.map(|w| w[rows / 3]), cc.is_some());
                    }
                }
            }
        }
    }

    #[test]
    fn simd_paths_match_the_scalar_twin_and_leave_the_lower_triangle() {
        for &cols in &[
            1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 33, 64, 65, 127, 128, 129, 200,
        ] {
            for &rows in &[1usize, 5, 255, 256, 257, 513, 1500] {
                let x: Vec<f32> = (0..rows * cols)
                    .map(|i| ((i * 37) % 19) as f32 * 0.25 - 2.0)
                    .collect();
                let w: Vec<f64> = (0..rows).map(|i| 0.5 + (i % 3) as f64).collect();
                // A negative weight (IRLS never makes one, but the contract allows it) takes the two-copy form.
                let wneg: Vec<f64> = (0..rows)
                    .map(|i| {
                        if i == rows / 2 {
                            -1.5
                        } else {
                            0.5 + (i % 3) as f64
                        }
                    })
                    .collect();
                let v: Vec<f64> = (0..rows).map(|i| (i % 5) as f64 - 2.0).collect();
                let c: Vec<f64> = (0..cols).map(|i| i as f64 * 0.1).collect();
                for (ww, cc) in [
                    (None, None),
                    (Some(&w[..]), None),
                    (Some(&w[..]), Some(&c[..])),
                    (Some(&wneg[..]), Some(&c[..])),
                ] {
                    let mut g1 = vec![0.5f64; cols * cols];
                    let mut g2 = g1.clone();
                    let mut t1 = vec![0.25f64; cols];
                    let mut t2 = t1.clone();
                    let mut s1 = vec![-0.75f64; cols];
                    let mut s2 = s1.clone();
                    gram_f64_scalar(GramArgs {
                        x: &x,
                        rows,
                        cols,
                        w: ww,
                        center: cc,
                        v: Some(&v),
                        g: &mut g1,
                        xty: Some(&mut t1),
                        sums: Some(&mut s1),
                    });
                    unsafe {
                        gram_f64_avx2(GramArgs {
                            x: &x,
                            rows,
                            cols,
                            w: ww,
                            center: cc,
                            v: Some(&v),
                            g: &mut g2,
                            xty: Some(&mut t2),
                            sums: Some(&mut s2),
                        })
                    };
                    for p in 0..cols {
                        for q in 0..cols {
                            let (a, b) = (g1[p * cols + q], g2[p * cols + q]);
                            if q < p {
                                assert_eq!(
                                    b, 0.5,
                                    "lower triangle written at ({p},{q}) cols={cols}"
                                );
                            } else {
                                assert!(
                                    (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                                    "g[{p},{q}] {a} vs {b} cols={cols} rows={rows}"
                                );
                            }
                        }
                        assert!((t1[p] - t2[p]).abs() <= 1e-9 * t1[p].abs().max(1.0));
                        assert!((s1[p] - s2[p]).abs() <= 1e-9 * s1[p].abs().max(1.0), "sums[{p}] cols={cols}");
                    }
                }
            }
        }
    }
}
