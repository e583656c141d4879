//! Thread-local scratch buffers: each worker thread grows its own once and reuses it on every call, so
//! kernels do not allocate in steady state. One cell per purpose, so a kernel that holds one (top-k's
//! score block) can still call another that needs its own (the GEMM's one-row padding).

use std::cell::RefCell;
use std::thread::LocalKey;

pub type Cell<T> = LocalKey<RefCell<Vec<T>>>;

thread_local! {
    pub static GEMM_PAD: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static TOPK_SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static KMEANS_DOTS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static KMEANS_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    pub static GRAM_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on the first `len` elements of `cell`, growing it (never shrinking) when too short.
/// Contents are whatever the previous call left: callers overwrite before reading.
pub fn with<T: Copy + Default + 'static, R>(cell: &'static Cell<T>, len: usize, f: impl FnOnce(&mut [T]) -> R) -> R {
    cell.with(|c| {
        let mut v = c.borrow_mut();
        if v.len() < len {
            v.resize(len, T::default());
        }
        f(&mut v[..len])
    })
}
