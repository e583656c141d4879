//! Batch scoring: out[i] = link(Σ_d x[i,d]·w[d] + bias), link 0 = identity, 1 = logistic sigmoid.
//! The dot product accumulates in f64 (x widened from f32, w already f64); the result is stored as f32.
//! Memory-bound: one pass over x. Tails: see `reduce` (lanes, then a sequential remainder).

use super::reduce::{Lanes, Reduce, Seq};

pub const LINK_IDENTITY: u32 = 0;
pub const LINK_SIGMOID: u32 = 1;

/// Split by sign so exp never overflows.
#[inline(always)]
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

#[inline(always)]
fn body<R: Reduce>(
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f64],
    bias: f64,
    link: u32,
    out: &mut [f32],
) {
    let w = &w[..cols];
    // The link is a per-call constant: one branch outside the row loop.
    if link == LINK_SIGMOID {
        for (i, o) in out[..rows].iter_mut().enumerate() {
            *o = sigmoid(R::dot_f32_f64(&x[i * cols..(i + 1) * cols], w) + bias) as f32;
        }
    } else {
        for (i, o) in out[..rows].iter_mut().enumerate() {
            *o = (R::dot_f32_f64(&x[i * cols..(i + 1) * cols], w) + bias) as f32;
        }
    }
}

pub fn matvec_f32_scalar(
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f64],
    bias: f64,
    link: u32,
    out: &mut [f32],
) {
    body::<Seq>(x, rows, cols, w, bias, link, out)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn matvec_f32_avx2(
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f64],
    bias: f64,
    link: u32,
    out: &mut [f32],
) {
    body::<Lanes>(x, rows, cols, w, bias, link, out)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn matvec_f32_avx512(
    x: &[f32],
    rows: usize,
    cols: usize,
    w: &[f64],
    bias: f64,
    link: u32,
    out: &mut [f32],
) {
    body::<Lanes>(x, rows, cols, w, bias, link, out)
}
