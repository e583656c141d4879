//! Row normalisation: out[i,:] = x[i,:] / ‖x[i,:]‖₂, norms[i] = ‖x[i,:]‖₂; zero rows stay zero.
//! The sum of squares accumulates in f64 and the scale is applied in f64 before rounding to f32.
//! Tails: see `reduce` (lanes, then a sequential remainder); the scaling loop is element-wise.

use super::reduce::{Lanes, Reduce, Seq};

#[inline(always)]
fn inverse(norm: f64) -> f64 {
    if norm > 0.0 {
        1.0 / norm
    } else {
        0.0
    }
}

#[inline(always)]
fn body<R: Reduce>(x: &[f32], rows: usize, cols: usize, out: &mut [f32], norms: &mut [f32]) {
    for i in 0..rows {
        let r = &x[i * cols..(i + 1) * cols];
        let n = R::sumsq(r).sqrt();
        norms[i] = n as f32;
        let inv = inverse(n);
        for (o, &v) in out[i * cols..(i + 1) * cols].iter_mut().zip(r) {
            *o = (v as f64 * inv) as f32;
        }
    }
}

/// Only the norms (cosine top-k scales its scores by the inverse norms instead of copying the rows).
#[inline(always)]
fn body_norms<R: Reduce>(x: &[f32], rows: usize, cols: usize, norms: &mut [f32]) {
    for (i, n) in norms[..rows].iter_mut().enumerate() {
        *n = R::sumsq(&x[i * cols..(i + 1) * cols]).sqrt() as f32;
    }
}

/// `out` is `x`: a separate body, since Rust cannot hold the same memory as `&` and `&mut` at once.
#[inline(always)]
fn body_in_place<R: Reduce>(x: &mut [f32], rows: usize, cols: usize, norms: &mut [f32]) {
    for i in 0..rows {
        let r = &mut x[i * cols..(i + 1) * cols];
        let n = R::sumsq(r).sqrt();
        norms[i] = n as f32;
        let inv = inverse(n);
        for v in r.iter_mut() {
            *v = (*v as f64 * inv) as f32;
        }
    }
}

pub fn normalize_rows_f32_scalar(
    x: &[f32],
    rows: usize,
    cols: usize,
    out: &mut [f32],
    norms: &mut [f32],
) {
    body::<Seq>(x, rows, cols, out, norms)
}

pub fn normalize_rows_in_place_f32_scalar(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    norms: &mut [f32],
) {
    body_in_place::<Seq>(x, rows, cols, norms)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn normalize_rows_f32_avx2(
    x: &[f32],
    rows: usize,
    cols: usize,
    out: &mut [f32],
    norms: &mut [f32],
) {
    body::<Lanes>(x, rows, cols, out, norms)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn normalize_rows_in_place_f32_avx2(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    norms: &mut [f32],
) {
    body_in_place::<Lanes>(x, rows, cols, norms)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn normalize_rows_f32_avx512(
    x: &[f32],
    rows: usize,
    cols: usize,
    out: &mut [f32],
    norms: &mut [f32],
) {
    body::<Lanes>(x, rows, cols, out, norms)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn normalize_rows_in_place_f32_avx512(
    x: &mut [f32],
    rows: usize,
    cols: usize,
    norms: &mut [f32],
) {
    body_in_place::<Lanes>(x, rows, cols, norms)
}

pub fn row_norms_f32_scalar(x: &[f32], rows: usize, cols: usize, norms: &mut [f32]) {
    body_norms::<Seq>(x, rows, cols, norms)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn row_norms_f32_avx2(x: &[f32], rows: usize, cols: usize, norms: &mut [f32]) {
    body_norms::<Lanes>(x, rows, cols, norms)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn row_norms_f32_avx512(x: &[f32], rows: usize, cols: usize, norms: &mut [f32]) {
    body_norms::<Lanes>(x, rows, cols, norms)
}
