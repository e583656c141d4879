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

/// Whether this CPU runs `isa`: only then are the `unsafe` target-feature kernels behind it sound to call.
pub fn usable(isa: Isa) -> bool {
    isa <= detected()
}
