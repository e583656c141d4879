//! Implicit ALS, the conjugate-gradient solver (see als.rs for the system): `cg_steps` steps warm-started from
//! the current x_u that never form A_u, A_u·p = YᵀY·p + λ_u p + Σ_{i ∈ u} (c_ui − 1)(y_i·p) y_i.
//! Precision: every product and its sum in f32, as implicit's CPU solver does (YᵀY rounded to f32 once per call;
//! at k = 64 it is 16 KiB and stays in L1), so twice the lanes of f64 and half the bytes streamed; the CG
//! scalars (rᵀr, pᵀAp) are dot products of those f32 vectors summed in f64, and α, β are f64 rounded to f32.
//! Rows are solved in groups of four that share each read of YᵀY; a row's arithmetic never depends on the rows
//! grouped with it nor on the block split. Tails (k or a row's length not a multiple of the vector width) run
//! narrower strips, then scalar code.

use super::als_cg_ops::{gather_group, gather_plan, in_order_only, multi_apply, span, Cg, Gathered, CHUNK, GATHER_COLS_MAX, GROUP, IN_PLACE_MAX, PAD};
#[cfg(target_arch = "x86_64")]
use super::als_cg_avx512::{axpy_avx512, direction_avx512, dot64_avx512};
use super::scratch::{Scratch, ALS_COLS, ALS_WORK};

/// Σ a·b over f32 vectors, summed in f64 (the CG scalars).
#[inline(always)]
fn dot64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut v = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..8 {
            v[l] += f64::from(pa[l]) * f64::from(pb[l]);
        }
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += f64::from(*x) * f64::from(*y);
    }
    s
}

/// o = o + s·v.
#[inline(always)]
fn axpy(o: &mut [f32], s: f32, v: &[f32]) {
    for (ov, vv) in o.iter_mut().zip(v) {
        *ov += s * *vv;
    }
}

/// The CG vector operations at the level: AVX-512 runs intrinsic twins with the same rounding (see
/// `dot64_avx512`), the other levels the portable loops.
#[inline(always)]
fn dot<const W: bool>(a: &[f32], b: &[f32]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if W {
        // SAFETY: the AVX-512 level runs on a CPU with AVX-512 F (the table's contract).
        return unsafe { dot64_avx512(a, b) };
    }
    dot64(a, b)
}

#[inline(always)]
fn axpy_at<const W: bool>(o: &mut [f32], s: f32, v: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if W {
        // SAFETY: as in `dot`.
        return unsafe { axpy_avx512(o, s, v) };
    }
    axpy(o, s, v)
}

/// p = r + β·p.
#[inline(always)]
fn direction<const W: bool>(p: &mut [f32], r: &[f32], beta: f32) {
    #[cfg(target_arch = "x86_64")]
    if W {
        // SAFETY: as in `dot`.
        return unsafe { direction_avx512(p, r, beta) };
    }
    for (pv, rr) in p.iter_mut().zip(r.iter()) {
        *pv = *rr + beta * *pv;
    }
}

/// `cg_steps` CG steps for rows us..us+g in lock step (`buf`: 4·GROUP·k). Returns −1 or the first row whose
/// system is not positive definite.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cg_group<const F: bool, const W: bool>(a: &Cg<'_>, us: usize, g: usize, lams: &[f32; GROUP], cg_steps: usize, x: &mut [f32], buf: &mut [f32], gat: &Gathered, cols: &mut [f32], tbuf: &mut [f32], chunk: &mut [f32]) -> i64 {
    let (k, ptr) = (a.k, a.ptr);
    gather_group::<W>(a, us, g, gat, cols);
    let (rv, rest) = buf.split_at_mut(GROUP * k);
    let (xs, rest) = rest.split_at_mut(GROUP * k);
    let (ps, rest) = rest.split_at_mut(GROUP * k);
    let aps = &mut rest[..GROUP * k];
    for j in 0..g {
        let u = us + j;
        if ptr[u] == ptr[u + 1] {
            // b = 0: x = 0 without steps (see als.rs).
            xs[j * k..j * k + k].fill(0.0);
        } else {
            xs[j * k..j * k + k].copy_from_slice(&x[u * k..u * k + k]);
        }
    }
    // A short last group's unused vectors are zeroed so the lanes computed on them (never stored) see no stale
    // denormals or NaNs.
    for j in g..GROUP {
        xs[j * k..j * k + k].fill(0.0);
        ps[j * k..j * k + k].fill(0.0);
    }
    // A x − b in one pass over the interactions (b = Σ c_ui y_i rides on the product's own sums), then r = b − A x.
    multi_apply::<F, W>(a, us, g, lams, xs, aps, gat, cols, tbuf, chunk, true);
    let mut rs = [0.0f64; GROUP];
    for j in 0..g {
        let (r, ap) = (&mut rv[j * k..j * k + k], &aps[j * k..j * k + k]);
        if ptr[us + j] == ptr[us + j + 1] {
            r.fill(0.0);
        } else {
            for (rr, v) in r.iter_mut().zip(ap) {
                *rr = -*v;
            }
        }
        ps[j * k..j * k + k].copy_from_slice(r);
        rs[j] = dot::<W>(r, r);
    }
    let mut live = [false; GROUP];
    let mut failed = -1i64;
    for _ in 0..cg_steps {
        for j in 0..g {
            live[j] = rs[j] >= 1e-20 || rs[j].is_nan();
        }
        if !live[..g].iter().any(|&l| l) {
            break;
        }
        multi_apply::<F, W>(a, us, g, lams, ps, aps, gat, cols, tbuf, chunk, false);
        for j in 0..g {
            if !live[j] {
                continue;
            }
            let (p, ap) = (&mut ps[j * k..j * k + k], &aps[j * k..j * k + k]);
            let pap = dot::<W>(p, ap);
            if !pap.is_finite() || pap <= 0.0 {
                if failed < 0 {
                    failed = (us + j) as i64;
                }
                rs[j] = 0.0;
                continue;
            }
            let step = (rs[j] / pap) as f32;
            let (r, xv) = (&mut rv[j * k..j * k + k], &mut xs[j * k..j * k + k]);
            axpy_at::<W>(xv, step, p);
            axpy_at::<W>(r, -step, ap);
            let rs_new = dot::<W>(r, r);
            let beta = (rs_new / rs[j]) as f32;
            direction::<W>(p, r, beta);
            rs[j] = rs_new;
        }
    }
    if failed >= 0 {
        return failed;
    }
    for j in 0..g {
        let u = us + j;
        x[u * k..u * k + k].copy_from_slice(&xs[j * k..j * k + k]);
    }
    -1
}

/// `len` values of a scratch buffer starting on a 64-byte line: with k and the gather's strides multiples of
/// 16, every vector load of YᵀY and of the gathered rows then stays within one cache line.
#[inline(always)]
fn aligned(buf: &mut Scratch<f32>, len: usize) -> &mut [f32] {
    let b = buf.slice_grow(len + 16);
    let skip = (b.as_ptr() as usize / 4).wrapping_neg() % 16;
    &mut b[skip..skip + len]
}

/// The CG solver over rows [row0, row1); `F`: whether the level has FMA, `W`: whether it is AVX-512.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn solve_cg<const F: bool, const W: bool>(yty: &[f64], y: &[f32], k: usize, ptr: &[i32], idx: &[i32], val: &[f32], row0: usize, row1: usize, x: &mut [f32], alpha: f64, reg: f64, reg_mode: u32, cg_steps: usize) -> i64 {
    let mut work = Scratch::take(&ALS_WORK, 0);
    let mut cols = Scratch::take(&ALS_COLS, 0);
    let wmax_all = (row0..row1).map(|u| (ptr[u + 1] - ptr[u]) as usize).max().unwrap_or(0).div_ceil(PAD) * PAD;
    // YᵀY (its length rounded up to whole lines, so the next part starts on one too), the piece of a row too
    // long to keep gathered (when the block has one), the group's CG vectors, then each row's t.
    let kk = (k * k).div_ceil(16) * 16;
    let ch = if 2 * wmax_all * k > GATHER_COLS_MAX { span::<W>(CHUNK, k) } else { 0 };
    let buf = aligned(&mut work, kk + ch + 4 * GROUP * k + wmax_all);
    let (yty32, rest) = buf.split_at_mut(kk);
    let (chunk, rest) = rest.split_at_mut(ch);
    let (vecs, tbuf) = rest.split_at_mut(4 * GROUP * k);
    let yty32 = &mut yty32[..k * k];
    for (d, s) in yty32.iter_mut().zip(&yty[..k * k]) {
        *d = *s as f32;
    }
    // Reading rows in place trusts every index of the block to be a row of y: checked here once (the products
    // would otherwise check each index at each of the cg_steps + 1 products).
    let (q0, q1) = (ptr[row0] as usize, ptr[row1] as usize);
    let in_place = in_order_only::<W>() && y.len() * 4 <= IN_PLACE_MAX && idx[q0..q1].iter().all(|&i| i >= 0 && (i as usize + 1) * k <= y.len());
    let a = Cg { yty: yty32, y, k, ptr, idx, val, alpha: alpha as f32, in_place };
    let mut us = row0;
    while us < row1 {
        let g = GROUP.min(row1 - us);
        let mut lams = [0.0f32; GROUP];
        for (j, l) in lams.iter_mut().enumerate().take(g) {
            let n = (ptr[us + j + 1] - ptr[us + j]) as f64;
            *l = (if reg_mode == 1 { reg * n } else { reg }) as f32;
        }
        let (gat, len) = gather_plan::<W>(k, ptr, us, g, a.in_place);
        let failed = cg_group::<F, W>(&a, us, g, &lams, cg_steps, x, vecs, &gat, aligned(&mut cols, len), tbuf, chunk);
        if failed >= 0 {
            return failed;
        }
        us += g;
    }
    -1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row too long to keep gathered (pieces of CHUNK gathered again for each product) reaches the f64 dense
    /// solution like any row, at the portable and the AVX-512 level; the short row after it checks the group.
    #[test]
    fn a_row_too_long_to_gather_is_solved_in_pieces() {
        // A small Y (read in place at AVX-512) and one past IN_PLACE_MAX (gathered, the long row in pieces).
        for other in [37usize, IN_PLACE_MAX / (4 * 16) + 5] {
            long_row_case(other);
        }
    }

    fn long_row_case(other: usize) {
        let k = 16usize;
        let n = GATHER_COLS_MAX / (2 * k) + 300;
        let y: Vec<f32> = (0..other * k).map(|i| ((i * 29 % 23) as f32 - 11.0) / 40.0).collect();
        let idx: Vec<i32> = (0..n + 5).map(|q| ((q * 7 + q / 11) % other) as i32).collect();
        let val: Vec<f32> = (0..n + 5).map(|q| (q % 3) as f32 * 0.5).collect();
        let ptr = [0, n as i32, n as i32 + 5];
        let (alpha, reg) = (0.01f64, 50.0f64);
        let mut yty = vec![0.0f64; k * k];
        for i in 0..other {
            for r in 0..k {
                for c in 0..k {
                    yty[r * k + c] += f64::from(y[i * k + r]) * f64::from(y[i * k + c]);
                }
            }
        }
        for row in 0..2 {
            // Dense f64 system of the row, solved by Gaussian elimination.
            let mut am = yty.clone();
            let mut b = vec![0.0f64; k];
            for q in ptr[row] as usize..ptr[row + 1] as usize {
                let (i, c) = (idx[q] as usize, 1.0 + alpha * f64::from(val[q]));
                for r in 0..k {
                    b[r] += c * f64::from(y[i * k + r]);
                    for t in 0..k {
                        am[r * k + t] += (c - 1.0) * f64::from(y[i * k + r]) * f64::from(y[i * k + t]);
                    }
                }
            }
            for r in 0..k {
                am[r * k + r] += reg;
            }
            for c in 0..k {
                for r in c + 1..k {
                    let f = am[r * k + c] / am[c * k + c];
                    for t in c..k {
                        am[r * k + t] -= f * am[c * k + t];
                    }
                    b[r] -= f * b[c];
                }
            }
            let mut want = vec![0.0f64; k];
            for r in (0..k).rev() {
                let s: f64 = (r + 1..k).map(|t| am[r * k + t] * want[t]).sum();
                want[r] = (b[r] - s) / am[r * k + r];
            }
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for avx512 in [false, true] {
                if avx512 && !(std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")) {
                    continue;
                }
                let mut x = vec![0.0f32; 2 * k];
                let failed = if avx512 {
                    solve_cg::<true, true>(&yty, &y, k, &ptr, &idx, &val, 0, 2, &mut x, alpha, reg, 0, 2 * k)
                } else {
                    solve_cg::<false, false>(&yty, &y, k, &ptr, &idx, &val, 0, 2, &mut x, alpha, reg, 0, 2 * k)
                };
                assert_eq!(failed, -1);
                for r in 0..k {
                    let got = f64::from(x[row * k + r]);
                    assert!((got - want[r]).abs() <= 1e-3 * scale, "row {row} avx512 {avx512} [{r}]: {got} vs {}", want[r]);
                }
            }
        }
    }
}
