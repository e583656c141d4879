//! Thread-local scratch buffers: each worker thread grows its own once and reuses it on every call, so
//! kernels do not allocate in steady state. One cell per purpose, so a kernel that holds one (top-k's
//! score block) can still call another that needs its own (the GEMM's one-row padding).
//!
//! The buffer is moved out of its cell for the duration of a call (`Scratch::take`) rather than lent to
//! a closure: code inside a closure run by `LocalKey::with` is compiled without the calling kernel's
//! target features (baseline SSE2), which made the SIMD kernels' loops scalar.

use std::cell::RefCell;
use std::thread::LocalKey;

pub type Cell<T> = LocalKey<RefCell<Vec<T>>>;

thread_local! {
    pub static GEMM_PAD: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static TOPK_SCORES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static KMEANS_DOTS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static KMEANS_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    pub static GRAM_F64: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    pub static ALS_WORK: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static ALS_COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    pub static TOPK_CURSOR: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// A thread's scratch buffer, taken out of its cell and put back on drop. A nested take of the same cell
/// (never done today) would just see an empty buffer and allocate its own.
pub struct Scratch<T: 'static> {
    cell: &'static Cell<T>,
    buf: Vec<T>,
}

impl<T: Copy + Default + 'static> Scratch<T> {
    /// At least `len` elements; contents are whatever the previous call left, so callers overwrite first.
    #[inline]
    pub fn take(cell: &'static Cell<T>, len: usize) -> Self {
        let mut buf = cell.with(|c| std::mem::take(&mut *c.borrow_mut()));
        if buf.len() < len {
            buf.resize(len, T::default());
        }
        Scratch { cell, buf }
    }

    #[inline(always)]
    pub fn slice(&mut self, len: usize) -> &mut [T] {
        &mut self.buf[..len]
    }

    /// `slice` that first grows the buffer when it is shorter than `len` (contents unspecified).
    #[inline]
    pub fn slice_grow(&mut self, len: usize) -> &mut [T] {
        if self.buf.len() < len {
            self.buf.resize(len, T::default());
        }
        &mut self.buf[..len]
    }
}

impl<T: 'static> Drop for Scratch<T> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // During thread teardown the cell may be gone already: then the buffer is simply freed.
        let _ = self.cell.try_with(|c| *c.borrow_mut() = buf);
    }
}
