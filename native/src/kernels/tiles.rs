//! Tile GEMM of the blocked Cholesky inverse (family `tiles`), f64 (and f32 for the f32 solve): C = alpha·A·B, or C += alpha·A·B, on
//! strided blocks that may lie in one buffer (C never overlaps A or B; the caller guarantees it). The scalar
//! twin runs plain loops, depth ascending per element; the SIMD levels call faer's sequential GEMM, which
//! picks its own microkernels for this CPU. No tails of its own (faer's inside, loops in the twin).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// One GEMM on strided operands: element (i, j) of X at x[i·x_rs + j·x_cs] from its pointer.
#[derive(Clone, Copy)]
pub struct TileGemm<T> {
    pub c: *mut T,
    pub c_rs: isize,
    pub c_cs: isize,
    pub a: *const T,
    pub a_rs: isize,
    pub a_cs: isize,
    pub b: *const T,
    pub b_rs: isize,
    pub b_cs: isize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub alpha: T,
    pub accumulate: bool,
}

/// The destination made column-major (faer mishandles row-major ones, see `similarity`): a destination with
/// unit column stride is computed as the transposed product Cᵀ = alpha·Bᵀ·Aᵀ.
fn column_major<T: Copy>(g: TileGemm<T>) -> TileGemm<T> {
    if g.c_rs != 1 && g.c_cs == 1 {
        TileGemm {
            c_rs: g.c_cs,
            c_cs: g.c_rs,
            a: g.b,
            a_rs: g.b_cs,
            a_cs: g.b_rs,
            b: g.a,
            b_rs: g.a_cs,
            b_cs: g.a_rs,
            m: g.n,
            n: g.m,
            ..g
        }
    } else {
        g
    }
}

macro_rules! tile_gemm_levels {
    ($t:ty, $scalar:ident, $faer:ident, $avx2:ident, $avx512:ident) => {
        /// # Safety
        /// Every element the strides address must be in bounds, and C's elements must overlap neither A's nor B's.
        pub unsafe fn $scalar(g: TileGemm<$t>) {
            for j in 0..g.n as isize {
                let cj = g.c.offset(j * g.c_cs);
                if !g.accumulate {
                    for i in 0..g.m as isize {
                        *cj.offset(i * g.c_rs) = 0.0;
                    }
                }
                for p in 0..g.k as isize {
                    let s = g.alpha * *g.b.offset(p * g.b_rs + j * g.b_cs);
                    if s == 0.0 {
                        continue;
                    }
                    let ap = g.a.offset(p * g.a_cs);
                    for i in 0..g.m as isize {
                        *cj.offset(i * g.c_rs) += *ap.offset(i * g.a_rs) * s;
                    }
                }
            }
        }

        unsafe fn $faer(g: TileGemm<$t>) {
            if g.m == 0 || g.n == 0 {
                return;
            }
            let g = column_major(g);
            let mut dst = MatMut::from_raw_parts_mut(g.c, g.m, g.n, g.c_rs, g.c_cs);
            if g.k == 0 {
                if !g.accumulate {
                    dst.fill(0.0);
                }
                return;
            }
            let beta = if g.accumulate { Accum::Add } else { Accum::Replace };
            let lhs = MatRef::from_raw_parts(g.a, g.m, g.k, g.a_rs, g.a_cs);
            let rhs = MatRef::from_raw_parts(g.b, g.k, g.n, g.b_rs, g.b_cs);
            matmul(dst, beta, lhs, rhs, g.alpha, Par::Seq);
        }

        /// # Safety
        /// As the scalar twin; the CPU must support AVX2 and FMA.
        #[target_feature(enable = "avx2,fma")]
        pub unsafe fn $avx2(g: TileGemm<$t>) {
            $faer(g)
        }

        /// # Safety
        /// As the scalar twin; the CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
        pub unsafe fn $avx512(g: TileGemm<$t>) {
            $faer(g)
        }
    };
}

tile_gemm_levels!(f64, tile_gemm_f64_scalar, faer_gemm_f64, tile_gemm_f64_avx2, tile_gemm_f64_avx512);
tile_gemm_levels!(f32, tile_gemm_f32_scalar, faer_gemm_f32, tile_gemm_f32_avx2, tile_gemm_f32_avx512);

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a direct f64 triple loop, for every transpose combination and both accumulation modes.
    #[test]
    fn strided_products_match_the_definition() {
        let (m, n, k) = (37usize, 29usize, 41usize);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 31 % 17) as f64) - 8.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 13 % 11) as f64) - 5.0).collect();
        for (at, bt, ct) in [(false, false, false), (true, false, false), (false, true, false), (true, true, true)] {
            for acc in [false, true] {
                let (a_rs, a_cs) = if at { (k as isize, 1) } else { (1, m as isize) };
                let (b_rs, b_cs) = if bt { (n as isize, 1) } else { (1, k as isize) };
                let (c_rs, c_cs) = if ct { (n as isize, 1) } else { (1, m as isize) };
                let mut want = vec![1.5f64; m * n];
                for i in 0..m {
                    for j in 0..n {
                        let mut s = 0.0;
                        for p in 0..k {
                            s += a[(i as isize * a_rs + p as isize * a_cs) as usize] * b[(p as isize * b_rs + j as isize * b_cs) as usize];
                        }
                        let o = (i as isize * c_rs + j as isize * c_cs) as usize;
                        want[o] = if acc { 1.5 - 2.0 * s } else { -2.0 * s };
                    }
                }
                for level in 0..2 {
                    let mut c = vec![1.5f64; m * n];
                    let g = TileGemm { c: c.as_mut_ptr(), c_rs, c_cs, a: a.as_ptr(), a_rs, a_cs, b: b.as_ptr(), b_rs, b_cs, m, n, k, alpha: -2.0, accumulate: acc };
                    unsafe {
                        if level == 0 { tile_gemm_f64_scalar(g) } else { tile_gemm_f64_avx2(g) }
                    }
                    assert_eq!(c, want, "at={at} bt={bt} ct={ct} acc={acc} level={level}");
                }
            }
        }
    }
}
