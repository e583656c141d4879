//! Instruction-set selection. The CPU is probed once per process; each `Kernels` object of the glue
//! (lib.rs) is built for one level (the detected one, or a lower one that the caller names) and holds
//! that level's function table, so no call looks the level up again and no loop branches on it.

mod table;
pub use table::{table, Table};

use std::sync::OnceLock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u32)]
pub enum Isa {
    Scalar = 0,
    /// x86-64-v3: AVX2 + FMA (what faer's GEMM calls `Avx256`).
    Avx2 = 1,
    /// x86-64-v4: AVX-512 F/VL/BW/DQ on top of v3.
    Avx512 = 2,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    pub fn from_name(name: &str) -> Option<Isa> {
        match name {
            "scalar" => Some(Isa::Scalar),
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            _ => None,
        }
    }

    /// Every level, best first.
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2, Isa::Scalar];
}

/// The best level this CPU runs, probed on first use.
pub fn detected() -> Isa {
    static DETECTED: OnceLock<Isa> = OnceLock::new();
    *DETECTED.get_or_init(probe)
}

#[cfg(target_arch = "x86_64")]
fn probe() -> Isa {
    use std::arch::is_x86_feature_detected as has;
    let v3 = has!("avx2") && has!("fma");
    let v4 = v3 && has!("avx512f") && has!("avx512vl") && has!("avx512bw") && has!("avx512dq");
    if v4 {
        Isa::Avx512
    } else if v3 {
        Isa::Avx2
    } else {
        Isa::Scalar
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn probe() -> Isa {
    Isa::Scalar
}

/// Kernel families whose AVX-512 level may run their AVX2 code instead (see `avx512_runs_avx2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// The k-means step past the small-k kernel (k > 32): GEMM of x against the centroids, then the
    /// per-row distances, argmin and cluster sums over k.
    KmeansLargeK,
}

/// The per-family choice table of the AVX-512 level: whether `family` runs its AVX2 code on this CPU
/// because that measured faster here. Keyed by CPU vendor and family, filled from `npm run bench -- isa`
/// (the A/B is in README, "SIMD levels"): a start-up calibration would time kernels in every process and
/// every worker, and its choice would move with the machine's load, which a table does not.
///
/// AMD family 19h with AVX-512 is Zen 4, which runs 512-bit operations as two 256-bit halves, so code
/// gains from AVX-512 only through its 32 registers, masks and fewer instructions. Measured there, one
/// thread, levels alternating (kmeansStep 200,000 × 32, k = 64): the AVX-512 step took 1.10× the AVX2
/// step's time in five runs, and 1.15× with only its GEMM swapped for the AVX2 one, so the loss is in
/// the step's own loops over k compiled for 512 bits: the whole AVX2 step runs instead.
/// W1's GEMM (depth 256) and the wide Gram (d = 256) ran 1.04–1.22× faster at AVX-512, and W2's top-k
/// 0.99–1.02×; the other families run the same 256-bit code at both levels. Zen 5 (family 1Ah) has
/// full-width 512-bit units and is not listed: on an AMD EPYC, avx512f, family 26 model 2 (`npm run bench -- isa`,
/// 2026-12-07) this k = 64 step ran 1.08× faster at AVX-512 than at AVX2, and every other family
/// 1.24–1.91× (the logistic pass, 256-bit code at both levels, 1.00). Results stay within the tested
/// tolerance: AVX2 is a tested level.
///
/// QUIVER_NATIVE_ISA_TABLE=off (read once per process) turns the table off, so the AVX-512 code of every
/// family can be timed again (`npm run bench -- isa` does).
pub fn avx512_runs_avx2(family: Family) -> bool {
    static OFF: OnceLock<bool> = OnceLock::new();
    if *OFF.get_or_init(|| std::env::var_os("QUIVER_NATIVE_ISA_TABLE").is_some_and(|v| v == "off"))
    {
        return false;
    }
    match family {
        Family::KmeansLargeK => zen4(),
    }
}

/// AMD family 19h with AVX-512 (Zen 3 is family 19h too, without AVX-512: it never reaches this level).
fn zen4() -> bool {
    static ZEN4: OnceLock<bool> = OnceLock::new();
    *ZEN4.get_or_init(|| amd_family() == Some(0x19) && detected() == Isa::Avx512)
}

#[cfg(target_arch = "x86_64")]
fn amd_family() -> Option<u32> {
    use std::arch::x86_64::__cpuid;
    // Leaves 0 (vendor) and 1 (family) exist on every x86-64 CPU.
    let (v, f) = (__cpuid(0), __cpuid(1));
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&v.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&v.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&v.ecx.to_le_bytes());
    if &vendor != b"AuthenticAMD" {
        return None;
    }
    Some(family_of(f.eax))
}

/// The family of cpuid leaf 1's eax: the base family, plus the extended family when the base is 0xF.
#[cfg(any(target_arch = "x86_64", test))]
fn family_of(eax: u32) -> u32 {
    let base = (eax >> 8) & 0xf;
    if base == 0xf {
        base + ((eax >> 20) & 0xff)
    } else {
        base
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn amd_family() -> Option<u32> {
    None
}

/// Whether this CPU runs `isa`: only then are the `unsafe` target-feature kernels behind it sound to call.
pub fn usable(isa: Isa) -> bool {
    isa <= detected()
}

#[cfg(test)]
mod tests {
    use super::family_of;

    #[test]
    fn cpu_family_adds_the_extended_family_only_past_base_0xf() {
        // Signatures (cpuid 1 eax) of an EPYC 9004 (Zen 4, family 19h), an EPYC 9005 (Zen 5, 1Ah), an
        // EPYC 7002 (Zen 2, 17h) and an Intel Xeon (family 6, whose extended-family bits are ignored).
        assert_eq!(family_of(0x00A1_0F11), 0x19);
        assert_eq!(family_of(0x00B0_0F21), 0x1A);
        assert_eq!(family_of(0x0083_0F10), 0x17);
        assert_eq!(family_of(0x0F80_06F8), 6);
    }
}
