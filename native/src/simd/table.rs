//! One table of kernel entry points per level, built at compile time. The glue looks a level up once,
//! when a `Kernels` object of the glue is made (`table`), so no kernel re-checks the CPU and no loop branches on the ISA.

use crate::error::KernelError;
use crate::kernels::cholesky::*;
use crate::kernels::gram::*;
use crate::kernels::kmeans::*;
use crate::kernels::logistic::*;
use crate::kernels::matvec::*;
use crate::kernels::normalize::*;
use crate::kernels::similarity::*;
use crate::kernels::topk::*;
use crate::kernels::multinomial::*;
use crate::kernels::als::*;
use crate::kernels::tiles::*;
use crate::kernels::gram_f32::*;
use crate::kernels::topk_excl::*;
use crate::kernels::mirror::*;

use super::Isa;

/// normalize_rows(x, rows, cols, out, norms)
pub type NormalizeFn = unsafe fn(&[f32], usize, usize, &mut [f32], &mut [f32]);
/// normalize_rows_in_place(x, rows, cols, norms)
pub type NormalizeInPlaceFn = unsafe fn(&mut [f32], usize, usize, &mut [f32]);
/// row_norms(x, rows, cols, norms)
pub type RowNormsFn = unsafe fn(&[f32], usize, usize, &mut [f32]);
/// similarity_tile(a, a_rows, b, b_rows, cols, out, ld_out)
pub type SimilarityFn = unsafe fn(&[f32], usize, &[f32], usize, usize, &mut [f32], usize);
/// cholesky_solve(g, n, b, nrhs)
pub type CholeskyFn = unsafe fn(&mut [f64], usize, &mut [f64], usize) -> Result<(), KernelError>;
/// matvec(x, rows, cols, w, bias, link, out)
pub type MatvecFn = unsafe fn(&[f32], usize, usize, &[f64], f64, u32, &mut [f32]);

pub struct Table {
    pub isa: Isa,
    pub normalize_rows: NormalizeFn,
    pub normalize_rows_in_place: NormalizeInPlaceFn,
    pub similarity_tile: SimilarityFn,
    pub topk_tile: unsafe fn(TopkArgs<'_>),
    pub kmeans_step: unsafe fn(KmeansArgs<'_>) -> f64,
    pub gram: unsafe fn(GramArgs<'_>),
    pub logistic_pass: unsafe fn(LogisticArgs<'_>),
    pub cholesky_solve: CholeskyFn,
    pub matvec: MatvecFn,
    pub multinomial_pass: unsafe fn(MultinomialArgs<'_>),
    pub als_solve: unsafe fn(AlsArgs<'_>) -> i64,
    pub tile_gemm: unsafe fn(TileGemm<f64>),
    pub tile_gemm_f32: unsafe fn(TileGemm<f32>),
    pub gram_f32acc: unsafe fn(GramArgs<'_>),
    pub topk_excl_tile: unsafe fn(TopkExclArgs<'_>),
    /// mirror_strip(out, n, row0, row1)
    pub mirror_strip: unsafe fn(&mut [f32], usize, usize, usize),
    /// row_norms(x, rows, cols, norms)
    pub row_norms: RowNormsFn,
}

static SCALAR: Table = Table {
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
    multinomial_pass: multinomial_pass_scalar,
    als_solve: als_solve_scalar,
    tile_gemm: tile_gemm_f64_scalar,
    tile_gemm_f32: tile_gemm_f32_scalar,
    gram_f32acc: gram_f32acc_scalar,
    topk_excl_tile: topk_excl_tile_f32_scalar,
    mirror_strip: mirror_strip_f32_scalar,
    row_norms: row_norms_f32_scalar,
};

static AVX2: Table = Table {
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
    multinomial_pass: multinomial_pass_avx2,
    als_solve: als_solve_avx2,
    tile_gemm: tile_gemm_f64_avx2,
    tile_gemm_f32: tile_gemm_f32_avx2,
    gram_f32acc: gram_f32acc_avx2,
    topk_excl_tile: topk_excl_tile_f32_avx2,
    mirror_strip: mirror_strip_f32_avx2,
    row_norms: row_norms_f32_avx2,
};

static AVX512: Table = Table {
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
    multinomial_pass: multinomial_pass_avx512,
    als_solve: als_solve_avx512,
    tile_gemm: tile_gemm_f64_avx512,
    tile_gemm_f32: tile_gemm_f32_avx512,
    gram_f32acc: gram_f32acc_avx512,
    topk_excl_tile: topk_excl_tile_f32_avx512,
    mirror_strip: mirror_strip_f32_avx512,
    row_norms: row_norms_f32_avx512,
};

/// The table of a level, or None when this CPU cannot run that level. Holding a `&Table` therefore
/// means its `unsafe fn`s are sound to call (given in-bounds slices).
pub fn table(isa: Isa) -> Option<&'static Table> {
    super::usable(isa).then_some(match isa {
        Isa::Scalar => &SCALAR,
        Isa::Avx2 => &AVX2,
        Isa::Avx512 => &AVX512,
    })
}
