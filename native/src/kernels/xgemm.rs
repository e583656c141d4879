//! The blocked GEMM of faer's x86 backend (private-gemm-x86) called with the instruction set of the
//! caller's level. faer picks AVX-512 whenever the CPU has avx512f, whatever level a `Kernels` object was
//! built for, so before this the `avx2` level still ran 512-bit GEMM microkernels on AVX-512 machines and
//! the two levels could not be compared. The calls below are the ones faer makes for these shapes
//! (column-major destination, one thread), with the set named instead of detected.

use private_gemm_x86::{gemm, Accum, DType, DstKind, IType, InstrSet};

fn set(wide: bool) -> InstrSet {
    if wide {
        InstrSet::Avx512
    } else {
        InstrSet::Avx256
    }
}

/// Column-major `dst` (n × m, column stride `ld`) = b · aᵀ with b row-major n × k and a row-major m × k.
///
/// # Safety
/// The CPU runs the set (`wide`: AVX-512F; else AVX2 + FMA); n, m ≥ 1, k ≥ 1; `dst` holds
/// (m − 1)·ld + n elements, `b` n·k, `a` m·k.
pub unsafe fn sgemm_nt_cm(
    wide: bool,
    a: &[f32],
    m: usize,
    b: &[f32],
    n: usize,
    k: usize,
    dst: &mut [f32],
    ld: usize,
) {
    debug_assert!(dst.len() > (m - 1) * ld + n - 1 && a.len() >= m * k && b.len() >= n * k);
    let alpha = 1.0f32;
    unsafe {
        gemm(
            DType::F32,
            IType::U64,
            set(wide),
            n,
            m,
            k,
            dst.as_mut_ptr() as *mut (),
            1,
            ld as isize,
            core::ptr::null(),
            core::ptr::null(),
            DstKind::Full,
            Accum::Replace,
            b.as_ptr() as *const (),
            k as isize,
            1,
            false,
            core::ptr::null(),
            0,
            a.as_ptr() as *const (),
            1,
            k as isize,
            false,
            &alpha as *const f32 as *const (),
            1,
        );
    }
}

/// Lower triangle (diagonal included) of the column-major `g` (d × d) += Bᵀ·A over `rows` rows, with B
/// and A row-major rows × d: g[b, a] += Σ_i B[i, b]·A[i, a] for b ≥ a.
///
/// # Safety
/// As `sgemm_nt_cm`; `g` holds d·d elements, `lhs` and `rhs` rows·d; d, rows ≥ 1.
pub unsafe fn dgemm_tn_lower_add(
    wide: bool,
    lhs: &[f64],
    rhs: &[f64],
    rows: usize,
    d: usize,
    g: &mut [f64],
) {
    debug_assert!(g.len() >= d * d && lhs.len() >= rows * d && rhs.len() >= rows * d);
    let alpha = 1.0f64;
    unsafe {
        gemm(
            DType::F64,
            IType::U32,
            set(wide),
            d,
            d,
            rows,
            g.as_mut_ptr() as *mut (),
            1,
            d as isize,
            core::ptr::null(),
            core::ptr::null(),
            DstKind::Lower,
            Accum::Add,
            lhs.as_ptr() as *const (),
            1,
            d as isize,
            false,
            core::ptr::null(),
            0,
            rhs.as_ptr() as *const (),
            d as isize,
            1,
            false,
            &alpha as *const f64 as *const (),
            1,
        );
    }
}
