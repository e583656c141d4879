//! One table of kernel entry points per level, built at compile time. The glue looks the caller's
//! level up once per call (`table`), so no kernel re-checks the CPU and no loop branches on the ISA.

use crate::error::KernelError;
use crate::kernels::cholesky::*;
use crate::kernels::gram::*;
use crate::kernels::kmeans::*;
use crate::kernels::logistic::*;
use crate::kernels::matvec::*;
use crate::kernels::normalize::*;
use crate::kernels::similarity::*;
use crate::kernels::topk::*;

use super::Isa;

pub struct Kernels {
    pub isa: Isa,
    pub normalize_rows: unsafe fn(&[f32], usize, usize, &mut [f32], &mut [f32]),
    pub normalize_rows_in_place: unsafe fn(&mut [f32], usize, usize, &mut [f32]),
    pub similarity_tile: unsafe fn(&[f32], usize, &[f32], usize, usize, &mut [f32], usize),
    pub topk_tile: unsafe fn(TopkArgs<'_>),
    pub kmeans_step: unsafe fn(KmeansArgs<'_>) -> f64,
    pub gram: unsafe fn(GramArgs<'_>),
    pub logistic_pass: unsafe fn(LogisticArgs<'_>),
    pub cholesky_solve: unsafe fn(&mut [f64], usize, &mut [f64], usize) -> Result<(), KernelError>,
    pub matvec: unsafe fn(&[f32], usize, usize, &[f64], f64, u32, &mut [f32]),
}

static SCALAR: Kernels = Kernels {
    isa: Isa::Scalar,
    normalize_rows: normalize_rows_f32_scalar,
    normalize_rows_in_place: normalize_rows_in_place_f32_scalar,
    similarity_tile: similarity_tile_f32_scalar,
    topk_tile: topk_tile_f32_scalar,
    kmeans_step: kmeans_step_f32_scalar,
    gram: gram_f64_scalar,
    logistic_pass: logistic_pass_scalar,
    cholesky_solve: cholesky_solve_f64_scalar,
    matvec: matvec_f32_scalar,
};

static AVX2: Kernels = Kernels {
    isa: Isa::Avx2,
    normalize_rows: normalize_rows_f32_avx2,
    normalize_rows_in_place: normalize_rows_in_place_f32_avx2,
    similarity_tile: similarity_tile_f32_avx2,
    topk_tile: topk_tile_f32_avx2,
    kmeans_step: kmeans_step_f32_avx2,
    gram: gram_f64_avx2,
    logistic_pass: logistic_pass_avx2,
    cholesky_solve: cholesky_solve_f64_avx2,
    matvec: matvec_f32_avx2,
};

static AVX512: Kernels = Kernels {
    isa: Isa::Avx512,
    normalize_rows: normalize_rows_f32_avx512,
    normalize_rows_in_place: normalize_rows_in_place_f32_avx512,
    similarity_tile: similarity_tile_f32_avx512,
    topk_tile: topk_tile_f32_avx512,
    kmeans_step: kmeans_step_f32_avx512,
    gram: gram_f64_avx512,
    logistic_pass: logistic_pass_avx512,
    cholesky_solve: cholesky_solve_f64_avx512,
    matvec: matvec_f32_avx512,
};

/// The table for a level code, or None when this CPU cannot run that level. Holding a `&Kernels`
/// therefore means its `unsafe fn`s are sound to call (given in-bounds slices).
pub fn table(code: u32) -> Option<&'static Kernels> {
    super::usable(code).map(|isa| match isa {
        Isa::Scalar => &SCALAR,
        Isa::Avx2 => &AVX2,
        Isa::Avx512 => &AVX512,
    })
}
