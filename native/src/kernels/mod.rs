//! One file per kernel family; each exports `<op>_<dtype>_<isa>` functions (a scalar twin plus the
//! `unsafe` target-feature levels) over plain Rust slices. `lib.rs` is the only napi-aware code.
pub mod cholesky;
pub mod gram;
pub mod kmeans;
pub mod logistic;
pub mod matvec;
pub mod normalize;
pub mod reduce;
pub mod scratch;
pub mod similarity;
pub mod sparse;
#[cfg(test)]
pub mod testutil;
pub mod topk;
pub mod als;
pub mod als_cg;
pub mod als_cg_ops;
#[cfg(target_arch = "x86_64")]
pub mod als_cg_avx512;
pub mod multinomial;
pub mod xgemm;
pub mod tiles;
pub mod gram_f32;
pub mod topk_excl;
#[cfg(target_arch = "x86_64")]
pub mod kmeans_avx512;
pub mod mirror;
#[cfg(target_arch = "x86_64")]
pub mod topk_bf16;
