//! Implicit ALS (Hu, Koren & Volinsky 2008), one half-step over a block of CSR rows: for each row u,
//!   A_u = YᵀY + Σ_{i ∈ u} (c_ui − 1) y_i y_iᵀ + λ_u I,   b_u = Σ_{i ∈ u} c_ui y_i,   c_ui = 1 + α·r_ui,
//! and x_u = A_u⁻¹ b_u, written over the row's f32 factors. λ_u is λ (plain) or λ·|u| (ALS-WR).
//! No BLAS or LAPACK offers this fused per-row step (a sparse-weighted Gram update followed by a tiny
//! solve); building each A_u in f64 from f32 factors and solving it in place keeps one row's work in cache.
//! Two solvers: an exact Cholesky of A_u, or `cg_steps` conjugate-gradient steps warm-started from the
//! current x_u that never form A_u (A_u·p = YᵀY·p + λ_u p + Σ (c_ui − 1)(y_i·p) y_i).
//! A row without interactions has b_u = 0 and gets x_u = 0 without a solve.
//! A system that is not positive definite (a pivot ≤ tiny relative to the diagonal, or pᵀA p ≤ 0 in CG)
//! stops the block: the returned value is that row's index (−1 when every row was solved).
//! The ISA levels are the same code compiled with wider vectors: the loops are written as contiguous
//! axpys and eight-lane dot products that LLVM vectorises under each target feature.

use super::scratch::{Scratch, ALS_COLS, ALS_ROWS};

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
    /// k·k + 5·k f64 scratch.
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
fn axpy(y: &mut [f64], a: f64, x: &[f64]) {
    for (yv, xv) in y.iter_mut().zip(x) {
        *yv += a * *xv;
    }
}

#[inline(always)]
fn load_row(dst: &mut [f64], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = f64::from(*s);
    }
}

/// y·p with y read as f32 and widened in the loop (no f64 copy of the row).
#[inline(always)]
fn dot_f32(y: &[f32], p: &[f64]) -> f64 {
    let n = y.len().min(p.len());
    let (y, p) = (&y[..n], &p[..n]);
    // Four independent eight-lane sums: the adds of one chain wait on each other (4 cycles), four chains do not.
    let mut acc = [0.0f64; 32];
    let (ca, cb) = (y.chunks_exact(32), p.chunks_exact(32));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..32 {
            acc[l] += f64::from(pa[l]) * pb[l];
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
            v[l] += f64::from(pa[l]) * pb[l];
        }
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += f64::from(*x) * y;
    }
    s
}

#[inline(always)]
fn axpy_f32(out: &mut [f64], a: f64, y: &[f32]) {
    for (o, v) in out.iter_mut().zip(y) {
        *o += a * f64::from(*v);
    }
}

/// A p for the CG solver from the row's other-side factors gathered as f64 (`g`, n × k): the four products of
/// a CG half-step then stream one contiguous block instead of gathering and widening f32 rows each time.
#[inline(always)]
fn apply_gathered(a: &Ctx<'_>, g: &[f64], q0: usize, lam: f64, p: &[f64], out: &mut [f64]) {
    let k = a.k;
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot(&a.yty[r * k..r * k + k], p) + lam * p[r];
    }
    for (t, row) in g.chunks_exact(k).enumerate() {
        let s = a.alpha * f64::from(a.val[q0 + t]) * dot(row, p);
        axpy(out, s, row);
    }
}

/// Rows gathered per CG row at most (doubles): beyond it (a very popular item) the f32 rows are read in place.
const GATHER_MAX: usize = 1 << 17;

/// A p for the CG solver, into `out`.
#[inline(always)]
fn apply(a: &Ctx<'_>, r0: usize, r1: usize, lam: f64, p: &[f64], out: &mut [f64]) {
    let k = a.k;
    for (r, o) in out.iter_mut().enumerate() {
        *o = dot(&a.yty[r * k..r * k + k], p) + lam * p[r];
    }
    for q in r0..r1 {
        let i = a.idx[q] as usize;
        let yi = &a.y[i * k..i * k + k];
        let s = a.alpha * f64::from(a.val[q]) * dot_f32(yi, p);
        axpy_f32(out, s, yi);
    }
}

/// Rows solved together by the CG solver (k ≥ 16): each (YᵀY + λI)·p product reads a row of YᵀY once for all of
/// them while it is in L1, instead of streaming the k × k matrix from L2 once per row and step, which bounds rows
/// with few interactions. Each row's arithmetic is exactly that of a row solved alone.
const GROUP: usize = 4;

/// Where a group row's gathered factors start in the gather buffer (None: more than GATHER_COLS_MAX values,
/// the products read the f32 rows in place). Whether a row is gathered depends on its own length only, so a
/// row's arithmetic never depends on the rows grouped with it.
type Gathered = [Option<usize>; GROUP];

/// Largest transposed gather of one row (f32 values, 16 MiB): popular items (tens of thousands of users) are
/// gathered too, since the in-place products cost several times more per interaction.
const GATHER_COLS_MAX: usize = 1 << 22;

/// The group's gather layout: each row's offset, the buffer length, and the widest row (padded).
#[inline(always)]
fn gather_plan(k: usize, ptr: &[i32], us: usize, g: usize) -> (Gathered, usize, usize) {
    let mut at = [None; GROUP];
    let (mut off, mut wmax) = (0usize, 0usize);
    for (j, slot) in at.iter_mut().enumerate().take(g) {
        let w = ((ptr[us + j + 1] - ptr[us + j]) as usize).div_ceil(8) * 8;
        if w * k <= GATHER_COLS_MAX {
            *slot = Some(off);
            off += w * k;
            wmax = wmax.max(w);
        }
    }
    (at, off, wmax)
}

/// Copies each group row's other-side factors transposed (k × n, f32, exact), so t = G·p becomes k contiguous
/// axpys over the row's n interactions instead of n dot products each ending in a horizontal sum.
#[inline(always)]
fn gather_group(a: &Ctx<'_>, ptr: &[i32], us: usize, g: usize, gat: &Gathered, cols: &mut [f32]) {
    let k = a.k;
    for j in 0..g {
        let (q0, q1) = (ptr[us + j] as usize, ptr[us + j + 1] as usize);
        let n = q1 - q0;
        let Some(off) = gat[j] else { continue };
        // Columns padded with zeros to a multiple of eight interactions, so G·p runs in whole vectors.
        let w = n.div_ceil(8) * 8;
        let gt = &mut cols[off..off + w * k];
        // In strips of eight interactions: each column's eight values are one contiguous write, and the
        // strip's eight source rows stay in L1 across the columns.
        let full = q0 + (n / 8) * 8;
        for t0 in (q0..full).step_by(8) {
            let src: [&[f32]; 8] = std::array::from_fn(|m| {
                let i = a.idx[t0 + m] as usize;
                &a.y[i * k..i * k + k]
            });
            let d = t0 - q0;
            for c in 0..k {
                let o: &mut [f32; 8] = (&mut gt[c * w + d..c * w + d + 8]).try_into().unwrap();
                for m in 0..8 {
                    o[m] = src[m][c];
                }
            }
        }
        if full < q1 {
            for c in 0..k {
                gt[c * w + n..c * w + w].fill(0.0);
            }
            for q in full..q1 {
                let i = a.idx[q] as usize;
                for c in 0..k {
                    gt[c * w + q - q0] = a.y[i * k + c];
                }
            }
        }
    }
}

/// acc += p·row, eight lanes (one vector at AVX-512, two at AVX2).
#[inline(always)]
fn fma8(acc: &mut [f64; 8], p: f64, row: &[f64; 8]) {
    for l in 0..8 {
        acc[l] += p * row[l];
    }
}

/// t = G p from the transposed gather (k × w, w = n rounded up to eight, zero-padded): 32 interactions at a
/// time summed in registers over the k columns (each t_q is Σ_c p_c·y_qc in c order whatever the blocking).
#[inline(always)]
fn gather_dots(gt: &[f32], w: usize, k: usize, p: &[f64], t: &mut [f64]) {
    let mut t0 = 0;
    while t0 + 32 <= w {
        let mut acc = [0.0f64; 32];
        for c in 0..k {
            let col: &[f32; 32] = gt[c * w + t0..c * w + t0 + 32].try_into().unwrap();
            let pc = p[c];
            for l in 0..32 {
                acc[l] += pc * f64::from(col[l]);
            }
        }
        t[t0..t0 + 32].copy_from_slice(&acc);
        t0 += 32;
    }
    while t0 + 8 <= w {
        let mut acc = [0.0f64; 8];
        for c in 0..k {
            let col: &[f32; 8] = gt[c * w + t0..c * w + t0 + 8].try_into().unwrap();
            let pc = p[c];
            for l in 0..8 {
                acc[l] += pc * f64::from(col[l]);
            }
        }
        t[t0..t0 + 8].copy_from_slice(&acc);
        t0 += 8;
    }
}

/// out_j = A_j p_j for the group's rows us..us+g (vectors j·k.. of `ps` and `out`). YᵀY is symmetric, so
/// YᵀY·p = Σ_c p_c·(row c of YᵀY): one contiguous axpy per row of YᵀY, read once for the whole group.
#[inline(always)]
fn multi_apply(a: &Ctx<'_>, ptr: &[i32], us: usize, g: usize, lams: &[f64; GROUP], ps: &[f64], out: &mut [f64], gat: &Gathered, cols: &[f32], tbuf: &mut [f64], minus_b: bool) {
    let k = a.k;
    // Eight outputs of every group row at a time held in registers across all of YᵀY's rows (one load of YᵀY
    // per four rows' products, no load and store of `out` per row of YᵀY); each output is still
    // λ p_r + Σ_c p_c·YᵀY[c][r] summed in c order.
    let mut r0 = 0;
    while r0 + 8 <= k {
        let init = |j: usize| -> [f64; 8] { std::array::from_fn(|l| lams[j] * ps[j * k + r0 + l]) };
        let (mut a0, mut a1, mut a2, mut a3) = (init(0), init(1), init(2), init(3));
        for c in 0..k {
            let row: &[f64; 8] = a.yty[c * k + r0..c * k + r0 + 8].try_into().unwrap();
            // Rows j ≥ g compute on zeros and are never stored.
            fma8(&mut a0, ps[c], row);
            fma8(&mut a1, ps[k + c], row);
            fma8(&mut a2, ps[2 * k + c], row);
            fma8(&mut a3, ps[3 * k + c], row);
        }
        let acc = [a0, a1, a2, a3];
        for j in 0..g {
            out[j * k + r0..j * k + r0 + 8].copy_from_slice(&acc[j]);
        }
        r0 += 8;
    }
    if r0 < k {
        for j in 0..g {
            for r in r0..k {
                out[j * k + r] = lams[j] * ps[j * k + r];
            }
        }
        for c in 0..k {
            for j in 0..g {
                let pc = ps[j * k + c];
                for r in r0..k {
                    out[j * k + r] += pc * a.yty[c * k + r];
                }
            }
        }
    }
    for j in 0..g {
        let (p, o) = (&ps[j * k..j * k + k], &mut out[j * k..j * k + k]);
        let (q0, q1) = (ptr[us + j] as usize, ptr[us + j + 1] as usize);
        let n = q1 - q0;
        if let Some(off) = gat[j] {
            let w = n.div_ceil(8) * 8;
            let gt = &cols[off..off + w * k];
            let t = &mut tbuf[..w];
            gather_dots(gt, w, k, p, t);
            for (q, tq) in (q0..q1).zip(t.iter()) {
                let i = a.idx[q] as usize;
                let w = a.alpha * f64::from(a.val[q]);
                let s = if minus_b { w * *tq - (1.0 + w) } else { w * *tq };
                axpy_f32(o, s, &a.y[i * k..i * k + k]);
            }
        } else {
            for q in q0..q1 {
                let i = a.idx[q] as usize;
                let yi = &a.y[i * k..i * k + k];
                let w = a.alpha * f64::from(a.val[q]);
                let t = dot_f32(yi, p);
                let s = if minus_b { w * t - (1.0 + w) } else { w * t };
                axpy_f32(o, s, yi);
            }
        }
    }
}

/// `cg_steps` CG steps for rows us..us+g in lock step (`buf`: 4·GROUP·k doubles). Returns −1 or the first row
/// whose system is not positive definite.
#[inline(always)]
fn cg_group(a: &Ctx<'_>, ptr: &[i32], us: usize, g: usize, lams: &[f64; GROUP], cg_steps: usize, x: &mut [f32], buf: &mut [f64], gat: &Gathered, cols: &mut [f32], tbuf: &mut [f64]) -> i64 {
    let k = a.k;
    gather_group(a, ptr, us, g, gat, cols);
    let (bs, rest) = buf.split_at_mut(GROUP * k);
    let (xs, rest) = rest.split_at_mut(GROUP * k);
    let (ps, rest) = rest.split_at_mut(GROUP * k);
    let aps = &mut rest[..GROUP * k];
    for j in 0..g {
        let u = us + j;
        if ptr[u] == ptr[u + 1] {
            // b = 0: x = 0 without steps (see solve_block).
            xs[j * k..j * k + k].fill(0.0);
        } else {
            load_row(&mut xs[j * k..j * k + k], &x[u * k..u * k + k]);
        }
    }
    // A short last group's unused vectors are zeroed so the lanes computed on them (never stored) see no
    // stale denormals or NaNs.
    for j in g..GROUP {
        xs[j * k..j * k + k].fill(0.0);
        ps[j * k..j * k + k].fill(0.0);
    }
    // A x − b in one pass over the interactions (b = Σ c_ui y_i rides on the product's own axpys), then r = b − A x.
    multi_apply(a, ptr, us, g, lams, xs, aps, gat, cols, tbuf, true);
    let mut rs = [0.0f64; GROUP];
    for j in 0..g {
        let (b, ap) = (&mut bs[j * k..j * k + k], &aps[j * k..j * k + k]);
        if ptr[us + j] == ptr[us + j + 1] {
            b.fill(0.0);
        } else {
            for r in 0..k {
                b[r] = -ap[r];
            }
        }
        ps[j * k..j * k + k].copy_from_slice(b);
        rs[j] = dot(b, b);
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
        multi_apply(a, ptr, us, g, lams, ps, aps, gat, cols, tbuf, false);
        for j in 0..g {
            if !live[j] {
                continue;
            }
            let (p, ap) = (&mut ps[j * k..j * k + k], &aps[j * k..j * k + k]);
            let pap = dot(p, ap);
            if !pap.is_finite() || pap <= 0.0 {
                if failed < 0 {
                    failed = (us + j) as i64;
                }
                rs[j] = 0.0;
                continue;
            }
            let step = rs[j] / pap;
            let (b, xv) = (&mut bs[j * k..j * k + k], &mut xs[j * k..j * k + k]);
            axpy(xv, step, p);
            axpy(b, -step, ap);
            let rs_new = dot(b, b);
            let beta = rs_new / rs[j];
            for r in 0..k {
                p[r] = b[r] + beta * p[r];
            }
            rs[j] = rs_new;
        }
    }
    if failed >= 0 {
        return failed;
    }
    for j in 0..g {
        let u = us + j;
        for (xo, v) in x[u * k..u * k + k].iter_mut().zip(&xs[j * k..j * k + k]) {
            *xo = *v as f32;
        }
    }
    -1
}

/// The read-only part of the arguments.
struct Ctx<'a> {
    yty: &'a [f64],
    y: &'a [f32],
    k: usize,
    idx: &'a [i32],
    val: &'a [f32],
    alpha: f64,
}

#[inline(always)]
fn solve_block(args: AlsArgs<'_>) -> i64 {
    let AlsArgs { yty, y, k, ptr, idx, val, row0, row1, x, alpha, reg, reg_mode, solver, cg_steps, scratch } = args;
    let a = Ctx { yty, y, k, idx, val, alpha };
    let mut rows = Scratch::take(&ALS_ROWS, if solver == 1 { GATHER_MAX } else { 0 });
    let mut cols = Scratch::take(&ALS_COLS, 0);
    let (m, rest) = scratch.split_at_mut(k * k);
    let (bv, rest) = rest.split_at_mut(k);
    // (a row buffer the JS and AssemblyScript kernels use; this one widens f32 rows in its loops)
    let (_row, rest) = rest.split_at_mut(k);
    let (xv, rest) = rest.split_at_mut(k);
    let (pv, rest) = rest.split_at_mut(k);
    let apv = &mut rest[..k];
    if solver == 1 && k >= 16 {
        // k ≥ 16: the group's 4·GROUP·k vectors fit in the k × k block the Cholesky solver would use.
        let mut us = row0;
        while us < row1 {
            let g = GROUP.min(row1 - us);
            let mut lams = [0.0f64; GROUP];
            for (j, l) in lams.iter_mut().enumerate().take(g) {
                let n = (ptr[us + j + 1] - ptr[us + j]) as f64;
                *l = if reg_mode == 1 { reg * n } else { reg };
            }
            let (gat, len, wmax) = gather_plan(k, ptr, us, g);
            let failed = cg_group(&a, ptr, us, g, &lams, cg_steps, x, m, &gat, cols.slice_grow(len), rows.slice_grow(wmax));
            if failed >= 0 {
                return failed;
            }
            us += g;
        }
        return -1;
    }
    for u in row0..row1 {
        let (q0, q1) = (ptr[u] as usize, ptr[u + 1] as usize);
        if q0 == q1 {
            // b_u = 0, so x_u = 0 exactly (also when λ_u = 0 would make A_u singular: 0 is then a solution).
            x[u * k..u * k + k].fill(0.0);
            continue;
        }
        let lam = if reg_mode == 1 { reg * (q1 - q0) as f64 } else { reg };
        bv.fill(0.0);
        if solver == 0 {
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
        } else {
            for q in q0..q1 {
                let i = a.idx[q] as usize;
                let c = 1.0 + a.alpha * f64::from(a.val[q]);
                axpy_f32(bv, c, &a.y[i * k..i * k + k]);
            }
            load_row(xv, &x[u * k..u * k + k]);
            let n = q1 - q0;
            let gathered = n * k <= GATHER_MAX;
            if gathered {
                let g = rows.slice(n * k);
                for (t, q) in (q0..q1).enumerate() {
                    let i = a.idx[q] as usize;
                    load_row(&mut g[t * k..t * k + k], &a.y[i * k..i * k + k]);
                }
            }
            let ap = |p: &[f64], out: &mut [f64], rows: &mut Scratch<f64>| {
                if gathered {
                    apply_gathered(&a, rows.slice(n * k), q0, lam, p, out);
                } else {
                    apply(&a, q0, q1, lam, p, out);
                }
            };
            // r = b − A x (kept in bv), p = r.
            ap(xv, apv, &mut rows);
            for r in 0..k {
                bv[r] -= apv[r];
            }
            pv.copy_from_slice(bv);
            let mut rs = dot(bv, bv);
            for _ in 0..cg_steps {
                if rs < 1e-20 {
                    break;
                }
                ap(pv, apv, &mut rows);
                let pap = dot(pv, apv);
                if !pap.is_finite() || pap <= 0.0 {
                    return u as i64;
                }
                let step = rs / pap;
                axpy(xv, step, pv);
                axpy(bv, -step, apv);
                let rs_new = dot(bv, bv);
                let beta = rs_new / rs;
                for r in 0..k {
                    pv[r] = bv[r] + beta * pv[r];
                }
                rs = rs_new;
            }
            for (xo, v) in x[u * k..u * k + k].iter_mut().zip(xv.iter()) {
                *xo = *v as f32;
            }
        }
    }
    -1
}

pub fn als_solve_scalar(a: AlsArgs<'_>) -> i64 {
    solve_block(a)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn als_solve_avx2(a: AlsArgs<'_>) -> i64 {
    solve_block(a)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn als_solve_avx512(a: AlsArgs<'_>) -> i64 {
    solve_block(a)
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
