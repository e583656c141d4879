//! Weighted, optionally centred Gram accumulation over a block of rows, all in f64:
//! g[a,b] += Σ_i w_i (x_ia − c_a)(x_ib − c_b) for b ≥ a (the lower triangle is never written) and
//! xty[a] += Σ_i v_i (x_ia − c_a). SIMD levels widen a block of rows into f64 scratch (centred; the
//! weight applied to one copy) and hand the triangle to faer's f64 GEMM. No tails: any shape.

use faer::linalg::matmul::triangular::{matmul as triangular_matmul, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};

use super::scratch;

/// Rows per GEMM block: the depth of one faer call (its microkernels work through 512 at a time).
const ROW_BLOCK: usize = 512;

pub struct GramArgs<'a> {
    pub x: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub w: Option<&'a [f64]>,
    pub center: Option<&'a [f64]>,
    pub v: Option<&'a [f64]>,
    pub g: &'a mut [f64],
    pub xty: Option<&'a mut [f64]>,
}

/// Scalar twin: the reference's order, one row at a time into the upper triangle.
pub fn gram_f64_scalar(a: GramArgs<'_>) {
    let GramArgs { x, rows, cols, w, center, v, g, mut xty } = a;
    for i in 0..rows {
        let xr = &x[i * cols..(i + 1) * cols];
        let c = |d: usize| xr[d] as f64 - center.map_or(0.0, |c| c[d]);
        let wi = w.map_or(1.0, |w| w[i]);
        for p in 0..cols {
            let wa = wi * c(p);
            let gr = &mut g[p * cols..(p + 1) * cols];
            for (q, gv) in gr.iter_mut().enumerate().skip(p) {
                *gv += wa * c(q);
            }
        }
        if let (Some(v), Some(xty)) = (v, xty.as_deref_mut()) {
            for (p, t) in xty[..cols].iter_mut().enumerate() {
                *t += v[i] * c(p);
            }
        }
    }
}

#[inline(always)]
fn body(a: GramArgs<'_>) {
    let GramArgs { x, rows, cols, w, center, v, g, xty } = a;
    if rows == 0 || cols == 0 {
        return;
    }
    let rb_max = rows.min(ROW_BLOCK);
    // Scratch: centred block A, weighted block B = diag(w)·A (only with weights), the Xᵀv partial.
    let b_len = if w.is_some() { rb_max * cols } else { 0 };
    scratch::with(&scratch::GRAM_F64, rb_max * cols + b_len + cols, |s| {
        let (a_buf, rest) = s.split_at_mut(rb_max * cols);
        let (b_buf, xv) = rest.split_at_mut(b_len);
        xv.fill(0.0);
        for r0 in (0..rows).step_by(ROW_BLOCK) {
            let rb = (rows - r0).min(ROW_BLOCK);
            let ab = &mut a_buf[..rb * cols];
            for i in 0..rb {
                let xr = &x[(r0 + i) * cols..(r0 + i + 1) * cols];
                let ar = &mut ab[i * cols..(i + 1) * cols];
                match center {
                    Some(c) => {
                        for ((o, &xv), &cv) in ar.iter_mut().zip(xr).zip(&c[..cols]) {
                            *o = xv as f64 - cv;
                        }
                    }
                    None => {
                        for (o, &xv) in ar.iter_mut().zip(xr) {
                            *o = xv as f64;
                        }
                    }
                }
                if let Some(v) = v {
                    let vi = v[r0 + i];
                    for (t, &av) in xv.iter_mut().zip(ar.iter()) {
                        *t += vi * av;
                    }
                }
            }
            let ab: &[f64] = ab;
            let lhs_rows: &[f64] = match w {
                Some(w) => {
                    let bb = &mut b_buf[..rb * cols];
                    for i in 0..rb {
                        let wi = w[r0 + i];
                        for (o, &av) in bb[i * cols..(i + 1) * cols].iter_mut().zip(&ab[i * cols..(i + 1) * cols]) {
                            *o = wi * av;
                        }
                    }
                    bb
                }
                None => ab,
            };
            // Row-major g's upper triangle is the lower triangle of g read column-major, so faer gets
            // a column-major destination (its row-major GEMM path is unreliable, see `similarity`):
            // g_cm[b,a] += Σ_i B[i,b]·A[i,a] for b ≥ a.
            let dst = MatMut::from_column_major_slice_mut(&mut g[..cols * cols], cols, cols);
            let lhs = MatRef::from_row_major_slice(lhs_rows, rb, cols).transpose();
            let rhs = MatRef::from_row_major_slice(ab, rb, cols);
            triangular_matmul(
                dst,
                BlockStructure::TriangularLower,
                Accum::Add,
                lhs,
                BlockStructure::Rectangular,
                rhs,
                BlockStructure::Rectangular,
                1.0f64,
                Par::Seq,
            );
        }
        if let (Some(_), Some(xty)) = (v, xty) {
            for (t, &p) in xty[..cols].iter_mut().zip(xv.iter()) {
                *t += p;
            }
        }
    })
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn gram_f64_avx2(a: GramArgs<'_>) {
    body(a)
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn gram_f64_avx512(a: GramArgs<'_>) {
    body(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faer_triangle_matches_the_scalar_twin_and_leaves_the_lower_triangle() {
        for &cols in &[1usize, 2, 3, 7, 16, 17, 33, 64, 65] {
            for &rows in &[1usize, 5, 511, 512, 513, 1500] {
                let x: Vec<f32> = (0..rows * cols).map(|i| ((i * 37) % 19) as f32 * 0.25 - 2.0).collect();
                let w: Vec<f64> = (0..rows).map(|i| 0.5 + (i % 3) as f64).collect();
                let v: Vec<f64> = (0..rows).map(|i| (i % 5) as f64 - 2.0).collect();
                let c: Vec<f64> = (0..cols).map(|i| i as f64 * 0.1).collect();
                for (ww, cc) in [(None, None), (Some(&w[..]), None), (Some(&w[..]), Some(&c[..]))] {
                    let mut g1 = vec![0.5f64; cols * cols];
                    let mut g2 = g1.clone();
                    let mut t1 = vec![0.25f64; cols];
                    let mut t2 = t1.clone();
                    gram_f64_scalar(GramArgs { x: &x, rows, cols, w: ww, center: cc, v: Some(&v), g: &mut g1, xty: Some(&mut t1) });
                    unsafe { gram_f64_avx2(GramArgs { x: &x, rows, cols, w: ww, center: cc, v: Some(&v), g: &mut g2, xty: Some(&mut t2) }) };
                    for p in 0..cols {
                        for q in 0..cols {
                            let (a, b) = (g1[p * cols + q], g2[p * cols + q]);
                            if q < p {
                                assert_eq!(b, 0.5, "lower triangle written at ({p},{q}) cols={cols}");
                            } else {
                                assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "g[{p},{q}] {a} vs {b} cols={cols} rows={rows}");
                            }
                        }
                        assert!((t1[p] - t2[p]).abs() <= 1e-9 * t1[p].abs().max(1.0));
                    }
                }
            }
        }
    }
}
