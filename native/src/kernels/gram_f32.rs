//! The Gram family's f32-accumulation mode (`accumulate: 'f32'` on the public fits): the same sums as
//! `gram` (g's upper triangle, xty, sums), but each block of BLOCK rows is summed with f32 FMAs in f32
//! register tiles and only then added, widened, into f64 accumulators. Per block:
//!   d_i = f32(x_i − c) (c rounded to f32; the fits pass centres that are f32 values already),
//!   a_i = f32(√w_i)·d_i on both sides of the product (or d_i and f32(w_i)·d_i when a weight is negative),
//!   G_blk = Σ a_i a_iᵀ, Σ w_i d_i, Σ v_i d_i in f32, then g += G_blk etc. in f64.
//! The f32 rounding of a block's partial sums is relative 2⁻²⁴·(block length) at worst; the f64 sums over
//! blocks keep it from growing with the row count. Blocks start at the call's first row, so results depend
//! on the caller's (shape-fixed) row blocks only, never on the thread count.
//!
//! Why: f32 FMAs run at twice the f64 rate, and the f64 kernel also packs two f64 copies per block. The
//! register tiles: AVX-512 16 × 16 (16 zmm accumulators, the row of a broadcast from memory into the FMA),
//! AVX2 8 × 8 (8 ymm); a diagonal tile sums x ⊙ rot_k(x) instead (k up to half its width: 9 zmm or 5 ymm
//! FMAs a row where broadcasts take 16 or 8, the same products in the same order), except in a block with
//! a negative weight, whose two sides differ. Unweighted, uncentred rows as wide as the tiles (d a multiple
//! of 16) are read in place, not packed. Unweighted, the SIMD levels' diagonal tiles also sum Σ v_i d_i (fused
//! multiply-adds) and Σ d_i, so those take no pass of their own. Wider than MAX_COLS columns the f64 kernel of the same level is
//! used instead: the mode is a speed option, not a contract on bits.

use super::gram::{gram_f64_avx2, gram_f64_avx512, GramArgs};
use super::scratch::Scratch;
use std::cell::RefCell;
use tiles::*;

#[path = "gram_f32_tiles.rs"]
mod tiles;

/// Rows summed in f32 before each flush into f64. 32 to 256 measured within ~8 % of each other at 64
/// columns, longer blocks slightly faster; 128, with the next block prefetched.
pub const BLOCK: usize = 128;
/// Widest input of this mode: a packed block (BLOCK × 128 f32 = 32 KiB) stays in L1/L2.
pub const MAX_COLS: usize = 128;

thread_local! {
    static PACK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static ACC: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Row width of the packed block: room for whole NR panels and whole MR row tiles (zero-padded), a
/// multiple of 16 floats so rows start on cache lines.
fn width(d: usize, mr: usize, nr: usize) -> usize {
    (d.div_ceil(nr) * nr).max(d.div_ceil(mr) * mr).div_ceil(16) * 16
}

/// The register tiles (row tile q of MR rows, column panel p of NR columns) that reach g's upper triangle.
fn tiles(d: usize, mr: usize, nr: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..d.div_ceil(nr)).flat_map(move |p| (0..d.div_ceil(mr)).filter(move |&q| q * mr < ((p + 1) * nr).min(d)).map(move |q| (q, p)))
}

/// c + a·b in f32: fused (one rounding) when F, the SIMD levels' form, which is also how their diagonal tiles
/// sum Σ v·x (so Xᵀv has the same bits whichever of the three places sums it); a rounded product and a
/// rounded add otherwise (the scalar twin, where a fused multiply-add may be a library call).
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        c + a * b
    }
}

/// Packs rows r0..r0+rb into `a` (and `b` when split), adding the block's Σ w d and Σ v d into s32 / v32.
/// W: weighted; S: sums wanted; V: xty wanted (constants per call, so the loop keeps only its own work; a
/// product by 1 is skipped, which is exact, so every instantiation gives the same bits); F: as `madd`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pack<const W: bool, const S: bool, const V: bool, const F: bool>(x: &[f32], d: usize, wd: usize, c32: &[f32], w: Option<&[f64]>, v: Option<&[f64]>, split: bool, a: &mut [f32], b: &mut [f32], s32: &mut [f32], v32: &mut [f32]) {
    let rb = x.len() / d;
    for i in 0..rb {
        let xr = &x[i * d..(i + 1) * d];
        let wi = w.map_or(1.0, |w| w[i]);
        let (sa, sb) = if split { (1.0f32, wi as f32) } else { let r = wi.sqrt() as f32; (r, r) };
        let (wf, vi) = (wi as f32, v.map_or(0.0, |v| v[i]) as f32);
        let ar = &mut a[i * wd..(i + 1) * wd];
        // Zipped iterators, so the loop has no bounds checks and vectorises.
        for ((((o, &xv), &cv), s), t) in ar[..d].iter_mut().zip(xr).zip(&c32[..d]).zip(&mut s32[..d]).zip(&mut v32[..d]) {
            let dv = xv - cv;
            *o = if W { sa * dv } else { dv };
            if S {
                *s += if W { wf * dv } else { dv };
            }
            if V {
                *t = madd::<F>(vi, dv, *t);
            }
        }
        ar[d..].fill(0.0);
        if split {
            let br = &mut b[i * wd..(i + 1) * wd];
            for ((o, &xv), &cv) in br[..d].iter_mut().zip(xr).zip(&c32[..d]) {
                *o = sb * (xv - cv);
            }
            br[d..].fill(0.0);
        }
    }
}

/// Σ x and Σ v·x over a block read in place (d a multiple of 16): up to 64 columns at a time over all rows,
/// so the sums stay in registers as four independent chains; per column the same f32 operations in the
/// same row order as `pack` (x − 0 = x; `madd::<F>` for Σ v·x, a plain add for Σ x), so the same bits. Only the
/// scalar level and weighted calls get here with something to sum: the SIMD levels' tiles sum unweighted blocks.
#[inline(always)]
fn block_sums<const F: bool>(xb: &[f32], d: usize, v: Option<&[f64]>, want_s: bool, want_v: bool, s32: &mut [f32], v32: &mut [f32]) {
    let mut j0 = 0;
    while j0 < d {
        match d - j0 {
            16 => sums_group::<16, F>(xb, d, j0, v, want_s, want_v, s32, v32),
            32 => sums_group::<32, F>(xb, d, j0, v, want_s, want_v, s32, v32),
            48 => sums_group::<48, F>(xb, d, j0, v, want_s, want_v, s32, v32),
            _ => sums_group::<64, F>(xb, d, j0, v, want_s, want_v, s32, v32),
        }
        j0 += 64;
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn sums_group<const N: usize, const F: bool>(xb: &[f32], d: usize, j0: usize, v: Option<&[f64]>, want_s: bool, want_v: bool, s32: &mut [f32], v32: &mut [f32]) {
    let rb = xb.len() / d;
    if want_s {
        let mut s = [0.0f32; N];
        for i in 0..rb {
            let xr: &[f32; N] = xb[i * d + j0..i * d + j0 + N].try_into().expect("N columns");
            for (o, &xv) in s.iter_mut().zip(xr) {
                *o += xv;
            }
        }
        s32[j0..j0 + N].copy_from_slice(&s);
    }
    if let (true, Some(v)) = (want_v, v) {
        let mut t = [0.0f32; N];
        for (i, &vi) in v[..rb].iter().enumerate() {
            let xr: &[f32; N] = xb[i * d + j0..i * d + j0 + N].try_into().expect("N columns");
            let vi = vi as f32;
            for (o, &xv) in t.iter_mut().zip(xr) {
                *o = madd::<F>(vi, xv, *o);
            }
        }
        v32[j0..j0 + N].copy_from_slice(&t);
    }
}

/// The whole call: blocks of BLOCK rows packed, each tile of each block summed by `tile` (f32) and flushed
/// into `acc` (f64, MR × NR per tile in `tiles` order); then acc, sums and xty go into the caller's arrays.
/// ROT: the SIMD levels (MR = NR), whose diagonal tiles of unsplit blocks sum in the rotated layout and, in
/// unweighted calls, also Σ v·x (when `tile` is given the block's v) and Σ x (when given `Fused::s`) for
/// their NR columns, so Xᵀv and the sums take no pass over the block of their own; their multiply-adds are
/// fused (`madd`).
#[inline(always)]
fn drive<const MR: usize, const NR: usize, const ROT: bool>(a: GramArgs<'_>, tile: impl Fn(bool, bool, usize, &[f32], &[f32], usize, &mut [f64], Pf, Fused<'_>)) {
    let GramArgs { x, rows, cols: d, w, center, v, g, xty, sums } = a;
    let wd = width(d, MR, NR);
    let list: Vec<(usize, usize)> = tiles(d, MR, NR).collect();
    let split_any = w.is_some_and(|w| w[..rows].iter().any(|&wi| wi < 0.0 || wi.is_nan()));
    // Unweighted, Xᵀv and the sums go into the diagonal tiles (`fuse_v`, `fuse_s`); weighted, their rows are
    // √w·d, not d, so the packing sums them.
    let fuse_v = ROT && w.is_none() && v.is_some() && xty.is_some();
    let fuse_s = ROT && w.is_none() && sums.is_some();
    let want_v = v.is_some() && xty.is_some() && !fuse_v;
    let want_s = sums.is_some() && !fuse_s;
    let blk_len = BLOCK.min(rows) * wd;
    let mut pk = Scratch::take(&PACK, 0);
    let pk = pk.slice_grow(2 * blk_len + 3 * wd + BLOCK);
    let (ab, rest) = pk.split_at_mut(blk_len);
    let (bb, rest) = rest.split_at_mut(if split_any { blk_len } else { 0 });
    let (c32, rest) = rest.split_at_mut(wd);
    let (s32, rest) = rest.split_at_mut(wd);
    let (v32, vf) = rest.split_at_mut(wd);
    c32.fill(0.0);
    if let Some(c) = center {
        for (o, &cv) in c32.iter_mut().zip(&c[..d]) {
            *o = cv as f32;
        }
    }
    let mut ac = Scratch::take(&ACC, 0);
    // With ROT each tile has a second MR × NR area: a diagonal tile of an unsplit block sums there in the
    // rotated layout of `tile_diag_rot_avx512`, mapped into the first area once, at the end.
    let ts = if ROT { 2 * MR * NR } else { MR * NR };
    let ac = ac.slice_grow(list.len() * ts + 2 * wd);
    ac.fill(0.0);
    let (acc, rest) = ac.split_at_mut(list.len() * ts);
    let (s64, v64) = rest.split_at_mut(wd);
    for r0 in (0..rows).step_by(BLOCK) {
        let rb = (rows - r0).min(BLOCK);
        let wb = w.map(|w| &w[r0..r0 + rb]);
        let split = wb.is_some_and(|w| w.iter().any(|&wi| wi < 0.0 || wi.is_nan()));
        s32.fill(0.0);
        v32.fill(0.0);
        let (xb, vb) = (&x[r0 * d..(r0 + rb) * d], v.map(|v| &v[r0..r0 + rb]));
        // Unweighted, uncentred rows whose width is already the tiles' (d a multiple of both MR and NR):
        // the tiles read x in place, as packing would only copy it (x − 0 = x, bit for bit); Σx and Σ v·x, when
        // asked for and not summed by the tiles (the scalar level), take one pass over the block with the same
        // f32 operations in the same row order.
        let direct = w.is_none() && center.is_none() && wd == d;
        if direct {
            if want_s || want_v {
                block_sums::<ROT>(xb, d, vb, want_s, want_v, s32, v32);
            }
        } else {
            match (w.is_some(), want_s, want_v) {
                (false, false, false) => pack::<false, false, false, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (false, false, true) => pack::<false, false, true, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (false, true, false) => pack::<false, true, false, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (false, true, true) => pack::<false, true, true, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (true, false, false) => pack::<true, false, false, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (true, false, true) => pack::<true, false, true, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (true, true, false) => pack::<true, true, false, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
                (true, true, true) => pack::<true, true, true, ROT>(xb, d, wd, &c32[..d], wb, vb, split, ab, bb, s32, v32),
            }
        }
        let vfb: Option<&[f32]> = match vb {
            Some(vb) if fuse_v => {
                for (o, &vi) in vf.iter_mut().zip(vb) {
                    *o = vi as f32;
                }
                Some(&vf[..rb])
            }
            _ => None,
        };
        let ab: &[f32] = if direct { xb } else { ab };
        let bsrc: &[f32] = if split { bb } else { ab };
        // The next block of x is fetched into L2 a slice per tile while the tiles compute, so its memory
        // traffic overlaps the FMAs instead of stalling the next packing.
        let next = &x[((r0 + rb) * d).min(x.len())..((r0 + rb + BLOCK) * d).min(x.len())];
        let lines = (next.len() * 4).div_ceil(64);
        let per_tile = lines.div_ceil(list.len().max(1));
        for (t, &(q, p)) in list.iter().enumerate() {
            let l0 = (t * per_tile).min(lines);
            let pf = Pf { p: next.as_ptr().wrapping_add(l0 * 16), step: (per_tile.min(lines - l0) << 16) / rb };
            tile(q * MR == p * NR, split, rb, &bsrc[q * MR..], &ab[p * NR..], wd, &mut acc[t * ts..(t + 1) * ts], pf, Fused { v: vfb, s: fuse_s });
        }
        for j in 0..d {
            s64[j] += s32[j] as f64;
            v64[j] += v32[j] as f64;
        }
    }
    if ROT {
        for (t, &(q, p)) in list.iter().enumerate() {
            if q * MR == p * NR {
                let (at, rot) = acc[t * ts..(t + 1) * ts].split_at_mut(MR * NR);
                unrotate::<NR>(rot, at);
                // The rows after the rotated ones: Σ v·x, then Σ x, of this panel's columns (zero in the padding).
                if fuse_v {
                    for (o, &s) in v64[p * NR..].iter_mut().zip(&rot[(NR / 2 + 1) * NR..(NR / 2 + 2) * NR]) {
                        *o += s;
                    }
                }
                if fuse_s {
                    for (o, &s) in s64[p * NR..].iter_mut().zip(&rot[(NR / 2 + 2) * NR..(NR / 2 + 3) * NR]) {
                        *o += s;
                    }
                }
            }
        }
    }
    for (t, &(q, p)) in list.iter().enumerate() {
        let at = &acc[t * ts..t * ts + MR * NR];
        for r in 0..MR {
            let ga = q * MR + r;
            if ga >= d {
                break;
            }
            for gb in (p * NR).max(ga)..((p + 1) * NR).min(d) {
                g[ga * d + gb] += at[r * NR + gb - p * NR];
            }
        }
    }
    if let (Some(_), Some(xty)) = (v, xty) {
        for (o, &s) in xty[..d].iter_mut().zip(v64.iter()) {
            *o += s;
        }
    }
    if let Some(sums) = sums {
        for (o, &s) in sums[..d].iter_mut().zip(s64.iter()) {
            *o += s;
        }
    }
}

/// What a SIMD level's diagonal tile of an unsplit block sums besides its products (see `drive`).
#[derive(Clone, Copy)]
struct Fused<'a> {
    /// The block's v in f32: Σ v·x.
    v: Option<&'a [f32]>,
    /// Σ x.
    s: bool,
}

/// Adds a rotated diagonal tile (`rot[k·N + j]` = Σ x_j·x_{(j+k) mod N}, k = 0..=N/2) into `at`'s upper
/// triangle: the pair {j, (j+k) mod N} is the cell (min, max); k = N/2 meets each pair twice, so only j < N/2.
fn unrotate<const N: usize>(rot: &[f64], at: &mut [f64]) {
    for k in 0..=N / 2 {
        for j in 0..if 2 * k == N { N / 2 } else { N } {
            let (r, c) = (j.min((j + k) % N), j.max((j + k) % N));
            at[r * N + c] += rot[k * N + j];
        }
    }
}

/// Scalar twin: the same blocks and f32 sums, with a rounded product and a rounded add where the SIMD
/// levels fuse them (so its bits differ from theirs by an FMA's rounding, within the tests' tolerance).
pub fn gram_f32acc_scalar(a: GramArgs<'_>) {
    if a.rows == 0 || a.cols == 0 {
        return;
    }
    drive::<4, 4, false>(a, |_, _, rb, b, av, wd, acc, pf, _| {
        let mut c = [[0.0f32; 4]; 4];
        for i in 0..rb {
            pf.row(i);
            for (r, cr) in c.iter_mut().enumerate() {
                let br = b[i * wd + r];
                for (l, cv) in cr.iter_mut().enumerate() {
                    *cv += br * av[i * wd + l];
                }
            }
        }
        for (r, cr) in c.iter().enumerate() {
            for (l, &cv) in cr.iter().enumerate() {
                acc[r * 4 + l] += cv as f64;
            }
        }
    })
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gram_f32acc_avx2(a: GramArgs<'_>) {
    if a.rows == 0 || a.cols == 0 {
        return;
    }
    if a.cols > MAX_COLS {
        // SAFETY: same level.
        return unsafe { gram_f64_avx2(a) };
    }
    // SAFETY (tile calls): this function already requires AVX2 and FMA.
    drive::<8, 8, true>(a, |diag, split, rb, b, av, wd, acc, pf, f| unsafe {
        if diag && !split {
            let r = &mut acc[64..];
            match (f.v, f.s) {
                (Some(v), true) => tile_diag_rot_avx2::<true, true>(rb, av, wd, r, pf, v),
                (Some(v), false) => tile_diag_rot_avx2::<true, false>(rb, av, wd, r, pf, v),
                (None, true) => tile_diag_rot_avx2::<false, true>(rb, av, wd, r, pf, &[]),
                (None, false) => tile_diag_rot_avx2::<false, false>(rb, av, wd, r, pf, &[]),
            }
        } else {
            tile_8x8_avx2(rb, b, av, wd, acc, pf)
        }
    })
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn gram_f32acc_avx512(a: GramArgs<'_>) {
    if a.rows == 0 || a.cols == 0 {
        return;
    }
    if a.cols > MAX_COLS {
        // SAFETY: same level.
        return unsafe { gram_f64_avx512(a) };
    }
    // SAFETY (tile calls): this function already requires the AVX-512 level.
    drive::<16, 16, true>(a, |diag, split, rb, b, av, wd, acc, pf, f| unsafe {
        if diag && !split {
            let r = &mut acc[256..];
            match (f.v, f.s) {
                (Some(v), true) => tile_diag_rot_avx512::<true, true>(rb, av, wd, r, pf, v),
                (Some(v), false) => tile_diag_rot_avx512::<true, false>(rb, av, wd, r, pf, v),
                (None, true) => tile_diag_rot_avx512::<false, true>(rb, av, wd, r, pf, &[]),
                (None, false) => tile_diag_rot_avx512::<false, false>(rb, av, wd, r, pf, &[]),
            }
        } else if diag {
            tile_diag_16_avx512(rb, b, av, wd, acc, pf)
        } else {
            tile_16x16_avx512(rb, b, av, wd, acc, pf)
        }
    })
}

#[cfg(test)]
#[path = "gram_f32_tests.rs"]
mod tests;
