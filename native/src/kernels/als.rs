//! Implicit ALS (Hu, Koren & Volinsky 2008), one half-step over a block of CSR rows: for each row u,
//!   A_u = YᵀY + Σ_{i ∈ u} (c_ui − 1) y_i y_iᵀ + λ_u I,   b_u = Σ_{i ∈ u} c_ui y_i,   c_ui = 1 + α·r_ui,
//! and x_u = A_u⁻¹ b_u, written over the row's f32 factors. λ_u is λ (plain) or λ·|u| (ALS-WR).
//! No BLAS or LAPACK offers this fused per-row step (a sparse-weighted Gram update followed by a tiny
//! solve); building each A_u in f64 from f32 factors and solving it in place keeps one row's work in cache.
//! Two solvers: an exact Cholesky of A_u in f64 (here), or `cg_steps` conjugate-gradient steps warm-started
//! from the current x_u that never form A_u, with f32 products (als_cg.rs).
//! A row without interactions has b_u = 0 and gets x_u = 0 without a solve.
//! A system that is not positive definite (a pivot ≤ tiny relative to the diagonal, or pᵀA p ≤ 0 in CG)
//! stops the block: the returned value is that row's index (−1 when every row was solved).
//! The Cholesky path is the same code at every ISA level compiled with wider vectors (contiguous axpys and
//! eight-lane dot products that LLVM vectorises under each target feature).

use super::als_cg::solve_cg;

pub struct AlsArgs<'a> {
    /// k × k, both triangles (f64).
    pub yty: &'a [f64],
    /// n_other × k, f32: the other side's factors.
    pub y: &'a [f32],
    pub k: usize,
    pub ptr: &'a [i32],
    pub idx: &'a [i32],
    pub val: &'a [f32],
    pub row0: usize,
    pub row1: usize,
    /// rows × k (this side), f32: read as the warm start, overwritten for rows [row0, row1).
    pub x: &'a mut [f32],
    pub alpha: f64,
    pub reg: f64,
    /// 0: λ; 1: λ·(nonzeros in the row).
    pub reg_mode: u32,
    /// 0: Cholesky; 1: conjugate gradient.
    pub solver: u32,
    pub cg_steps: usize,
    /// k·k + 5·k f64 scratch (the Cholesky solver uses k·k + k of it; the CG solver has its own f32 buffers).
    pub scratch: &'a mut [f64],
}

pub fn scratch_len(k: usize) -> usize {
    k * k + 5 * k
}

#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    // Four independent eight-lane sums: the adds of one chain wait on each other (4 cycles), four chains do not.
    let mut acc = [0.0f64; 32];
    let (ca, cb) = (a.chunks_exact(32), b.chunks_exact(32));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..32 {
            acc[l] += pa[l] * pb[l];
        }
    }
    let mut v = [0.0f64; 8];
    for l in 0..8 {
        v[l] = (acc[l] + acc[l + 8]) + (acc[l + 16] + acc[l + 24]);
    }
    let (ca, cb) = (ra.chunks_exact(8), rb.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..8 {
            v[l] += pa[l] * pb[l];
        }
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

#[inline(always)]
fn axpy_f32(out: &mut [f64], a: f64, y: &[f32]) {
    for (o, v) in out.iter_mut().zip(y) {
        *o += a * f64::from(*v);
    }
}

/// The read-only part of the arguments.
struct Ctx<'a> {
    yty: &'a [f64],
    y: &'a [f32],
    idx: &'a [i32],
    val: &'a [f32],
    alpha: f64,
}

/// `F`: whether the level has FMA (the CG solver's f32 products use it), `W`: whether it is AVX-512.
#[inline(always)]
fn solve_block<const F: bool, const W: bool>(args: AlsArgs<'_>) -> i64 {
    let AlsArgs { yty, y, k, ptr, idx, val, row0, row1, x, alpha, reg, reg_mode, solver, cg_steps, scratch } = args;
    if solver == 1 {
        return solve_cg::<F, W>(yty, y, k, ptr, idx, val, row0, row1, x, alpha, reg, reg_mode, cg_steps);
    }
    let a = Ctx { yty, y, idx, val, alpha };
    let (m, rest) = scratch.split_at_mut(k * k);
    let bv = &mut rest[..k];
    for u in row0..row1 {
        let (q0, q1) = (ptr[u] as usize, ptr[u + 1] as usize);
        if q0 == q1 {
            // b_u = 0, so x_u = 0 exactly (also when λ_u = 0 would make A_u singular: 0 is then a solution).
            x[u * k..u * k + k].fill(0.0);
            continue;
        }
        let lam = if reg_mode == 1 { reg * (q1 - q0) as f64 } else { reg };
        bv.fill(0.0);
        // Upper triangle of A_u, row by row: each rank-one update is a contiguous axpy per row.
        m.copy_from_slice(&a.yty[..k * k]);
        for q in q0..q1 {
            let i = a.idx[q] as usize;
            let c = 1.0 + a.alpha * f64::from(a.val[q]);
            let yf = &a.y[i * k..i * k + k];
            axpy_f32(bv, c, yf);
            let w = c - 1.0;
            for r in 0..k {
                let s = w * f64::from(yf[r]);
                axpy_f32(&mut m[r * k + r..r * k + k], s, &yf[r..]);
            }
        }
        // Cholesky A = LLᵀ with L stored row-major in the lower triangle (rows contiguous for the dots);
        // the upper triangle still holds A, read as A[j][i] for i ≥ j.
        let mut scale = 0.0f64;
        for r in 0..k {
            m[r * k + r] += lam;
            scale = scale.max(m[r * k + r].abs());
        }
        let tiny = scale * 1e-13;
        for i in 0..k {
            for j in 0..=i {
                let aij = m[j * k + i];
                let s = aij - dot(&m[i * k..i * k + j], &m[j * k..j * k + j]);
                if i == j {
                    if !s.is_finite() || s <= tiny {
                        return u as i64;
                    }
                    m[i * k + i] = s.sqrt();
                } else {
                    m[i * k + j] = s / m[j * k + j];
                }
            }
        }
        // L z = b, then Lᵀ x = z.
        for i in 0..k {
            let s = bv[i] - dot(&m[i * k..i * k + i], &bv[..i]);
            bv[i] = s / m[i * k + i];
        }
        for i in (0..k).rev() {
            let mut s = bv[i];
            for j in i + 1..k {
                s -= m[j * k + i] * bv[j];
            }
            bv[i] = s / m[i * k + i];
        }
        for (xo, v) in x[u * k..u * k + k].iter_mut().zip(bv.iter()) {
            *xo = *v as f32;
        }
    }
    -1
}

pub fn als_solve_scalar(a: AlsArgs<'_>) -> i64 {
    solve_block::<false, false>(a)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn als_solve_avx2(a: AlsArgs<'_>) -> i64 {
    solve_block::<true, false>(a)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn als_solve_avx512(a: AlsArgs<'_>) -> i64 {
    solve_block::<true, true>(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One row solved by every level agrees with the normal equations formed densely.
    #[test]
    fn one_row_matches_dense_normal_equations() {
        let (k, n) = (5usize, 9usize);
        let y: Vec<f32> = (0..n * k).map(|i| (((i * 37) % 17) as f32) / 10.0 - 0.8).collect();
        let mut yty = vec![0.0f64; k * k];
        for i in 0..n {
            for r in 0..k {
                for c in 0..k {
                    yty[r * k + c] += f64::from(y[i * k + r]) * f64::from(y[i * k + c]);
                }
            }
        }
        let ptr = [0, 3];
        let idx = [1, 4, 7];
        let val = [1.0f32, 3.0, 2.0];
        let (alpha, reg) = (2.0, 0.1);
        // Dense A and b.
        let mut am = yty.clone();
        let mut b = vec![0.0f64; k];
        for (q, &i) in idx.iter().enumerate() {
            let c = 1.0 + alpha * f64::from(val[q]);
            for r in 0..k {
                b[r] += c * f64::from(y[i as usize * k + r]);
                for s in 0..k {
                    am[r * k + s] += (c - 1.0) * f64::from(y[i as usize * k + r]) * f64::from(y[i as usize * k + s]);
                }
            }
        }
        for r in 0..k {
            am[r * k + r] += reg;
        }
        for solver in [0u32, 1] {
            let mut x = vec![0.0f32; k];
            let mut scratch = vec![0.0; scratch_len(k)];
            let failed = als_solve_scalar(AlsArgs {
                yty: &yty, y: &y, k, ptr: &ptr, idx: &idx, val: &val, row0: 0, row1: 1, x: &mut x,
                alpha, reg, reg_mode: 0, solver, cg_steps: 50, scratch: &mut scratch,
            });
            assert_eq!(failed, -1);
            for r in 0..k {
                let ax: f64 = (0..k).map(|s| am[r * k + s] * f64::from(x[s])).sum();
                assert!((ax - b[r]).abs() < 1e-4 * (1.0 + b[r].abs()), "solver {solver} row {r}: {ax} vs {}", b[r]);
            }
        }
    }

    #[test]
    fn a_singular_system_names_its_row() {
        let k = 3;
        let y = vec![0.0f32; 2 * k];
        let yty = vec![0.0f64; k * k];
        let mut x = vec![0.0f32; 2 * k];
        let mut scratch = vec![0.0; scratch_len(k)];
        let failed = als_solve_scalar(AlsArgs {
            yty: &yty, y: &y, k, ptr: &[0, 1, 2], idx: &[0, 1], val: &[1.0, 1.0], row0: 1, row1: 2, x: &mut x,
            alpha: 1.0, reg: 0.0, reg_mode: 0, solver: 0, cg_steps: 3, scratch: &mut scratch,
        });
        assert_eq!(failed, 1);
    }
}
