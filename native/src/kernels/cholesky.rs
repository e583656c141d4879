//! Solves G X = B in place by Cholesky, f64: reads the upper triangle of row-major G (n × n),
//! overwrites G with the factor and B (n × nrhs, row-major) with X. A pivot that is not > 0 (or not
//! finite) fails with NOT_POSITIVE_DEFINITE and its index. No SIMD tails of its own (faer's inside).

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    cholesky_in_place, cholesky_in_place_scratch, LltError, LltRegularization,
};
use faer::linalg::cholesky::llt::solve::{solve_in_place, solve_in_place_scratch};
use faer::{MatMut, Par};

use crate::error::KernelError;

/// Scalar twin: the upper factor U (G = UᵀU) row by row in the upper triangle, then two substitutions.
pub fn cholesky_solve_f64_scalar(
    g: &mut [f64],
    n: usize,
    b: &mut [f64],
    nrhs: usize,
) -> Result<(), KernelError> {
    for j in 0..n {
        let mut s = g[j * n + j];
        for p in 0..j {
            s -= g[p * n + j] * g[p * n + j];
        }
        if !s.is_finite() || s <= 0.0 {
            return Err(KernelError::not_positive_definite(j));
        }
        let ujj = s.sqrt();
        g[j * n + j] = ujj;
        for c in j + 1..n {
            let mut t = g[j * n + c];
            for p in 0..j {
                t -= g[p * n + j] * g[p * n + c];
            }
            g[j * n + c] = t / ujj;
        }
    }
    for r in 0..nrhs {
        for i in 0..n {
            let mut s = b[i * nrhs + r];
            for p in 0..i {
                s -= g[p * n + i] * b[p * nrhs + r];
            }
            b[i * nrhs + r] = s / g[i * n + i];
        }
        for i in (0..n).rev() {
            let mut s = b[i * nrhs + r];
            for p in i + 1..n {
                s -= g[i * n + p] * b[p * nrhs + r];
            }
            b[i * nrhs + r] = s / g[i * n + i];
        }
    }
    Ok(())
}

/// faer's blocked LLᵀ. Row-major G's upper triangle is the lower triangle of G read column-major, which
/// is what faer factors, so no copy of G is made. B is solved in a column-major copy when nrhs > 1,
/// because faer's GEMM mishandles row-major destinations (see `similarity`).
fn faer_llt_solve(g: &mut [f64], n: usize, b: &mut [f64], nrhs: usize) -> Result<(), KernelError> {
    if n == 0 {
        return Ok(());
    }
    let mut gm = MatMut::from_column_major_slice_mut(&mut g[..n * n], n, n);
    let req = cholesky_in_place_scratch::<f64>(n, Par::Seq, Default::default())
        .or(solve_in_place_scratch::<f64>(n, nrhs, Par::Seq));
    let mut mem = MemBuffer::new(req);
    let stack = MemStack::new(&mut mem);
    match cholesky_in_place(
        gm.as_mut(),
        LltRegularization::default(),
        Par::Seq,
        stack,
        Default::default(),
    ) {
        Ok(_) => {}
        Err(LltError::NonPositivePivot { index }) => {
            return Err(KernelError::not_positive_definite(index))
        }
    }
    if nrhs == 0 {
        return Ok(());
    }
    if nrhs == 1 {
        let rhs = MatMut::from_column_major_slice_mut(&mut b[..n], n, 1);
        solve_in_place(gm.as_ref(), rhs, Par::Seq, stack);
    } else {
        let mut cm = vec![0.0f64; n * nrhs];
        for i in 0..n {
            for r in 0..nrhs {
                cm[r * n + i] = b[i * nrhs + r];
            }
        }
        solve_in_place(
            gm.as_ref(),
            MatMut::from_column_major_slice_mut(&mut cm, n, nrhs),
            Par::Seq,
            stack,
        );
        for i in 0..n {
            for r in 0..nrhs {
                b[i * nrhs + r] = cm[r * n + i];
            }
        }
    }
    Ok(())
}

/// # Safety
/// The CPU must support AVX2 and FMA (faer picks its own kernels; the level is kept for symmetry).
#[target_feature(enable = "avx2,fma")]
pub unsafe fn cholesky_solve_f64_avx2(
    g: &mut [f64],
    n: usize,
    b: &mut [f64],
    nrhs: usize,
) -> Result<(), KernelError> {
    faer_llt_solve(g, n, b, nrhs)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn cholesky_solve_f64_avx512(
    g: &mut [f64],
    n: usize,
    b: &mut [f64],
    nrhs: usize,
) -> Result<(), KernelError> {
    faer_llt_solve(g, n, b, nrhs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spd(n: usize) -> Vec<f64> {
        let m = n + 3;
        let a: Vec<f64> = (0..n * m)
            .map(|i| (((i * 7919) % 101) as f64) / 50.0 - 1.0)
            .collect();
        let mut g = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let mut s = if i == j { n as f64 } else { 0.0 };
                for p in 0..m {
                    s += a[i * m + p] * a[j * m + p];
                }
                g[i * n + j] = s;
            }
        }
        g
    }

    #[test]
    fn residual_is_small_for_every_size_and_rhs_count() {
        for &n in &[1usize, 2, 3, 5, 8, 17, 64, 130, 300] {
            for &nrhs in &[1usize, 3] {
                let g = spd(n);
                let rhs: Vec<f64> = (0..n * nrhs).map(|i| ((i % 13) as f64) - 6.0).collect();
                for scalar in [true, false] {
                    let mut f = g.clone();
                    // Garbage in the strict lower triangle must be ignored.
                    for i in 0..n {
                        for j in 0..i {
                            f[i * n + j] = f64::NAN;
                        }
                    }
                    let mut x = rhs.clone();
                    if scalar {
                        cholesky_solve_f64_scalar(&mut f, n, &mut x, nrhs).unwrap();
                    } else {
                        unsafe { cholesky_solve_f64_avx2(&mut f, n, &mut x, nrhs).unwrap() };
                    }
                    for i in 0..n {
                        for r in 0..nrhs {
                            let s: f64 = (0..n).map(|p| g[i * n + p] * x[p * nrhs + r]).sum();
                            let want = rhs[i * nrhs + r];
                            assert!(
                                (s - want).abs() <= 1e-9 + 1e-8 * want.abs(),
                                "n={n} nrhs={nrhs} scalar={scalar}: {s} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn a_non_positive_pivot_names_its_index() {
        let bad = [4.0, 2.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        let e1 = cholesky_solve_f64_scalar(&mut bad.clone(), 3, &mut [0.0; 3], 1).unwrap_err();
        let e2 =
            unsafe { cholesky_solve_f64_avx2(&mut bad.clone(), 3, &mut [0.0; 3], 1).unwrap_err() };
        assert_eq!(e1, e2);
        assert_eq!(e1, KernelError::not_positive_definite(1));
        let inf = [1.0, 0.0, 0.0, f64::INFINITY];
        let e3 =
            unsafe { cholesky_solve_f64_avx2(&mut inf.clone(), 2, &mut [0.0; 2], 1).unwrap_err() };
        assert_eq!(e3, KernelError::not_positive_definite(1));
    }
}
