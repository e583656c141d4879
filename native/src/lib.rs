//! napi glue only. One class, `Kernels`, is made once per thread for one instruction-set level and holds
//! that level's function table; each method checks sizes and aliasing in O(1) and calls a plain Rust
//! kernel on slices of the caller's own typed arrays: no copies, so views of SharedArrayBuffers are read
//! and written in place. Arguments stay positional here, at the FFI; src/backends/native.ts maps the
//! Backend contract's argument objects onto them (see src/backends/types.ts for the full semantics).
//!
//! Every export runs its body inside `guard`: a failure becomes a JavaScript error whose `code` is the napi
//! status (a Quiver error code) and whose message is the JSON object of its facts (the text is built in
//! TypeScript, the same for every backend), and a panic becomes an INTERNAL error instead of aborting the
//! process with every worker in it. `catch_unwind` on each export also covers napi's own argument
//! conversion, outside the body (such a panic arrives with napi's status, which TypeScript reports as INTERNAL).

// The kernel methods mirror the positional FFI signatures one to one.
#![allow(clippy::too_many_arguments)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{Float32ArraySlice, Float64ArraySlice, Int32ArraySlice};
use napi::Error;
use napi_derive::napi;

pub mod error;
pub mod kernels;
pub mod simd;

use error::KernelError;
use kernels::gram::GramArgs;
use kernels::kmeans::KmeansArgs;
use kernels::logistic::{out_len as logistic_out_len, LogisticArgs};
use kernels::multinomial::{mode_len as multinomial_out_len, MultinomialArgs};
use kernels::sparse::{SparseScoreArgs, SparseSimilarityArgs};
use kernels::tiles::TileGemm;
use kernels::topk::TopkArgs;
use simd::{Isa, Table};

/// What every export returns: its status is a Quiver error code, its reason the failure's facts as JSON.
/// (Named `Result` so that napi's typings unwrap it to the value type.)
type Result<T> = std::result::Result<T, Error<&'static str>>;

/// Runs an export's body: kernel errors and panics both leave as a JavaScript error with a Quiver code.
fn guard<T>(body: impl FnOnce() -> std::result::Result<T, KernelError>) -> Result<T> {
    unwound(body).map_err(|e| Error::new(e.code, e.details_json()))
}

/// The body's result, or its panic as an INTERNAL kernel error.
fn unwound<T>(body: impl FnOnce() -> std::result::Result<T, KernelError>) -> std::result::Result<T, KernelError> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|payload| {
        let text = match payload.downcast_ref::<&str>() {
            Some(s) => (*s).to_owned(),
            None => payload.downcast_ref::<String>().cloned().unwrap_or_else(|| "a panic without a message".to_owned()),
        };
        Err(KernelError::panic(text))
    })
}

fn need(what: &str, have: usize, want: usize) -> std::result::Result<(), KernelError> {
    if have < want {
        return Err(KernelError::shape(what, have, want));
    }
    Ok(())
}

/// The bytes an argument actually uses (not its whole view), for the aliasing check.
#[derive(Clone, Copy)]
struct Span {
    name: &'static str,
    start: usize,
    end: usize,
}

fn span<T>(name: &'static str, s: &[T], used: usize) -> Span {
    let start = s.as_ptr() as usize;
    Span { name, start, end: start + used.min(s.len()) * std::mem::size_of::<T>() }
}

/// Outputs become `&mut` slices: Rust (and the optimiser) assume they share memory with nothing else.
fn disjoint(outputs: &[Span], inputs: &[Span]) -> std::result::Result<(), KernelError> {
    for (i, o) in outputs.iter().enumerate() {
        for other in outputs[i + 1..].iter().chain(inputs) {
            if o.start < o.end && other.start < other.end && o.start < other.end && other.start < o.end {
                return Err(KernelError::overlap(o.name, other.name));
            }
        }
    }
    Ok(())
}

#[cfg(target_arch = "x86_64")]
fn screen_available() -> bool {
    kernels::topk_bf16::available()
}

#[cfg(not(target_arch = "x86_64"))]
fn screen_available() -> bool {
    false
}

/// Both scales of a cosine top-k, or neither (one alone is a shape error naming the missing one).
fn topk_scales<'a>(
    q: &'a Option<Float32ArraySlice>,
    qr: usize,
    x: &'a Option<Float32ArraySlice>,
    xr: usize,
) -> std::result::Result<Option<kernels::topk::Scales<'a>>, KernelError> {
    match (q, x) {
        (None, None) => Ok(None),
        (Some(q), Some(x)) => {
            need("qScale", q.len(), qr)?;
            need("xScale", x.len(), xr)?;
            Ok(Some((&q[..qr], &x[..xr])))
        }
        (None, Some(_)) => Err(KernelError::shape("qScale", 0, qr)),
        (Some(_), None) => Err(KernelError::shape("xScale", 0, xr)),
    }
}

/// The scales' spans for the aliasing check (empty when absent).
fn scale_spans(scales: Option<kernels::topk::Scales<'_>>) -> [Span; 2] {
    let empty: &[f32] = &[];
    let (q, x) = scales.unwrap_or((empty, empty));
    [span("qScale", q, q.len()), span("xScale", x, x.len())]
}

/// The best instruction-set level of this CPU: 'avx512', 'avx2' or 'scalar' (probed once per process).
#[napi(catch_unwind)]
pub fn detected_isa() -> Result<String> {
    guard(|| Ok(simd::detected().name().to_owned()))
}

/// Every level this CPU runs, best first (each one a valid argument of `new Kernels`).
#[napi(catch_unwind)]
pub fn usable_isas() -> Result<Vec<String>> {
    guard(|| Ok(Isa::ALL.iter().filter(|isa| simd::usable(**isa)).map(|isa| isa.name().to_owned()).collect()))
}

#[napi(object)]
pub struct Versions {
    pub native: String,
    pub faer: String,
}

/// The crate's version and the faer version it was built with.
#[napi(catch_unwind)]
pub fn versions() -> Result<Versions> {
    guard(|| {
        Ok(Versions { native: env!("CARGO_PKG_VERSION").to_owned(), faer: env!("QUIVER_FAER_VERSION").to_owned() })
    })
}

/// The kernels at one instruction-set level, bound once: a backend holds one per thread and calls its
/// methods, which never look the level up again.
#[napi]
pub struct Kernels {
    table: &'static Table,
    /// Cosine top-k screens in bf16 (AVX-512 level on a CPU with AVX512_BF16, unless turned off).
    screen: bool,
}

#[napi]
impl Kernels {
    /// `isa`: 'avx512', 'avx2', 'scalar', or 'auto' for the best this CPU runs. A level this CPU cannot run
    /// fails with BACKEND_UNAVAILABLE and the CPU's best level in its facts. `topkScreen` (default true):
    /// cosine top-k screens in bf16 where it can (the AVX-512 level on a CPU with AVX512_BF16); same results.
    #[napi(constructor, catch_unwind)]
    pub fn new(isa: String, topk_screen: Option<bool>) -> Result<Self> {
        guard(|| {
            let best = simd::detected();
            let level = if isa == "auto" { Some(best) } else { Isa::from_name(&isa) };
            match level.and_then(simd::table) {
                Some(table) => {
                    let screen = topk_screen.unwrap_or(true) && table.isa == Isa::Avx512 && screen_available();
                    Ok(Kernels { table, screen })
                }
                None => Err(KernelError::isa_unavailable(&isa, best.name())),
            }
        })
    }

    /// Whether cosine top-k screens in bf16 (see the constructor).
    #[napi(getter, catch_unwind)]
    pub fn topk_screen(&self) -> Result<bool> {
        guard(|| Ok(self.screen))
    }

    /// The level these kernels run at: 'avx512', 'avx2' or 'scalar'.
    #[napi(getter, catch_unwind)]
    pub fn isa(&self) -> Result<String> {
        guard(|| Ok(self.table.isa.name().to_owned()))
    }

    /// out[i,:] = x[i,:] / ‖x[i,:]‖₂, norms[i] = ‖x[i,:]‖₂ (sum of squares in f64); a zero row stays zero.
    /// `out` may be `x` itself (in place).
    #[napi(catch_unwind)]
    pub fn normalize_rows(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        out: Float32ArraySlice,
        norms: Float32ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (rows, cols) = (rows as usize, cols as usize);
            let len = rows * cols;
            need("x", x.len(), len)?;
            need("out", out.len(), len)?;
            need("norms", norms.len(), rows)?;
            let (mut out, mut norms) = (out, norms);
            let in_place = x.as_ptr() == out.as_ptr();
            let sx = span("x", &x, len);
            let so = span("out", &out, len);
            let sn = span("norms", &norms, rows);
            if in_place {
                disjoint(&[sn], &[sx])?;
                // SAFETY: out is x; norms overlaps neither (checked); the table's level runs on this CPU.
                unsafe { (t.normalize_rows_in_place)(&mut out.as_mut()[..len], rows, cols, &mut norms.as_mut()[..rows]) };
            } else {
                disjoint(&[so, sn], &[sx])?;
                // SAFETY: outputs overlap nothing (checked); the table's level runs on this CPU.
                unsafe { (t.normalize_rows)(&x[..len], rows, cols, &mut out.as_mut()[..len], &mut norms.as_mut()[..rows]) };
            }
            Ok(())
        })
    }

    /// out[i * ldOut + j] = a[i,:]·b[j,:] for i < aRows, j < bRows (f32 FMA chains, deterministic per
    /// element); ldOut ≥ bRows is the row stride of `out`, whose other elements are left as they were.
    #[napi(catch_unwind)]
    pub fn similarity_tile(
        &self,
        a: Float32ArraySlice,
        a_rows: u32,
        b: Float32ArraySlice,
        b_rows: u32,
        cols: u32,
        out: Float32ArraySlice,
        ld_out: u32,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (m, n, k, ld) = (a_rows as usize, b_rows as usize, cols as usize, ld_out as usize);
            need("a", a.len(), m * k)?;
            need("b", b.len(), n * k)?;
            if ld < n {
                return Err(KernelError::out_of_range("ldOut", ld as i64, n as i64, u32::MAX as i64, None));
            }
            // An empty block writes nothing (the kernels index rows of `out` by i·ld, past an empty slice).
            if m == 0 || n == 0 {
                return Ok(());
            }
            let used = (m - 1) * ld + n;
            need("out", out.len(), used)?;
            let mut out = out;
            disjoint(&[span("out", &out, used)], &[span("a", &a, m * k), span("b", &b, n * k)])?;
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.similarity_tile)(&a[..m * k], m, &b[..n * k], n, k, &mut out.as_mut()[..used], ld) };
            Ok(())
        })
    }

    /// Fused q·xᵀ merged into a running per-query top-k (outIdx/outScores: k entries per query, sorted
    /// best first, ties to the lower index; empty slots -1 / -Infinity). Base row j has global index
    /// xOffset + j, query row i has qOffset + i; excludeSelf skips equal global indices.
    #[napi(catch_unwind)]
    pub fn topk_tile(
        &self,
        q: Float32ArraySlice,
        q_rows: u32,
        x: Float32ArraySlice,
        x_rows: u32,
        cols: u32,
        k: u32,
        q_offset: i64,
        x_offset: i64,
        exclude_self: bool,
        out_idx: Int32ArraySlice,
        out_scores: Float32ArraySlice,
        q_scale: Option<Float32ArraySlice>,
        x_scale: Option<Float32ArraySlice>,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (qr, xr, d, k) = (q_rows as usize, x_rows as usize, cols as usize, k as usize);
            need("q", q.len(), qr * d)?;
            need("x", x.len(), xr * d)?;
            need("outIdx", out_idx.len(), qr * k)?;
            need("outScores", out_scores.len(), qr * k)?;
            let scales = topk_scales(&q_scale, qr, &x_scale, xr)?;
            let [qs_span, xs_span] = scale_spans(scales);
            // Global base indices must fit the Int32 state.
            let max_offset = i32::MAX as i64 - xr as i64;
            if x_offset < 0 || x_offset > max_offset {
                return Err(KernelError::out_of_range("xOffset", x_offset, 0, max_offset, None));
            }
            let (mut out_idx, mut out_scores) = (out_idx, out_scores);
            disjoint(
                &[span("outIdx", &out_idx, qr * k), span("outScores", &out_scores, qr * k)],
                &[span("q", &q, qr * d), span("x", &x, xr * d), qs_span, xs_span],
            )?;
            let args = TopkArgs {
                q: &q[..qr * d],
                q_rows: qr,
                x: &x[..xr * d],
                x_rows: xr,
                cols: d,
                k,
                q_offset,
                x_offset,
                exclude_self,
                scales,
                out_idx: unsafe { &mut out_idx.as_mut()[..qr * k] },
                out_scores: unsafe { &mut out_scores.as_mut()[..qr * k] },
            };
            let mut args = args;
            #[cfg(target_arch = "x86_64")]
            if self.screen && scales.is_some() && kernels::topk_bf16::worth(xr, k, d) {
                // SAFETY: `screen` is only set where the CPU has AVX-512 and AVX512_BF16; scales are set.
                if unsafe { kernels::topk_bf16::topk_screened(&mut args) } {
                    return Ok(());
                }
            }
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.topk_tile)(args) };
            Ok(())
        })
    }

    /// One Lloyd step over a block of rows: labels by argmin ‖c‖² − 2x·c (ties to the lower centroid),
    /// sums and counts accumulate (f64, weighted when `weights` is given); with `minDist2` the exact f64
    /// distances are written and the block's inertia returned, without it NaN. With `changes`, changes[0]
    /// += the rows whose label differs from what `labels` held on entry.
    #[napi(catch_unwind)]
    pub fn kmeans_step(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        centroids: Float32ArraySlice,
        k: u32,
        weights: Option<Float32ArraySlice>,
        labels: Int32ArraySlice,
        min_dist2: Option<Float64ArraySlice>,
        sums: Float64ArraySlice,
        counts: Float64ArraySlice,
        changes: Option<Int32ArraySlice>,
    ) -> Result<f64> {
        guard(|| {
            let t = self.table;
            let (r, d, k) = (rows as usize, cols as usize, k as usize);
            need("x", x.len(), r * d)?;
            need("centroids", centroids.len(), k * d)?;
            if let Some(w) = &weights {
                need("weights", w.len(), r)?;
            }
            need("labels", labels.len(), r)?;
            if let Some(m) = &min_dist2 {
                need("minDist2", m.len(), r)?;
            }
            need("sums", sums.len(), k * d)?;
            need("counts", counts.len(), k)?;
            if let Some(c) = &changes {
                need("changes", c.len(), 1)?;
            }
            let mut inputs = vec![span("x", &x, r * d), span("centroids", &centroids, k * d)];
            if let Some(w) = &weights {
                inputs.push(span("weights", w, r));
            }
            let (mut labels, mut min_dist2, mut sums, mut counts, mut changes) = (labels, min_dist2, sums, counts, changes);
            let mut outputs = vec![span("labels", &labels, r), span("sums", &sums, k * d), span("counts", &counts, k)];
            outputs.extend(min_dist2.as_ref().map(|m| span("minDist2", m, r)));
            outputs.extend(changes.as_ref().map(|c| span("changes", c, 1)));
            disjoint(&outputs, &inputs)?;
            let args = KmeansArgs {
                x: &x[..r * d],
                rows: r,
                cols: d,
                centroids: &centroids[..k * d],
                k,
                weights: weights.as_ref().map(|w| &w[..r]),
                labels: unsafe { &mut labels.as_mut()[..r] },
                min_dist2: min_dist2.as_mut().map(|m| unsafe { &mut m.as_mut()[..r] }),
                sums: unsafe { &mut sums.as_mut()[..k * d] },
                counts: unsafe { &mut counts.as_mut()[..k] },
                changes: changes.as_mut().map(|c| unsafe { &mut c.as_mut()[..1] }),
            };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            Ok(unsafe { (t.kmeans_step)(args) })
        })
    }

    /// g (upper triangle, row-major cols × cols) += Σ_i w_i (x_i − c)(x_i − c)ᵀ and xty += Σ_i v_i (x_i − c)
    /// over a block of rows, in f64; absent w means all ones, absent center no centring, and xty is only
    /// accumulated when both v and xty are given; sums += Σ_i w_i (x_i − c) when given. `accumulate_f32`:
    /// f32 FMAs over blocks of 128 rows flushed into the f64 sums (kernels/gram_f32.rs).
    #[napi(catch_unwind)]
    #[allow(clippy::too_many_arguments)]
    pub fn gram(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        w: Option<Float64ArraySlice>,
        center: Option<Float64ArraySlice>,
        v: Option<Float64ArraySlice>,
        g: Float64ArraySlice,
        xty: Option<Float64ArraySlice>,
        sums: Option<Float64ArraySlice>,
        accumulate_f32: Option<bool>,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (r, d) = (rows as usize, cols as usize);
            need("x", x.len(), r * d)?;
            if let Some(w) = &w {
                need("w", w.len(), r)?;
            }
            if let Some(c) = &center {
                need("center", c.len(), d)?;
            }
            if let Some(v) = &v {
                need("v", v.len(), r)?;
            }
            need("g", g.len(), d * d)?;
            if let Some(xty) = &xty {
                need("xty", xty.len(), d)?;
            }
            let mut inputs = vec![span("x", &x, r * d)];
            inputs.extend(w.as_ref().map(|s| span("w", s, r)));
            inputs.extend(center.as_ref().map(|s| span("center", s, d)));
            inputs.extend(v.as_ref().map(|s| span("v", s, r)));
            if let Some(s) = &sums {
                need("sums", s.len(), d)?;
            }
            let mut outputs = vec![span("g", &g, d * d)];
            outputs.extend(xty.as_ref().map(|s| span("xty", s, d)));
            outputs.extend(sums.as_ref().map(|s| span("sums", s, d)));
            disjoint(&outputs, &inputs)?;
            let mut g = g;
            let mut xty = xty;
            let mut sums = sums;
            let args = GramArgs {
                x: &x[..r * d],
                rows: r,
                cols: d,
                w: w.as_ref().map(|s| &s[..r]),
                center: center.as_ref().map(|s| &s[..d]),
                v: v.as_ref().map(|s| &s[..r]),
                g: unsafe { &mut g.as_mut()[..d * d] },
                xty: xty.as_mut().map(|s| unsafe { &mut s.as_mut()[..d] }),
                sums: sums.as_mut().map(|s| unsafe { &mut s.as_mut()[..d] }),
            };
            let f = if accumulate_f32.unwrap_or(false) { t.gram_f32acc } else { t.gram };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { f(args) };
            Ok(())
        })
    }

    /// One fused logistic-regression pass over a block of rows: z = X·beta + bias into `z`; losses, the
    /// correct count, Xᵀv and Σv, and with `hessian` Xᵀw, Σw and the upper triangle of XᵀWX, accumulated
    /// into `out` (layout: `logisticLayout` in src/backends/types.ts).
    #[napi(catch_unwind)]
    pub fn logistic_pass(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        y: Float64ArraySlice,
        s: Option<Float64ArraySlice>,
        beta: Float64ArraySlice,
        bias: f64,
        hessian: bool,
        z: Float64ArraySlice,
        out: Float64ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (r, d) = (rows as usize, cols as usize);
            let n = logistic_out_len(d);
            need("x", x.len(), r * d)?;
            need("y", y.len(), r)?;
            if let Some(s) = &s {
                need("s", s.len(), r)?;
            }
            need("beta", beta.len(), d)?;
            need("z", z.len(), r)?;
            need("out", out.len(), n)?;
            let mut inputs = vec![span("x", &x, r * d), span("y", &y, r), span("beta", &beta, d)];
            inputs.extend(s.as_ref().map(|s| span("s", s, r)));
            disjoint(&[span("z", &z, r), span("out", &out, n)], &inputs)?;
            let (mut z, mut out) = (z, out);
            let args = LogisticArgs {
                x: &x[..r * d],
                rows: r,
                cols: d,
                y: &y[..r],
                s: s.as_ref().map(|s| &s[..r]),
                beta: &beta[..d],
                bias,
                hessian,
                z: unsafe { &mut z.as_mut()[..r] },
                out: unsafe { &mut out.as_mut()[..n] },
            };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.logistic_pass)(args) };
            Ok(())
        })
    }

    /// Solves G X = B in place by Cholesky (f64): reads the upper triangle of g (n × n), overwrites g with
    /// the factor and b (n × nrhs, row-major) with X. A pivot ≤ 0 or not finite fails with
    /// NOT_POSITIVE_DEFINITE and its index.
    #[napi(catch_unwind)]
    pub fn cholesky_solve(&self, g: Float64ArraySlice, n: u32, b: Float64ArraySlice, nrhs: u32) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (n, nrhs) = (n as usize, nrhs as usize);
            need("g", g.len(), n * n)?;
            need("b", b.len(), n * nrhs)?;
            disjoint(&[span("g", &g, n * n), span("b", &b, n * nrhs)], &[])?;
            let (mut g, mut b) = (g, b);
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.cholesky_solve)(&mut g.as_mut()[..n * n], n, &mut b.as_mut()[..n * nrhs], nrhs) }
        })
    }

    /// out[i] = link(x[i,:]·w + bias) with f64 accumulation, stored as f32; link 0 = identity, 1 = sigmoid.
    #[napi(catch_unwind)]
    pub fn matvec(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        w: Float64ArraySlice,
        bias: f64,
        link: u32,
        out: Float32ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (r, d) = (rows as usize, cols as usize);
            need("x", x.len(), r * d)?;
            need("w", w.len(), d)?;
            need("out", out.len(), r)?;
            if link > 1 {
                return Err(KernelError::out_of_range("link", link as i64, 0, 1, None));
            }
            let mut out = out;
            disjoint(&[span("out", &out, r)], &[span("x", &x, r * d), span("w", &w, d)])?;
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.matvec)(&x[..r * d], r, d, &w[..d], bias, link, &mut out.as_mut()[..r]) };
            Ok(())
        })
    }

    /// Sparse similarity top-k over CSR rows [row0, row1) of A against B (f64 scatter in CSR order, scores
    /// dot / (rowNorms[r]·colNorms[j] + shrink)); scratch acc/mark/list of nCols elements, zero on entry
    /// and on exit. One scalar kernel for every level (a scatter does not vectorise).
    #[napi(catch_unwind)]
    pub fn sparse_similarity_topk(
        &self,
        a_ptr: Int32ArraySlice,
        a_idx: Int32ArraySlice,
        a_val: Float32ArraySlice,
        b_ptr: Int32ArraySlice,
        b_idx: Int32ArraySlice,
        b_val: Float32ArraySlice,
        row0: u32,
        row1: u32,
        n_cols: u32,
        row_norms: Option<Float32ArraySlice>,
        col_norms: Option<Float32ArraySlice>,
        shrink: f64,
        k: u32,
        exclude_self: bool,
        acc: Float64ArraySlice,
        mark: Int32ArraySlice,
        list: Int32ArraySlice,
        out_idx: Int32ArraySlice,
        out_scores: Float32ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let (nc, rows, k) = (n_cols as usize, row1.saturating_sub(row0) as usize, k as usize);
            let mut inputs = vec![
                span("aPtr", &a_ptr, a_ptr.len()),
                span("aIdx", &a_idx, a_idx.len()),
                span("aVal", &a_val, a_val.len()),
                span("bPtr", &b_ptr, b_ptr.len()),
                span("bIdx", &b_idx, b_idx.len()),
                span("bVal", &b_val, b_val.len()),
            ];
            inputs.extend(row_norms.as_ref().map(|s| span("rowNorms", s, s.len())));
            inputs.extend(col_norms.as_ref().map(|s| span("colNorms", s, s.len())));
            let (mut acc, mut mark, mut list, mut out_idx, mut out_scores) = (acc, mark, list, out_idx, out_scores);
            disjoint(
                &[
                    span("acc", &acc, nc),
                    span("mark", &mark, nc),
                    span("list", &list, nc),
                    span("outIdx", &out_idx, rows * k),
                    span("outScores", &out_scores, rows * k),
                ],
                &inputs,
            )?;
            kernels::sparse::sparse_similarity_topk_f64_scalar(SparseSimilarityArgs {
                a_ptr: &a_ptr,
                a_idx: &a_idx,
                a_val: &a_val,
                b_ptr: &b_ptr,
                b_idx: &b_idx,
                b_val: &b_val,
                row0: row0 as usize,
                row1: row1 as usize,
                n_cols: nc,
                row_norms: row_norms.as_deref(),
                col_norms: col_norms.as_deref(),
                shrink,
                k,
                exclude_self,
                acc: unsafe { acc.as_mut() },
                mark: unsafe { mark.as_mut() },
                list: unsafe { list.as_mut() },
                out_idx: unsafe { out_idx.as_mut() },
                out_scores: unsafe { out_scores.as_mut() },
            })
        })
    }

    /// Sparse scoring top-n over CSR rows [row0, row1) of A through M (f64 scatter in CSR order), minus the
    /// columns of the row in `seen` and those with allow[j] = 0; normalize 0 raw sums, 1 or 2 divided by
    /// Σ|aVal| or Σ|mVal| (scratch `den`). Scratch of nCols elements, zero on entry and on exit. One scalar
    /// kernel for every level.
    #[napi(catch_unwind)]
    pub fn sparse_score_topn(
        &self,
        a_ptr: Int32ArraySlice,
        a_idx: Int32ArraySlice,
        a_val: Float32ArraySlice,
        m_ptr: Int32ArraySlice,
        m_idx: Int32ArraySlice,
        m_val: Float32ArraySlice,
        seen_ptr: Option<Int32ArraySlice>,
        seen_idx: Option<Int32ArraySlice>,
        allow: Option<Int32ArraySlice>,
        normalize: u32,
        row0: u32,
        row1: u32,
        n_cols: u32,
        n: u32,
        acc: Float64ArraySlice,
        den: Option<Float64ArraySlice>,
        mark: Int32ArraySlice,
        list: Int32ArraySlice,
        out_idx: Int32ArraySlice,
        out_scores: Float32ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let (nc, rows, n) = (n_cols as usize, row1.saturating_sub(row0) as usize, n as usize);
            let mut inputs = vec![
                span("aPtr", &a_ptr, a_ptr.len()),
                span("aIdx", &a_idx, a_idx.len()),
                span("aVal", &a_val, a_val.len()),
                span("mPtr", &m_ptr, m_ptr.len()),
                span("mIdx", &m_idx, m_idx.len()),
                span("mVal", &m_val, m_val.len()),
            ];
            inputs.extend(seen_ptr.as_ref().map(|s| span("seenPtr", s, s.len())));
            inputs.extend(seen_idx.as_ref().map(|s| span("seenIdx", s, s.len())));
            inputs.extend(allow.as_ref().map(|s| span("allow", s, s.len())));
            let (mut acc, mut den, mut mark, mut list, mut out_idx, mut out_scores) = (acc, den, mark, list, out_idx, out_scores);
            let mut outputs = vec![
                span("acc", &acc, nc),
                span("mark", &mark, nc),
                span("list", &list, nc),
                span("outIdx", &out_idx, rows * n),
                span("outScores", &out_scores, rows * n),
            ];
            outputs.extend(den.as_ref().map(|s| span("den", s, nc)));
            disjoint(&outputs, &inputs)?;
            let seen = match (&seen_ptr, &seen_idx) {
                (Some(p), Some(i)) => Some((&p[..], &i[..])),
                _ => None,
            };
            kernels::sparse::sparse_score_topn_f64_scalar(SparseScoreArgs {
                a_ptr: &a_ptr,
                a_idx: &a_idx,
                a_val: &a_val,
                m_ptr: &m_ptr,
                m_idx: &m_idx,
                m_val: &m_val,
                seen,
                allow: allow.as_deref(),
                normalize,
                row0: row0 as usize,
                row1: row1 as usize,
                n_cols: nc,
                n,
                acc: unsafe { acc.as_mut() },
                den: den.as_mut().map(|d| unsafe { d.as_mut() }),
                mark: unsafe { mark.as_mut() },
                list: unsafe { list.as_mut() },
                out_idx: unsafe { out_idx.as_mut() },
                out_scores: unsafe { out_scores.as_mut() },
            })
        })
    }
    /// One fused softmax (multiclass logistic) pass over a block of rows: K logits per row from theta
    /// (k × cols), the losses and the correct count; with mode ≥ 1 the gradient (k × cols), with mode 2 the
    /// upper triangles of the Hessian blocks of the first k − 1 classes too, accumulated into `out` (layout:
    /// `multinomialLayout` in src/backends/types.ts; `out` needs only the prefix the mode writes). y holds class indices in [0, k).
    #[napi(catch_unwind)]
    pub fn multinomial_pass(
        &self,
        x: Float32ArraySlice,
        rows: u32,
        cols: u32,
        k: u32,
        y: Float64ArraySlice,
        s: Option<Float64ArraySlice>,
        theta: Float64ArraySlice,
        mode: u32,
        out: Float64ArraySlice,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (r, d, k) = (rows as usize, cols as usize, k as usize);
            let n = multinomial_out_len(mode, k, d);
            need("x", x.len(), r * d)?;
            need("y", y.len(), r)?;
            if let Some(s) = &s {
                need("s", s.len(), r)?;
            }
            need("theta", theta.len(), k * d)?;
            need("out", out.len(), n)?;
            let mut inputs = vec![span("x", &x, r * d), span("y", &y, r), span("theta", &theta, k * d)];
            inputs.extend(s.as_ref().map(|s| span("s", s, r)));
            disjoint(&[span("out", &out, n)], &inputs)?;
            let mut out = out;
            let args = MultinomialArgs {
                x: &x[..r * d],
                rows: r,
                cols: d,
                k,
                y: &y[..r],
                s: s.as_ref().map(|s| &s[..r]),
                theta: &theta[..k * d],
                mode,
                out: unsafe { &mut out.as_mut()[..n] },
            };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.multinomial_pass)(args) };
            Ok(())
        })
    }

    /// Tile GEMM (family `tiles`), f64: C = alpha·A·B, or C += alpha·A·B with `accumulate`, where element
    /// (i, j) of each operand X is x[x_off + i·x_rs + j·x_cs] (strides ≥ 0); C is m × n, A m × k, B k × n.
    /// A, B and C may be the same array as long as C's elements overlap neither A's nor B's (the caller's
    /// guarantee; the glue checks only the bounds).
    #[napi(catch_unwind)]
    pub fn tile_gemm(
        &self,
        c: Float64ArraySlice,
        c_off: u32,
        c_rs: u32,
        c_cs: u32,
        a: Float64ArraySlice,
        a_off: u32,
        a_rs: u32,
        a_cs: u32,
        b: Float64ArraySlice,
        b_off: u32,
        b_rs: u32,
        b_cs: u32,
        m: u32,
        n: u32,
        k: u32,
        alpha: f64,
        accumulate: bool,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (m, n, k) = (m as usize, n as usize, k as usize);
            // The last element an operand addresses must be in bounds (strides are non-negative).
            let last = |off: u32, rs: u32, cs: u32, r: usize, cl: usize| {
                off as usize + r.saturating_sub(1) * rs as usize + cl.saturating_sub(1) * cs as usize + 1
            };
            if m > 0 && n > 0 {
                need("c", c.len(), last(c_off, c_rs, c_cs, m, n))?;
                if k > 0 {
                    need("a", a.len(), last(a_off, a_rs, a_cs, m, k))?;
                    need("b", b.len(), last(b_off, b_rs, b_cs, k, n))?;
                }
            } else {
                return Ok(());
            }
            let a_ptr = a.as_ptr();
            let b_ptr = b.as_ptr();
            let mut c = c;
            // SAFETY: raw pointers only (the three views may share a buffer); every addressed element is in
            // bounds (checked above) and C is disjoint from A and B (the caller's contract).
            let c_ptr = unsafe { c.as_mut().as_mut_ptr() };
            let g = TileGemm {
                c: unsafe { c_ptr.add(c_off as usize) },
                c_rs: c_rs as isize,
                c_cs: c_cs as isize,
                a: unsafe { a_ptr.add(a_off as usize) },
                a_rs: a_rs as isize,
                a_cs: a_cs as isize,
                b: unsafe { b_ptr.add(b_off as usize) },
                b_rs: b_rs as isize,
                b_cs: b_cs as isize,
                m,
                n,
                k,
                alpha,
                accumulate,
            };
            unsafe { (t.tile_gemm)(g) };
            Ok(())
        })
    }

    /// One implicit-ALS half-step over CSR rows [row0, row1) (see kernels/als.rs): solves each row's system
    /// from yty (k × k, f64), the other side's f32 factors y (nOther × k) and the row's values, and writes
    /// x's rows in place. Returns −1, or the first row whose system is not positive definite.
    #[napi(catch_unwind)]
    pub fn als_solve(
        &self,
        yty: Float64ArraySlice,
        y: Float32ArraySlice,
        n_other: u32,
        k: u32,
        ptr: Int32ArraySlice,
        idx: Int32ArraySlice,
        val: Float32ArraySlice,
        row0: u32,
        row1: u32,
        x: Float32ArraySlice,
        alpha: f64,
        reg: f64,
        reg_mode: u32,
        solver: u32,
        cg_steps: u32,
        scratch: Float64ArraySlice,
    ) -> Result<i64> {
        guard(|| {
            let t = self.table;
            let (k, no, r0, r1) = (k as usize, n_other as usize, row0 as usize, row1 as usize);
            if r1 <= r0 {
                return Ok(-1);
            }
            need("yty", yty.len(), k * k)?;
            need("y", y.len(), no * k)?;
            need("ptr", ptr.len(), r1 + 1)?;
            need("x", x.len(), r1 * k)?;
            let sl = kernels::als::scratch_len(k);
            need("scratch", scratch.len(), sl)?;
            let (q0, q1) = (ptr[r0], ptr[r1]);
            if q0 < 0 || q1 < q0 || q1 as usize > idx.len().min(val.len()) {
                return Err(KernelError::out_of_range("ptr", i64::from(q1), i64::from(q0.max(0)), idx.len().min(val.len()) as i64, Some(r1)));
            }
            for u in r0..r1 {
                if ptr[u + 1] < ptr[u] {
                    return Err(KernelError::out_of_range("ptr", i64::from(ptr[u + 1]), i64::from(ptr[u]), i64::from(q1), Some(u)));
                }
                for &i in &idx[ptr[u] as usize..ptr[u + 1] as usize] {
                    if i < 0 || i as usize >= no {
                        return Err(KernelError::out_of_range("idx", i64::from(i), 0, no as i64 - 1, Some(u)));
                    }
                }
            }
            let inputs = [
                span("yty", &yty, k * k),
                span("y", &y, no * k),
                span("ptr", &ptr, r1 + 1),
                span("idx", &idx, q1 as usize),
                span("val", &val, q1 as usize),
            ];
            let (mut x, mut scratch) = (x, scratch);
            disjoint(&[span("x", &x, r1 * k), span("scratch", &scratch, sl)], &inputs)?;
            let args = kernels::als::AlsArgs {
                yty: &yty[..k * k],
                y: &y[..no * k],
                k,
                ptr: &ptr,
                idx: &idx,
                val: &val,
                row0: r0,
                row1: r1,
                x: unsafe { &mut x.as_mut()[..r1 * k] },
                alpha,
                reg,
                reg_mode,
                solver,
                cg_steps: cg_steps as usize,
                scratch: unsafe { &mut scratch.as_mut()[..sl] },
            };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            Ok(unsafe { (t.als_solve)(args) })
        })
    }

    /// `tile_gemm` on f32 operands, for the f32 EASE solve: products and sums in f32, alpha rounded to f32;
    /// the same layout, bounds checks and aliasing contract.
    #[napi(catch_unwind)]
    pub fn tile_gemm_f32(
        &self,
        c: Float32ArraySlice,
        c_off: u32,
        c_rs: u32,
        c_cs: u32,
        a: Float32ArraySlice,
        a_off: u32,
        a_rs: u32,
        a_cs: u32,
        b: Float32ArraySlice,
        b_off: u32,
        b_rs: u32,
        b_cs: u32,
        m: u32,
        n: u32,
        k: u32,
        alpha: f64,
        accumulate: bool,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (m, n, k) = (m as usize, n as usize, k as usize);
            // The last element an operand addresses must be in bounds (strides are non-negative).
            let last = |off: u32, rs: u32, cs: u32, r: usize, cl: usize| {
                off as usize + r.saturating_sub(1) * rs as usize + cl.saturating_sub(1) * cs as usize + 1
            };
            if m > 0 && n > 0 {
                need("c", c.len(), last(c_off, c_rs, c_cs, m, n))?;
                if k > 0 {
                    need("a", a.len(), last(a_off, a_rs, a_cs, m, k))?;
                    need("b", b.len(), last(b_off, b_rs, b_cs, k, n))?;
                }
            } else {
                return Ok(());
            }
            let a_ptr = a.as_ptr();
            let b_ptr = b.as_ptr();
            let mut c = c;
            // SAFETY: raw pointers only (the three views may share a buffer); every addressed element is in
            // bounds (checked above) and C is disjoint from A and B (the caller's contract).
            let c_ptr = unsafe { c.as_mut().as_mut_ptr() };
            let g = TileGemm {
                c: unsafe { c_ptr.add(c_off as usize) },
                c_rs: c_rs as isize,
                c_cs: c_cs as isize,
                a: unsafe { a_ptr.add(a_off as usize) },
                a_rs: a_rs as isize,
                a_cs: a_cs as isize,
                b: unsafe { b_ptr.add(b_off as usize) },
                b_rs: b_rs as isize,
                b_cs: b_cs as isize,
                m,
                n,
                k,
                alpha: alpha as f32,
                accumulate,
            };
            unsafe { (t.tile_gemm_f32)(g) };
            Ok(())
        })
    }

    /// `topkTile` where query row i never takes the base rows whose global indices are listed in
    /// exclIdx[exclPtr[i]..exclPtr[i + 1]] (ascending; exclPtr has qRows + 1 entries and may start past 0).
    /// A row left with fewer than k candidates keeps -1 / -Infinity in its last slots.
    #[napi(catch_unwind)]
    pub fn topk_excl_tile(
        &self,
        q: Float32ArraySlice,
        q_rows: u32,
        x: Float32ArraySlice,
        x_rows: u32,
        cols: u32,
        k: u32,
        q_offset: i64,
        x_offset: i64,
        exclude_self: bool,
        excl_ptr: Int32ArraySlice,
        excl_idx: Int32ArraySlice,
        out_idx: Int32ArraySlice,
        out_scores: Float32ArraySlice,
        q_scale: Option<Float32ArraySlice>,
        x_scale: Option<Float32ArraySlice>,
    ) -> Result<()> {
        guard(|| {
            let t = self.table;
            let (qr, xr, d, k) = (q_rows as usize, x_rows as usize, cols as usize, k as usize);
            need("q", q.len(), qr * d)?;
            need("x", x.len(), xr * d)?;
            need("outIdx", out_idx.len(), qr * k)?;
            need("outScores", out_scores.len(), qr * k)?;
            let scales = topk_scales(&q_scale, qr, &x_scale, xr)?;
            let [qs_span, xs_span] = scale_spans(scales);
            need("exclPtr", excl_ptr.len(), qr + 1)?;
            let max_offset = i32::MAX as i64 - xr as i64;
            if x_offset < 0 || x_offset > max_offset {
                return Err(KernelError::out_of_range("xOffset", x_offset, 0, max_offset, None));
            }
            // The row pointers index exclIdx directly: each must lie in it and never decrease.
            let n_idx = excl_idx.len() as i64;
            let mut prev = 0_i64;
            for (i, &p) in excl_ptr[..qr + 1].iter().enumerate() {
                let p = p as i64;
                if p < prev || p > n_idx {
                    return Err(KernelError::out_of_range("exclPtr", p, prev, n_idx, Some(i)));
                }
                prev = p;
            }
            let (mut out_idx, mut out_scores) = (out_idx, out_scores);
            // The exclusion lists are inputs too: read as shared slices while the outputs are written.
            disjoint(
                &[span("outIdx", &out_idx, qr * k), span("outScores", &out_scores, qr * k)],
                &[
                    span("q", &q, qr * d),
                    span("x", &x, xr * d),
                    span("exclPtr", &excl_ptr, qr + 1),
                    span("exclIdx", &excl_idx, excl_idx.len()),
                    qs_span,
                    xs_span,
                ],
            )?;
            let tile = TopkArgs {
                q: &q[..qr * d],
                q_rows: qr,
                x: &x[..xr * d],
                x_rows: xr,
                cols: d,
                k,
                q_offset,
                x_offset,
                exclude_self,
                scales,
                out_idx: unsafe { &mut out_idx.as_mut()[..qr * k] },
                out_scores: unsafe { &mut out_scores.as_mut()[..qr * k] },
            };
            let args = kernels::topk_excl::TopkExclArgs { tile, excl_ptr: &excl_ptr[..qr + 1], excl_idx: &excl_idx };
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (t.topk_excl_tile)(args) };
            Ok(())
        })
    }

    /// The lower part of a self-similarity strip from its upper part: out[c·n + r] = out[r·n + c] for rows
    /// [row0, row1) and columns c ≥ row1 of the row-major n × n `out` (one array: the cells read and the
    /// cells written never meet).
    #[napi(catch_unwind)]
    pub fn mirror_strip(&self, out: Float32ArraySlice, n: u32, row0: u32, row1: u32) -> Result<()> {
        guard(|| {
            let (n, r0, r1) = (n as usize, row0 as usize, row1 as usize);
            need("out", out.len(), n * n)?;
            if r1 > n {
                return Err(KernelError::out_of_range("row1", r1 as i64, 0, n as i64, None));
            }
            if r0 > r1 {
                return Err(KernelError::out_of_range("row0", r0 as i64, 0, r1 as i64, None));
            }
            let mut out = out;
            // SAFETY: n × n values are there (checked); rows and columns in range (checked); the table's level
            // runs on this CPU.
            unsafe { (self.table.mirror_strip)(&mut out.as_mut()[..n * n], n, r0, r1) };
            Ok(())
        })
    }

    /// norms[i] = ‖x[i,:]‖₂ (sum of squares in f64, as `normalizeRows`), without writing the rows.
    #[napi(catch_unwind)]
    pub fn row_norms(&self, x: Float32ArraySlice, rows: u32, cols: u32, norms: Float32ArraySlice) -> Result<()> {
        guard(|| {
            let (rows, cols) = (rows as usize, cols as usize);
            need("x", x.len(), rows * cols)?;
            need("norms", norms.len(), rows)?;
            let mut norms = norms;
            disjoint(&[span("norms", &norms, rows)], &[span("x", &x, rows * cols)])?;
            // SAFETY: in bounds and non-overlapping (checked); the table's level runs on this CPU.
            unsafe { (self.table.row_norms)(&x[..rows * cols], rows, cols, &mut norms.as_mut()[..rows]) };
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // (napi's Error cannot be built in a test binary, which does not link against Node: `unwound` is the
    // part of `guard` that decides the code and facts.)
    #[test]
    fn a_panic_becomes_internal() {
        assert_eq!(unwound(|| Ok(7)), Ok(7));
        assert_eq!(unwound::<()>(|| Err(KernelError::not_positive_definite(2))), Err(KernelError::not_positive_definite(2)));
        let e = unwound::<()>(|| {
            let v: Vec<i32> = Vec::new();
            let i = v.len() + 3;
            assert!(v.get(i).is_some(), "index {i} is out of range");
            Ok(())
        })
        .unwrap_err();
        assert_eq!(e, KernelError::panic("index 3 is out of range".to_owned()));
        assert_eq!(e.code, "INTERNAL");
        let e = unwound::<()>(|| std::panic::panic_any(5_u8)).unwrap_err();
        assert_eq!(e.details_json(), "{\"panic\":\"a panic without a message\"}");
    }

    #[test]
    fn the_glue_refuses_overlapping_outputs_and_levels_the_cpu_lacks() {
        let mem = [0.0_f32; 8];
        let e = disjoint(&[span("out", &mem[2..], 4)], &[span("x", &mem, 4)]).unwrap_err();
        assert_eq!(e, KernelError::overlap("out", "x"));
        assert!(disjoint(&[span("out", &mem[4..], 4)], &[span("x", &mem, 4)]).is_ok());
        assert_eq!(Isa::from_name("sse2"), None);
        for isa in Isa::ALL {
            assert_eq!(simd::table(isa).is_some(), isa <= simd::detected());
        }
    }
}

// ------------------------------------------------------------------------------------------ engine memory

pub mod pages;

use napi::bindgen_prelude::Uint8ArraySlice;

/// Advises transparent huge pages (Linux MADV_HUGEPAGE) on the whole 2 MiB pages inside the bytes of
/// `bytes` (a Uint8Array over an ArrayBuffer or SharedArrayBuffer); true when the kernel accepted the
/// advice, false when the view holds no whole huge page, the kernel refused, or the system is not Linux.
/// Call it on a fresh buffer before writing to it: pages already faulted in are not changed.
#[napi(catch_unwind)]
pub fn advise_hugepages(bytes: Uint8ArraySlice) -> Result<bool> {
    guard(|| Ok(pages::advise_hugepages(bytes.as_ptr(), bytes.len())))
}

/// The index of the first NaN or ±Infinity of `src`, or -1, read on `threads` threads (the calling one
/// included): the check of a borrowed array (see `borrowBuffer`).
#[napi(catch_unwind)]
pub fn first_non_finite_f32(src: Float32ArraySlice, threads: u32) -> Result<f64> {
    guard(|| Ok(pages::first_non_finite(&src, threads as usize).map_or(-1.0, |i| i as f64)))
}

/// Copies `src` into `dst` (equal lengths) on `threads` threads (the calling one included) and, with `check`,
/// returns the index of the first NaN or ±Infinity of `src` (the copy stops there), else -1. `stream` uses
/// non-temporal stores (for copies larger than the last-level cache). `dst` must not overlap `src`.
#[napi(catch_unwind)]
pub fn copy_f32(src: Float32ArraySlice, dst: Float32ArraySlice, check: bool, threads: u32, stream: bool) -> Result<f64> {
    guard(|| {
        need("dst", dst.len(), src.len())?;
        let n = src.len();
        let mut dst = dst;
        disjoint(&[span("dst", &dst, n)], &[span("src", &src, n)])?;
        // SAFETY: dst overlaps src nowhere (checked); nothing else writes it during the call (the caller's contract).
        let out = unsafe { &mut dst.as_mut()[..n] };
        let found = pages::copy_checked(&src, out, check, threads as usize, stream);
        Ok(found.map_or(-1.0, |i| i as f64))
    })
}

// ------------------------------------------------------------------------------------ borrowed arrays

use napi::bindgen_prelude::Unknown;

/// The address of the first byte of `bytes`'s view (an ordinary, non-shared ArrayBuffer's memory, which V8
/// never moves once a view of it has reached native code). With `borrow_buffer` on a worker thread, this lets
/// the pool read a caller's plain array in place for the length of one call: see `borrowed regions` in
/// src/backends/native.ts, which owns the lifetime rule (the calling thread holds the array until every task
/// that reads it has ended).
#[napi(catch_unwind)]
pub fn address_of(bytes: Uint8ArraySlice) -> Result<f64> {
    // User-space addresses on the 64-bit targets napi runs on fit in 48 bits, so an f64 holds them exactly.
    guard(|| Ok(bytes.as_ptr() as usize as f64))
}

/// An ArrayBuffer over `len` bytes at `address` in this process, memory that another thread's ArrayBuffer owns:
/// nothing is copied, and nothing is freed when this one is collected (no finalizer). napi's safe wrapper is not
/// used because it frees the memory in its finalizer. The caller keeps the owner alive while this is read.
#[napi(catch_unwind, ts_return_type = "ArrayBuffer")]
pub fn borrow_buffer(env: napi::Env, address: f64, len: f64) -> Result<Unknown<'static>> {
    let bad = |what: &str| Error::new("INVALID_ARGUMENT", format!("{{\"borrow\":\"{what}\"}}"));
    if !(address.is_finite() && address >= 1.0 && address.fract() == 0.0 && address < 9.007_199_254_740_992e15) {
        return Err(bad("address"));
    }
    if !(len.is_finite() && len >= 1.0 && len.fract() == 0.0 && len < 9.007_199_254_740_992e15) {
        return Err(bad("length"));
    }
    let mut value = std::ptr::null_mut();
    // SAFETY: the pointer and length name live memory of this process (the caller's contract above); with no
    // finalizer V8 never frees it, and V8 does not otherwise touch an external buffer's memory unless read.
    let status = unsafe {
        napi::sys::napi_create_external_arraybuffer(
            env.raw(),
            address as usize as *mut std::ffi::c_void,
            len as usize,
            None,
            std::ptr::null_mut(),
            &mut value,
        )
    };
    if status != napi::sys::Status::napi_ok {
        return Err(Error::new("INTERNAL", format!("{{\"borrow\":\"napi status {status}\"}}")));
    }
    // SAFETY: `value` is the ArrayBuffer napi just made in this env.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), value) })
}
