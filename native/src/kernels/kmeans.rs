//! One Lloyd step over a block of rows: label = argmin_c ‖x‖² − 2x·c + ‖c‖² (ties to the lower
//! centroid), then the exact Σ(x − c)² for the chosen centroid, weighted sums and counts, and inertia.
//! The x·cᵀ block is the f32 GEMM of `similarity`; norms, distances, sums, counts and inertia are f64.
//! Tails: see `reduce` (lanes, then a sequential remainder).

use super::reduce::{Lanes, Reduce, Seq};
use super::scratch::{self, Scratch};
use super::similarity::{
    similarity_tile_f32_avx2, similarity_tile_f32_avx512, similarity_tile_f32_scalar,
};

/// Rows per GEMM block: ROW_BLOCK × k dot products, reused by the per-row pass right after.
const ROW_BLOCK: usize = 256;

pub struct KmeansArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub centroids: &'a [f32],
    pub k: usize,
    pub weights: Option<&'a [f32]>,
    pub labels: &'a mut [i32],
    pub min_dist2: &'a mut [f64],
    pub sums: &'a mut [f64],
    pub counts: &'a mut [f64],
}

type Gemm = unsafe fn(&[f32], usize, &[f32], usize, usize, &mut [f32], usize);

#[inline(always)]
unsafe fn body<R: Reduce>(a: KmeansArgs<'_>, gemm: Gemm) -> f64 {
    let KmeansArgs {
        x,
        rows,
        cols,
        centroids,
        k,
        weights,
        labels,
        min_dist2,
        sums,
        counts,
    } = a;
    if k == 0 || rows == 0 {
        return 0.0;
    }
    let mut inertia = 0.0f64;
    let mut cn_buf = Scratch::take(&scratch::KMEANS_F64, k);
    let cn = cn_buf.slice(k);
    for (c, n) in cn.iter_mut().enumerate() {
        *n = R::sumsq(&centroids[c * cols..(c + 1) * cols]);
    }
    let mut dots_buf = Scratch::take(&scratch::KMEANS_DOTS, rows.min(ROW_BLOCK) * k);
    let dots = dots_buf.slice(rows.min(ROW_BLOCK) * k);
    for r0 in (0..rows).step_by(ROW_BLOCK) {
        let rb = (rows - r0).min(ROW_BLOCK);
        unsafe {
            gemm(
                &x[r0 * cols..(r0 + rb) * cols],
                rb,
                centroids,
                k,
                cols,
                dots,
                k,
            )
        };
        for i in 0..rb {
            let row = r0 + i;
            let xr = &x[row * cols..(row + 1) * cols];
            let xn = R::sumsq(xr);
            let d = &dots[i * k..(i + 1) * k];
            let best = R::argmin_dist(xn, d, cn);
            let w = weights.map_or(1.0, |w| w[row] as f64);
            let exact = R::dist2_accumulate(
                xr,
                &centroids[best * cols..(best + 1) * cols],
                w,
                &mut sums[best * cols..(best + 1) * cols],
            );
            labels[row] = best as i32;
            min_dist2[row] = exact;
            counts[best] += w;
            inertia += w * exact;
        }
    }
    inertia
}

pub fn kmeans_step_f32_scalar(a: KmeansArgs<'_>) -> f64 {
    // SAFETY: the scalar GEMM runs on every CPU.
    unsafe { body::<Seq>(a, scalar_gemm) }
}

unsafe fn scalar_gemm(
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    out: &mut [f32],
    ld: usize,
) {
    similarity_tile_f32_scalar(a, m, b, n, k, out, ld)
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn kmeans_step_f32_avx2(a: KmeansArgs<'_>) -> f64 {
    unsafe { body::<Lanes>(a, similarity_tile_f32_avx2) }
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn kmeans_step_f32_avx512(a: KmeansArgs<'_>) -> f64 {
    unsafe { body::<Lanes>(a, similarity_tile_f32_avx512) }
}
