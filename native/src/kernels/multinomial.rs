//! One fused pass of multiclass (softmax) logistic regression over a block of rows, all in f64. With x̃_i the
//! row (the caller's design, usually [x, 1]), θ_c its K coefficient vectors and s_i the row weight:
//!   z_ic = x̃_i·θ_c,  m_i = max_c z_ic,  lse_i = m_i + log Σ_c e^{z_ic − m_i},  p_ic = e^{z_ic − lse_i},
//!   ℓ_i = lse_i − z_{i,y_i},
//! accumulating into `out` (layout in `out_len`): Σ s_i ℓ_i, Σ ℓ_i, the count of rows whose first largest
//! z_ic is at c = y_i; with `mode` ≥ MODE_GRADIENT the gradient Σ_i s_i (p_ic − [y_i = c]) x̃_i of every class,
//! and with MODE_NEWTON the Hessian blocks H_ac = Σ_i s_i p_ia (δ_ac − p_ic) x̃_i x̃_iᵀ for a ≤ c < K − 1 (upper triangle of each).
//! The last class's blocks are not computed: each row of blocks sums to zero, so the caller derives them.
//!
//! Why a hand-written fused kernel: no library offers the softmax Newton system with its per-row,
//! per-pair weights. Done as K logistic passes and (K−1)K/2 weighted Gram calls, the main thread built
//! n-length weight vectors per block pair and the pool idled between the serial calls; here one task per
//! reduction block reads each chunk of X̃ once (256 rows stay in L1/L2 while every pair's Gram runs over it).
//!
//! Per-row phase (losses and gradient): a row's K logits are lanes of a vector (chunks of L = 8 classes), so
//! z = X̃Θᵀ is one multiply-add per column and row on an f64 copy of the chunk, the exponentials one vectorised
//! polynomial over the chunk, and G += FᵀX̃ multiply-adds of four rows along the columns. The f64 sums run in
//! another order than a per-class dot product would, the same on every thread count (a block's rows in order).
//!
//! Hessian blocks: each is a small GEMM over the chunk, X̃ᵀ·diag(w)·X̃, through `gram`'s kernel of the same
//! level (f64 products and sums on every level), into per-call local blocks added to `out` at the end. The
//! off-diagonal weights −s p_a p_c are all ≤ 0, so the local blocks hold Σ s p_a p_c x̃x̃ᵀ (non-negative
//! weights: `gram`'s one-copy √w packing) and are subtracted.

use super::gram::{gram_f64_avx2, gram_f64_avx512, gram_f64_scalar, GramArgs};
use super::reduce::{Lanes, Reduce, Seq};

pub const OUT_LOSS_W: usize = 0;
pub const OUT_LOSS: usize = 1;
pub const OUT_CORRECT: usize = 2;
pub const OUT_GRAD: usize = 3;

/// `mode`: the losses only (a line-search trial); also the gradient; also the Hessian blocks (a Newton step).
pub const MODE_LOSS: u32 = 0;
pub const MODE_GRADIENT: u32 = 1;
pub const MODE_NEWTON: u32 = 2;

/// Rows per chunk: the chunk of X̃ stays in cache while every pair's Gram runs over it.
const RB: usize = 256;

/// Blocks of the Hessian kept: pairs a ≤ c over the first K − 1 classes.
pub fn pairs(k: usize) -> usize {
    k.saturating_sub(1) * k / 2
}

/// [0] Σ s·ℓ, [1] Σ ℓ, [2] correct count, then the gradient (K × q, class-major), then the pairs' q × q blocks
/// (a outer, c inner, row-major, upper triangle).
pub fn out_len(k: usize, q: usize) -> usize {
    OUT_GRAD + k * q + pairs(k) * q * q
}

/// The entries `mode` writes (a prefix of the layout): the cheap passes need no room for the Hessian.
pub fn mode_len(mode: u32, k: usize, q: usize) -> usize {
    match mode {
        MODE_LOSS => OUT_GRAD,
        MODE_GRADIENT => OUT_GRAD + k * q,
        _ => out_len(k, q),
    }
}

pub struct MultinomialArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub k: usize,
    /// Class indices in [0, k), as f64.
    pub y: &'a [f64],
    pub s: Option<&'a [f64]>,
    /// k × cols, class-major.
    pub theta: &'a [f64],
    pub mode: u32,
    /// `mode_len(mode, k, cols)` values.
    pub out: &'a mut [f64],
}

/// Class lanes: the logits, probabilities and gradient factors of a row are held as chunks of L classes, so
/// z = X̃Θᵀ and G += FᵀX̃ run as one vector multiply-add per (row, column) and chunk at the level's width
/// (the compiler vectorises these fixed-size loops in the SIMD levels' instantiations).
const L: usize = 8;

/// Multiply-add of the level: a fused one under the SIMD levels (the compiler emits the instruction there),
/// a multiply and an add in the scalar twin (where `mul_add` would be a library call).
trait MulAdd {
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
}

impl MulAdd for Lanes {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Seq {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
}

/// e^t for t ≤ 0 to ~1 ulp, branch-free so that a loop of it vectorises: t = k·ln2 + r with |r| ≤ ln2/2, e^r by
/// its Taylor series to degree 13 (remainder < 1e-17 relative), 2^k put in the exponent bits; t < −708 gives 0
/// (below the smallest normal double; the softmax of a row always has one term e^0 = 1, so this loses nothing).
#[inline(always)]
fn exp_nonpos<R: MulAdd>(t: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Adding and subtracting 1.5·2^52 rounds to the nearest integer (|t·log2 e| < 2^51).
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let tiny = t < -708.0;
    let tc = if tiny { -708.0 } else { t };
    let k = (tc * LOG2E + ROUND) - ROUND;
    let r = R::mul_add(-k, LN2_HI, tc);
    let r = R::mul_add(-k, LN2_LO, r);
    // Σ_{j ≤ 13} r^j / j! by Estrin's scheme (pairs with r, then with r², r⁴, r⁸): a short dependency chain.
    let r2 = r * r;
    let r4 = r2 * r2;
    let r8 = r4 * r4;
    const C: [f64; 14] = {
        let mut c = [1.0f64; 14];
        let mut j = 2;
        while j < 14 {
            c[j] = c[j - 1] / j as f64;
            j += 1;
        }
        c
    };
    let c = |j: usize| C[j];
    let p01 = R::mul_add(c(1), r, c(0));
    let p23 = R::mul_add(c(3), r, c(2));
    let p45 = R::mul_add(c(5), r, c(4));
    let p67 = R::mul_add(c(7), r, c(6));
    let p89 = R::mul_add(c(9), r, c(8));
    let p1011 = R::mul_add(c(11), r, c(10));
    let p1213 = R::mul_add(c(13), r, c(12));
    let q0 = R::mul_add(p23, r2, p01);
    let q1 = R::mul_add(p67, r2, p45);
    let q2 = R::mul_add(p1011, r2, p89);
    let q3 = p1213;
    let s0 = R::mul_add(q1, r4, q0);
    let s1 = R::mul_add(q3, r4, q2);
    let p = R::mul_add(s1, r8, s0);
    // 2^k: k + 1023 in [1, 1023] lands in the low mantissa bits of k + (2^52 + 1023), then moves up.
    let scale = f64::from_bits((k + 4_503_599_627_371_519.0).to_bits() << 52);
    if tiny {
        0.0
    } else {
        p * scale
    }
}

/// The per-row phase of one chunk of rb ≤ RB rows, with nch = ⌈k / L⌉ chunks of L classes: z = X̃Θᵀ into `p`
/// (rb × nch chunks; lanes past k are padding), then the softmax in place (p), the losses and correct count
/// into `acc`, and with `gradient` G += Σ_i f_i x̃_iᵀ, f_ic = s_i (p_ic − [y_i = c]), into `grad` (k × q).
/// `tt` is Θᵀ in chunks (nch × q chunks: chunk c, column j holds classes cL … cL + L − 1), zero-padded.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn rows_phase<R: MulAdd>(xb: &[f32], xd: &mut [f64], rb: usize, q: usize, k: usize, yb: &[f64], sb: Option<&[f64]>, tt: &[[f64; L]], p: &mut [[f64; L]], f: &mut [[f64; L]], grad: &mut [f64], gradient: bool, acc: &mut [f64; 3]) {
    let nch = tt.len() / q;
    // The chunk widened to f64 once: the multiply-adds below then take their x operand straight from memory.
    let xd = &mut xd[..rb * q];
    for (d, &v) in xd.iter_mut().zip(&xb[..rb * q]) {
        *d = v as f64;
    }
    let xb = &*xd;
    let p = &mut p[..rb * nch];
    let quads = rb / 4;
    // z: rows in fours (four independent chains per column), one chunk of L classes at a time.
    for c in 0..nch {
        let tc = &tt[c * q..(c + 1) * q];
        for (i4, x4) in xb.chunks_exact(4 * q).enumerate() {
            let (x0, rest) = x4.split_at(q);
            let (x1, rest) = rest.split_at(q);
            let (x2, x3) = rest.split_at(q);
            let mut a = [[0.0f64; L]; 4];
            for ((((t, &v0), &v1), &v2), &v3) in tc.iter().zip(x0).zip(x1).zip(x2).zip(x3) {
                let v = [v0, v1, v2, v3];
                for r in 0..4 {
                    for l in 0..L {
                        a[r][l] = R::mul_add(v[r], t[l], a[r][l]);
                    }
                }
            }
            for (r, ar) in a.iter().enumerate() {
                p[(4 * i4 + r) * nch + c] = *ar;
            }
        }
        for i in 4 * quads..rb {
            let mut ar = [0.0f64; L];
            for (t, &v) in tc.iter().zip(&xb[i * q..(i + 1) * q]) {
                for l in 0..L {
                    ar[l] = R::mul_add(v, t[l], ar[l]);
                }
            }
            p[i * nch + c] = ar;
        }
    }
    // Softmax: the first largest logit (the correct count and the shift), then e^{z − m} over all lanes (one
    // vectorised loop; the padding lanes are set to −∞ first, so they come out 0).
    let (mut shift, mut zy) = ([0.0f64; RB], [0.0f64; RB]);
    for i in 0..rb {
        let z = p[i * nch..(i + 1) * nch].as_flattened_mut();
        let mut best = 0;
        for c in 1..k {
            if z[c] > z[best] {
                best = c;
            }
        }
        let m = z[best];
        let yi = yb[i] as usize;
        zy[i] = z[yi];
        for v in z[..k].iter_mut() {
            *v -= m;
        }
        for v in z[k..].iter_mut() {
            *v = f64::NEG_INFINITY;
        }
        shift[i] = m;
        if best == yi {
            acc[2] += 1.0;
        }
    }
    for e in p.iter_mut() {
        for v in e.iter_mut() {
            *v = exp_nonpos::<R>(*v);
        }
    }
    for i in 0..rb {
        let e = p[i * nch..(i + 1) * nch].as_flattened_mut();
        let mut sum = 0.0f64;
        for &v in e[..k].iter() {
            sum += v;
        }
        let inv = 1.0 / sum;
        for v in e.iter_mut() {
            *v *= inv;
        }
        let si = sb.map_or(1.0, |s| s[i]);
        let li = shift[i] + sum.ln() - zy[i];
        acc[0] += si * li;
        acc[1] += li;
    }
    if !gradient {
        return;
    }
    let f = &mut f[..rb * nch];
    for i in 0..rb {
        let si = sb.map_or(1.0, |s| s[i]);
        for (fc, pc) in f[i * nch..(i + 1) * nch].iter_mut().zip(&p[i * nch..(i + 1) * nch]) {
            for l in 0..L {
                fc[l] = si * pc[l];
            }
        }
        let yi = yb[i] as usize;
        f[i * nch + yi / L][yi % L] -= si;
    }
    // G += FᵀX̃: rows in fours, class by class, each a multiply-add of four rows along the columns (contiguous
    // in X̃ and in G, so it vectorises along the row).
    for (i4, x4) in xb.chunks_exact(4 * q).enumerate() {
        let (x0, rest) = x4.split_at(q);
        let (x1, rest) = rest.split_at(q);
        let (x2, x3) = rest.split_at(q);
        let i = 4 * i4;
        for (c, g) in grad.chunks_exact_mut(q).take(k).enumerate() {
            let (ch, l) = (c / L, c % L);
            let (a0, a1, a2, a3) = (f[i * nch + ch][l], f[(i + 1) * nch + ch][l], f[(i + 2) * nch + ch][l], f[(i + 3) * nch + ch][l]);
            for ((((g, &v0), &v1), &v2), &v3) in g.iter_mut().zip(x0).zip(x1).zip(x2).zip(x3) {
                *g = R::mul_add(v3, a3, R::mul_add(v2, a2, R::mul_add(v1, a1, R::mul_add(v0, a0, *g))));
            }
        }
    }
    for i in 4 * quads..rb {
        for (c, g) in grad.chunks_exact_mut(q).take(k).enumerate() {
            let a = f[i * nch + c / L][c % L];
            for (g, &v) in g.iter_mut().zip(&xb[i * q..(i + 1) * q]) {
                *g = R::mul_add(v, a, *g);
            }
        }
    }
}

#[inline(always)]
fn body<R: Reduce + MulAdd>(a: MultinomialArgs<'_>, gram: unsafe fn(GramArgs<'_>)) {
    let MultinomialArgs { x, rows, cols: q, k, y, s, theta, mode, out } = a;
    let (gradient, newton) = (mode >= MODE_GRADIENT, mode >= MODE_NEWTON);
    if rows == 0 || k == 0 {
        return;
    }
    let theta = &theta[..k * q];
    let np = pairs(k);
    let (head, rest) = out.split_at_mut(OUT_GRAD);
    let (grad, h): (&mut [f64], &mut [f64]) = match mode {
        MODE_LOSS => (&mut [], &mut []),
        MODE_GRADIENT => (&mut rest[..k * q], &mut []),
        _ => {
            let (g, h) = rest.split_at_mut(k * q);
            (g, &mut h[..np * q * q])
        }
    };
    // The Gram runs over the first q8 columns (a whole number of the packed kernel's 8-wide panels: a 33-wide
    // input, the usual [x, 1], would pad to 40 and cost ~40 % more); the r = q − q8 tail columns (the
    // intercept's) are rank-one updates of their own. Sums go to local per-pair blocks, added to `out` once.
    let r = q % 8;
    let q8 = q - r;
    let nch = k.div_ceil(L);
    let mut tt = vec![[0.0f64; L]; nch * q];
    for c in 0..k {
        for j in 0..q {
            tt[(c / L) * q + j][c % L] = theta[c * q + j];
        }
    }
    let mut xc = vec![0.0f32; if r > 0 && newton { RB * q8 } else { 0 }];
    let mut g8 = vec![0.0f64; if newton { np * q8 * q8 } else { 0 }];
    let mut gt = vec![0.0f64; if newton { np * r * q } else { 0 }];
    let mut p = vec![[0.0f64; L]; RB * nch];
    let mut fbuf = vec![[0.0f64; L]; RB * nch];
    let mut xd = vec![0.0f64; RB * q];
    let mut w = vec![0.0f64; RB];
    let mut v = vec![0.0f64; RB];
    let mut acc = [0.0f64; 3];
    for r0 in (0..rows).step_by(RB) {
        let rb = (rows - r0).min(RB);
        let xb = &x[r0 * q..(r0 + rb) * q];
        rows_phase::<R>(xb, &mut xd, rb, q, k, &y[r0..r0 + rb], s.map(|s| &s[r0..r0 + rb]), &tt, &mut p, &mut fbuf, grad, gradient, &mut acc);
        if !newton {
            continue;
        }
        let xg: &[f32] = if r > 0 {
            for i in 0..rb {
                xc[i * q8..(i + 1) * q8].copy_from_slice(&xb[i * q..i * q + q8]);
            }
            &xc[..rb * q8]
        } else {
            xb
        };
        let mut blk = 0;
        for ca in 0..k - 1 {
            for cc in ca..k - 1 {
                // |weight|: s p_a (1 − p_a) on the diagonal, s p_a p_c off it (the sign is applied when
                // the block goes to `out`), so `gram` takes its one-copy √w packing.
                let diag = ca == cc;
                for i in 0..rb {
                    let si = s.map_or(1.0, |s| s[r0 + i]);
                    let pa = p[i * nch + ca / L][ca % L];
                    w[i] = if diag { si * pa * (1.0 - pa) } else { si * pa * p[i * nch + cc / L][cc % L] };
                }
                let t = &mut gt[blk * r * q..(blk + 1) * r * q];
                // The first tail column's products with the Gram columns ride along `gram`'s packing pass as
                // its Xᵀv (v_i = w_i x_{i,q8}); the tail × tail products and further tail columns are row loops.
                if r > 0 {
                    for i in 0..rb {
                        v[i] = w[i] * xb[i * q + q8] as f64;
                    }
                }
                if q8 > 0 {
                    let g = &mut g8[blk * q8 * q8..(blk + 1) * q8 * q8];
                    let (t0, _) = t.split_at_mut(if r > 0 { q8 } else { 0 });
                    let (vv, xty) = if r > 0 { (Some(&v[..rb]), Some(t0)) } else { (None, None) };
                    // SAFETY: `gram` is the Gram entry point of this function's own level.
                    unsafe { gram(GramArgs { x: xg, rows: rb, cols: q8, w: Some(&w[..rb]), center: None, v: vv, g, xty, sums: None }) };
                }
                for j in 0..r {
                    let tj = &mut t[j * q..(j + 1) * q];
                    for i in 0..rb {
                        let xr = &xb[i * q..(i + 1) * q];
                        let f = w[i] * xr[q8 + j] as f64;
                        if j == 0 {
                            for (tv, &xv) in tj[q8..].iter_mut().zip(&xr[q8..]) {
                                *tv += f * xv as f64;
                            }
                        } else {
                            R::accumulate(xr, f, tj);
                        }
                    }
                }
                blk += 1;
            }
        }
    }
    if newton {
        let mut blk = 0;
        for ca in 0..k - 1 {
            for cc in ca..k - 1 {
                let sign = if ca == cc { 1.0 } else { -1.0 };
                let hb = &mut h[blk * q * q..(blk + 1) * q * q];
                let g = &g8[blk * q8 * q8..(blk + 1) * q8 * q8];
                for i in 0..q8 {
                    for j in i..q8 {
                        hb[i * q + j] += sign * g[i * q8 + j];
                    }
                }
                // Tail column q8 + j holds Σ w x_i x_{q8+j} for every i; its upper-triangle entries are i ≤ q8 + j.
                let t = &gt[blk * r * q..(blk + 1) * r * q];
                for j in 0..r {
                    let col = q8 + j;
                    for i in 0..=col {
                        hb[i * q + col] += sign * t[j * q + i];
                    }
                }
                blk += 1;
            }
        }
    }
    head[OUT_LOSS_W] += acc[0];
    head[OUT_LOSS] += acc[1];
    head[OUT_CORRECT] += acc[2];
}

unsafe fn gram_scalar(a: GramArgs<'_>) {
    gram_f64_scalar(a)
}

pub fn multinomial_pass_scalar(a: MultinomialArgs<'_>) {
    body::<Seq>(a, gram_scalar)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn multinomial_pass_avx2(a: MultinomialArgs<'_>) {
    body::<Lanes>(a, gram_f64_avx2)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn multinomial_pass_avx512(a: MultinomialArgs<'_>) {
    body::<Lanes>(a, gram_f64_avx512)
}
