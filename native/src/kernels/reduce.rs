//! f64 reductions over f32 rows, shared by normalize, k-means and matvec. The SIMD forms split the sum
//! over 16 f64 lanes (two zmm or four ymm) so the compiler vectorises them for the level of
//! the calling kernel; the `seq` forms are the scalar twins' strictly sequential sums. Tails: the last
//! len % 16 elements go through a sequential loop added after the lanes.

pub const LANES: usize = 16;

#[inline(always)]
fn fold(acc: [f64; LANES]) -> f64 {
    // Pairwise, so the tree is fixed for a given length.
    let mut w = acc;
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            w[l] += w[l + width];
        }
        width /= 2;
    }
    w[0]
}

/// Σ x² in f64.
#[inline(always)]
pub fn sumsq_lanes(x: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for l in 0..LANES {
            let v = c[l] as f64;
            acc[l] += v * v;
        }
    }
    let mut s = fold(acc);
    for &v in tail {
        s += (v as f64) * (v as f64);
    }
    s
}

/// Σ (x − c)² in f64.
#[inline(always)]
pub fn dist2_lanes(x: &[f32], c: &[f32]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let n = x.len().min(c.len());
    let (x, c) = (&x[..n], &c[..n]);
    let xc = x.chunks_exact(LANES);
    let cc = c.chunks_exact(LANES);
    let (xt, ct) = (xc.remainder(), cc.remainder());
    for (a, b) in xc.zip(cc) {
        for l in 0..LANES {
            let d = a[l] as f64 - b[l] as f64;
            acc[l] += d * d;
        }
    }
    let mut s = fold(acc);
    for (a, b) in xt.iter().zip(ct) {
        let d = *a as f64 - *b as f64;
        s += d * d;
    }
    s
}

/// Σ x·w in f64 (x f32, w f64).
#[inline(always)]
pub fn dot_f32_f64_lanes(x: &[f32], w: &[f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let n = x.len().min(w.len());
    let (x, w) = (&x[..n], &w[..n]);
    let xc = x.chunks_exact(LANES);
    let wc = w.chunks_exact(LANES);
    let (xt, wt) = (xc.remainder(), wc.remainder());
    for (a, b) in xc.zip(wc) {
        for l in 0..LANES {
            acc[l] += a[l] as f64 * b[l];
        }
    }
    let mut s = fold(acc);
    for (a, b) in xt.iter().zip(wt) {
        s += *a as f64 * *b;
    }
    s
}

#[inline(always)]
pub fn sumsq_seq(x: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for &v in x {
        s += (v as f64) * (v as f64);
    }
    s
}

#[inline(always)]
pub fn dist2_seq(x: &[f32], c: &[f32]) -> f64 {
    let mut s = 0.0f64;
    for (a, b) in x.iter().zip(c) {
        let d = *a as f64 - *b as f64;
        s += d * d;
    }
    s
}

#[inline(always)]
pub fn dot_f32_f64_seq(x: &[f32], w: &[f64]) -> f64 {
    let mut s = 0.0f64;
    for (a, b) in x.iter().zip(w) {
        s += *a as f64 * *b;
    }
    s
}

/// The reduction style a kernel body is instantiated with: `Lanes` under the SIMD levels (the
/// compiler vectorises it at the level of the calling kernel), `Seq` for the scalar twins.
pub trait Reduce {
    fn sumsq(x: &[f32]) -> f64;
    fn dist2(x: &[f32], c: &[f32]) -> f64;
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64;
}

pub struct Lanes;
pub struct Seq;

impl Reduce for Lanes {
    #[inline(always)]
    fn sumsq(x: &[f32]) -> f64 {
        sumsq_lanes(x)
    }
    #[inline(always)]
    fn dist2(x: &[f32], c: &[f32]) -> f64 {
        dist2_lanes(x, c)
    }
    #[inline(always)]
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64 {
        dot_f32_f64_lanes(x, w)
    }
}

impl Reduce for Seq {
    #[inline(always)]
    fn sumsq(x: &[f32]) -> f64 {
        sumsq_seq(x)
    }
    #[inline(always)]
    fn dist2(x: &[f32], c: &[f32]) -> f64 {
        dist2_seq(x, c)
    }
    #[inline(always)]
    fn dot_f32_f64(x: &[f32], w: &[f64]) -> f64 {
        dot_f32_f64_seq(x, w)
    }
}
