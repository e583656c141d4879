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

/// Softmax of one row's logits in place (z → p); returns (lse, index of the first largest z).
#[inline(always)]
fn softmax_row(z: &mut [f64]) -> (f64, usize) {
    let mut best = 0;
    for c in 1..z.len() {
        if z[c] > z[best] {
            best = c;
        }
    }
    let m = z[best];
    let mut sum = 0.0f64;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for v in z.iter_mut() {
        *v *= inv;
    }
    (m + sum.ln(), best)
}

#[inline(always)]
fn body<R: Reduce>(a: MultinomialArgs<'_>, gram: unsafe fn(GramArgs<'_>)) {
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
    let mut xc = vec![0.0f32; if r > 0 && newton { RB * q8 } else { 0 }];
    let mut g8 = vec![0.0f64; if newton { np * q8 * q8 } else { 0 }];
    let mut gt = vec![0.0f64; if newton { np * r * q } else { 0 }];
    let mut p = vec![0.0f64; RB * k];
    let mut w = vec![0.0f64; RB];
    let mut v = vec![0.0f64; RB];
    let (mut loss_w, mut loss, mut correct) = (0.0f64, 0.0f64, 0.0f64);
    for r0 in (0..rows).step_by(RB) {
        let rb = (rows - r0).min(RB);
        let xb = &x[r0 * q..(r0 + rb) * q];
        for i in 0..rb {
            let xr = &xb[i * q..(i + 1) * q];
            let pr = &mut p[i * k..(i + 1) * k];
            for (c, pc) in pr.iter_mut().enumerate() {
                *pc = R::dot_f32_f64(xr, &theta[c * q..(c + 1) * q]);
            }
            let yi = y[r0 + i] as usize;
            let zy = pr[yi];
            let (lse, best) = softmax_row(pr);
            let si = s.map_or(1.0, |s| s[r0 + i]);
            let li = lse - zy;
            loss_w += si * li;
            loss += li;
            if best == yi {
                correct += 1.0;
            }
            if gradient {
                for c in 0..k {
                    let f = si * (pr[c] - if c == yi { 1.0 } else { 0.0 });
                    R::accumulate(xr, f, &mut grad[c * q..(c + 1) * q]);
                }
            }
        }
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
                    let pa = p[i * k + ca];
                    w[i] = if diag { si * pa * (1.0 - pa) } else { si * pa * p[i * k + cc] };
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
                    unsafe { gram(GramArgs { x: xg, rows: rb, cols: q8, w: Some(&w[..rb]), center: None, v: vv, g, xty }) };
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
    head[OUT_LOSS_W] += loss_w;
    head[OUT_LOSS] += loss;
    head[OUT_CORRECT] += correct;
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
