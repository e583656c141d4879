//! Dense dot-product blocks out[i*ld + j] = a[i,:]·b[j,:] (similarity tiles, and the GEMM inside top-k
//! and k-means assignment). f32 accumulation: one multiply-add chain per output element, in order over
//! the depth, in blocks of 512. No tails to handle: faer's GEMM takes any shape, the replica any length.


use super::scratch::{self, Scratch};

/// faer's GEMM (private-gemm microkernels) runs, for every output element, one FMA chain over the
/// depth in blocks of this many, adding each block's chain to the stored result.
const DEPTH_BLOCK: usize = 512;
/// Rows of b per faer call. faer packs these rows (its microkernel side) once and streams all of a past
/// them; 96 rows × depth stay in L2 and are a whole number of microkernel heights (24 on AVX2, 96 on
/// AVX-512). Measured at 2048 × 4096 × 256 on Zen 3: ~92 GFLOP/s against ~79 in one call.
const B_BLOCK: usize = 96;
/// faer hands m·n·k at or below this to a different small-matrix GEMM (faer's `NANO_GEMM_THRESHOLD`).
const FAER_SMALL_MNK: usize = 16 * 16 * 16;

/// Scalar twin: a plain sequential multiply-add chain per element (no FMA), four columns at a time so
/// four independent chains hide the add latency.
pub fn similarity_tile_f32_scalar(
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    out: &mut [f32],
    ld: usize,
) {
    for i in 0..m {
        let ar = &a[i * k..i * k + k];
        let orow = &mut out[i * ld..i * ld + n];
        let mut j = 0;
        while j + 4 <= n {
            let (b0, b1, b2, b3) = (
                &b[j * k..][..k],
                &b[(j + 1) * k..][..k],
                &b[(j + 2) * k..][..k],
                &b[(j + 3) * k..][..k],
            );
            let (mut s0, mut s1, mut s2, mut s3) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for p in 0..k {
                let x = ar[p];
                s0 += x * b0[p];
                s1 += x * b1[p];
                s2 += x * b2[p];
                s3 += x * b3[p];
            }
            orow[j..j + 4].copy_from_slice(&[s0, s1, s2, s3]);
            j += 4;
        }
        for (jj, o) in orow.iter_mut().enumerate().skip(j) {
            let bj = &b[jj * k..][..k];
            let mut s = 0.0f32;
            for p in 0..k {
                s += ar[p] * bj[p];
            }
            *o = s;
        }
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn similarity_tile_f32_avx2(
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    out: &mut [f32],
    ld: usize,
) {
    gemm_nt_fma::<false>(a, m, b, n, k, out, ld)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn similarity_tile_f32_avx512(
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    out: &mut [f32],
    ld: usize,
) {
    gemm_nt_fma::<true>(a, m, b, n, k, out, ld)
}

/// out = a·bᵀ with one FMA chain per element. When a is a run of b's own rows (self-similarity tiles:
/// a = x[r..r+m], b = x), the m × m square out[:, r..r+m] is symmetric: its lower part is computed and
/// mirrored. A mirrored value is bit-identical to a computed one (the same products, in the same order,
/// in one FMA chain), so results do not depend on whether a tile took this path.
#[inline(always)]
fn gemm_nt_fma<const WIDE: bool>(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    if m == 0 || n == 0 {
        return;
    }
    match self_rows(a, m, b, n, k) {
        Some(r) if m >= SYMMETRIC_MIN_ROWS => {
            gemm_nt_columns::<WIDE>(a, m, &b[..r * k], r, k, out, ld);
            let right = r + m;
            gemm_nt_columns::<WIDE>(
                a,
                m,
                &b[right * k..n * k],
                n - right,
                k,
                &mut out[right..],
                ld,
            );
            for j0 in (0..m).step_by(B_BLOCK) {
                let nb = (m - j0).min(B_BLOCK);
                gemm_nt_block::<WIDE>(
                    &a[j0 * k..m * k],
                    m - j0,
                    &b[(r + j0) * k..(r + j0 + nb) * k],
                    nb,
                    k,
                    &mut out[j0 * ld + r + j0..],
                    ld,
                );
            }
            mirror_lower_to_upper(out, ld, r, m);
        }
        _ => gemm_nt_columns::<WIDE>(a, m, b, n, k, out, ld),
    }
}

/// Below this many rows the mirror pass costs about what it saves.
const SYMMETRIC_MIN_ROWS: usize = 192;

/// r such that a is rows r..r+m of b (same memory, whole rows), if it is.
#[inline(always)]
fn self_rows(a: &[f32], m: usize, b: &[f32], n: usize, k: usize) -> Option<usize> {
    let (pa, pb) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let row = k * std::mem::size_of::<f32>();
    if k == 0 || pa < pb || (pa - pb) % row != 0 {
        return None;
    }
    let r = (pa - pb) / row;
    (r + m <= n).then_some(r)
}

/// out[i, r + j] = out[j, r + i] for j > i within the m × m square at column r, in 16 × 16 tiles so both
/// the rows read and the rows written stay in cache.
#[inline(always)]
fn mirror_lower_to_upper(out: &mut [f32], ld: usize, r: usize, m: usize) {
    const T: usize = 16;
    for ib in (0..m).step_by(T) {
        for jb in (ib..m).step_by(T) {
            for i in ib..(ib + T).min(m) {
                for j in jb.max(i + 1)..(jb + T).min(m) {
                    out[i * ld + r + j] = out[j * ld + r + i];
                }
            }
        }
    }
}

/// out = a·bᵀ in blocks of B_BLOCK rows of b (see there).
#[inline(always)]
fn gemm_nt_columns<const WIDE: bool>(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    for j0 in (0..n).step_by(B_BLOCK) {
        let nb = (n - j0).min(B_BLOCK);
        gemm_nt_block::<WIDE>(a, m, &b[j0 * k..(j0 + nb) * k], nb, k, &mut out[j0..], ld);
    }
}

/// Only shapes that faer sends to its blocked GEMM go to faer; for the others faer would switch to a
/// matrix-vector or small-matrix kernel that sums in a different order, and an element's value would
/// then depend on the tile it falls in.
#[inline(always)]
fn gemm_nt_block<const WIDE: bool>(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    let (mp, np) = (m.max(2), n.max(2));
    if k <= 1 || mp.saturating_mul(np).saturating_mul(k) <= FAER_SMALL_MNK {
        chain_replica(a, m, b, n, k, out, ld);
    } else if m == 1 || n == 1 {
        padded::<WIDE>(a, m, b, n, k, out, ld);
    } else {
        faer_nt::<WIDE>(a, m, b, n, k, out, ld);
    }
}

/// faer's GEMM is handed outᵀ = b·aᵀ as a column-major view of `out` (the same memory). With a row-major
/// destination faer 0.24.4's GEMM (private-gemm-x86 0.1.22) swaps operands internally and returns wrong
/// values or writes out of bounds; the column-major form never takes that path. `WIDE` picks its AVX-512
/// or its AVX2 microkernels (see `xgemm`).
#[inline(always)]
fn faer_nt<const WIDE: bool>(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    // SAFETY: reached only from the AVX2 (WIDE false) and AVX-512 (WIDE true) entry points, with
    // m, n ≥ 2 and k ≥ 2 (gemm_nt_block), and slices of the sizes the callers check.
    unsafe { super::xgemm::sgemm_nt_cm(WIDE, a, m, b, n, k, &mut out[..(m - 1) * ld + n], ld) }
}

/// One row (or column) is duplicated into scratch so faer sees two and keeps its blocked GEMM.
#[inline(always)]
fn padded<const WIDE: bool>(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    let (mp, np) = (m.max(2), n.max(2));
    let (a_len, b_len) = (
        if m == 1 { 2 * k } else { 0 },
        if n == 1 { 2 * k } else { 0 },
    );
    let len = a_len + b_len + mp * np;
    let mut pad = Scratch::take(&scratch::GEMM_PAD, len);
    let (a2, rest) = pad.slice(len).split_at_mut(a_len);
    let (b2, o2) = rest.split_at_mut(b_len);
    let lhs: &[f32] = if m == 1 {
        a2[..k].copy_from_slice(&a[..k]);
        a2[k..].copy_from_slice(&a[..k]);
        a2
    } else {
        a
    };
    let rhs: &[f32] = if n == 1 {
        b2[..k].copy_from_slice(&b[..k]);
        b2[k..].copy_from_slice(&b[..k]);
        b2
    } else {
        b
    };
    faer_nt::<WIDE>(lhs, mp, rhs, np, k, o2, np);
    for i in 0..m {
        out[i * ld..i * ld + n].copy_from_slice(&o2[i * np..i * np + n]);
    }
}

/// The same arithmetic as faer's microkernels, one element at a time: a chain of hardware FMAs from
/// +0 over each depth block, blocks added to the running result. Inlined only into FMA-enabled code.
#[inline(always)]
pub(super) fn chain_replica(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
    for i in 0..m {
        let ar = &a[i * k..i * k + k];
        for j in 0..n {
            let br = &b[j * k..j * k + k];
            let mut total = 0.0f32;
            for (blk, (ac, bc)) in ar
                .chunks(DEPTH_BLOCK)
                .zip(br.chunks(DEPTH_BLOCK))
                .enumerate()
            {
                let mut acc = 0.0f32;
                for p in 0..ac.len() {
                    acc = ac[p].mul_add(bc[p], acc);
                }
                total = if blk == 0 { acc } else { total + acc };
            }
            out[i * ld + j] = total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::rng;

    fn simd(a: &[f32], m: usize, b: &[f32], n: usize, k: usize, out: &mut [f32], ld: usize) {
        assert!(
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
        );
        unsafe { similarity_tile_f32_avx2(a, m, b, n, k, out, ld) }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn replica(
        a: &[f32],
        m: usize,
        b: &[f32],
        n: usize,
        k: usize,
        out: &mut [f32],
        ld: usize,
    ) {
        chain_replica(a, m, b, n, k, out, ld)
    }

    /// a given as rows of b (the mirrored path) gives exactly what a separate copy of a gives.
    #[test]
    fn self_similarity_tiles_equal_plain_ones_bitwise() {
        let mut r = rng(11);
        let k = 77;
        let n = 700;
        let b: Vec<f32> = (0..n * k).map(|_| r()).collect();
        for &(r0, m) in &[
            (0usize, 700usize),
            (0, 300),
            (100, 250),
            (450, 250),
            (5, 191),
            (17, 193),
            (600, 100),
        ] {
            let ld = n + 5;
            let mut got = vec![f32::NAN; m * ld];
            let mut want = vec![f32::NAN; m * ld];
            simd(&b[r0 * k..(r0 + m) * k], m, &b, n, k, &mut got, ld);
            let copy = b[r0 * k..(r0 + m) * k].to_vec();
            simd(&copy, m, &b, n, k, &mut want, ld);
            for i in 0..m {
                for j in 0..ld {
                    assert_eq!(
                        got[i * ld + j].to_bits(),
                        want[i * ld + j].to_bits(),
                        "r0={r0} m={m} at ({i},{j})"
                    );
                }
            }
        }
    }

    /// Every element equals the replica's chain bit for bit, whatever the shape that faer saw.
    #[test]
    fn faer_matches_the_chain_replica_bitwise() {
        let mut r = rng(7);
        for &k in &[
            2usize, 3, 17, 33, 128, 129, 256, 511, 512, 513, 600, 1100, 1537,
        ] {
            for &(m, n) in &[
                (1usize, 1usize),
                (1, 300),
                (300, 1),
                (2, 2),
                (7, 64),
                (5, 44),
                (40, 300),
                (33, 70),
                (97, 6),
                (25, 9),
                (130, 257),
            ] {
                let a: Vec<f32> = (0..m * k).map(|_| r()).collect();
                let b: Vec<f32> = (0..n * k).map(|_| r()).collect();
                let ld = n + 3;
                let mut got = vec![f32::NAN; m * ld];
                let mut want = vec![f32::NAN; m * ld];
                simd(&a, m, &b, n, k, &mut got, ld);
                unsafe { replica(&a, m, &b, n, k, &mut want, ld) };
                for i in 0..m {
                    for j in 0..n {
                        assert_eq!(
                            got[i * ld + j].to_bits(),
                            want[i * ld + j].to_bits(),
                            "m={m} n={n} k={k} at ({i},{j})"
                        );
                    }
                    for j in n..ld {
                        assert!(
                            got[i * ld + j].is_nan(),
                            "wrote past the block at m={m} n={n} k={k}"
                        );
                    }
                }
            }
        }
    }
}
