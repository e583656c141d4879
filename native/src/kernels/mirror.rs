//! The other half of a symmetric all-pairs answer: for the rows [row0, row1) of one strip of a row-major n × n
//! matrix, out[c·n + r] = out[r·n + c] for every column c ≥ row1 (a self-similarity strip computes only the
//! columns ≥ row0; this fills the rows below it). Values are moved, not computed, so every level gives the same
//! bits.
//!
//! Why by hand: it is a transpose of a rectangle into another place of the same buffer, which no library call
//! here offers, and it is W1's second cost: a JavaScript loop took ~24 ms of CPU for the 4096² answer (of ~80 ms
//! in all). The SIMD levels move 8 × 8 blocks through registers (the k-means kernel's 8 × 8 transpose: eight
//! row loads, an unpack/shuffle/lane network, eight row stores); edges go one value at a time. Loop order: a
//! band of 8 destination rows at a time, along the strip, so each destination row is written as one contiguous
//! run and the source strip (just written by the similarity kernel) is read from cache.

/// Checks the strip against the matrix: what every level assumes.
fn check(out: &[f32], n: usize, row0: usize, row1: usize) {
    assert!(row0 <= row1 && row1 <= n && out.len() >= n * n, "mirror strip out of range");
}

/// One value at a time over columns [c0, c1) and rows [r0, r1).
fn scalar_block(out: &mut [f32], n: usize, r0: usize, r1: usize, c0: usize, c1: usize) {
    for c in c0..c1 {
        for r in r0..r1 {
            out[c * n + r] = out[r * n + c];
        }
    }
}

/// Scalar twin: bands of 16 destination rows, each filled along the strip.
pub fn mirror_strip_f32_scalar(out: &mut [f32], n: usize, row0: usize, row1: usize) {
    check(out, n, row0, row1);
    let mut c0 = row1;
    while c0 < n {
        let c1 = (c0 + 16).min(n);
        scalar_block(out, n, row0, row1, c0, c1);
        c0 = c1;
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn mirror_strip_f32_avx2(out: &mut [f32], n: usize, row0: usize, row1: usize) {
    check(out, n, row0, row1);
    #[cfg(target_arch = "x86_64")]
    {
        let h8 = row0 + (row1 - row0) / 8 * 8;
        let mut c0 = row1;
        while c0 + 8 <= n {
            let p = out.as_mut_ptr();
            let mut r = row0;
            while r < h8 {
                // SAFETY: rows r..r+8 < row1 ≤ c0 and columns c0..c0+8 ≤ n lie inside the checked n × n
                // matrix, as do rows c0..c0+8, columns r..r+8; the first block is above row1, the second below.
                unsafe { super::kmeans::small_k::transpose8(p.add(r * n + c0), n, p.add(c0 * n + r), n) };
                r += 8;
            }
            scalar_block(out, n, h8, row1, c0, c0 + 8);
            c0 += 8;
        }
        scalar_block(out, n, row0, row1, c0, n);
    }
    #[cfg(not(target_arch = "x86_64"))]
    mirror_strip_f32_scalar(out, n, row0, row1)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA. (Moving values is bound by memory, not by the
/// register width: the AVX2 blocks serve this level too.)
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn mirror_strip_f32_avx512(out: &mut [f32], n: usize, row0: usize, row1: usize) {
    mirror_strip_f32_avx2(out, n, row0, row1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::{self, Isa};

    /// The oracle: the definition, cell by cell, on a matrix whose every cell holds a distinct value.
    fn expected(n: usize, row0: usize, row1: usize) -> (Vec<f32>, Vec<f32>) {
        let start: Vec<f32> = (0..n * n).map(|i| i as f32 + 0.5).collect();
        let mut want = start.clone();
        for r in row0..row1 {
            for c in row1..n {
                want[c * n + r] = start[r * n + c];
            }
        }
        (start, want)
    }

    #[test]
    fn every_level_moves_each_cell_of_the_strip_and_touches_nothing_else() {
        for &(n, row0, row1) in &[(1, 0, 1), (5, 0, 2), (8, 0, 8), (17, 3, 11), (40, 0, 16), (40, 16, 33), (67, 9, 58), (64, 64, 64), (30, 7, 7)] {
            let (start, want) = expected(n, row0, row1);
            for isa in Isa::ALL {
                if !simd::usable(isa) {
                    continue;
                }
                let mut out = start.clone();
                // SAFETY: the level runs on this CPU (checked above).
                unsafe {
                    match isa {
                        Isa::Scalar => mirror_strip_f32_scalar(&mut out, n, row0, row1),
                        Isa::Avx2 => mirror_strip_f32_avx2(&mut out, n, row0, row1),
                        Isa::Avx512 => mirror_strip_f32_avx512(&mut out, n, row0, row1),
                    }
                }
                assert_eq!(out, want, "n={n} rows {row0}..{row1} at {isa:?}");
            }
        }
    }
}
