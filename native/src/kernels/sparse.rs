//! Sparse co-occurrence kernels over CSR rows: similarity with a running top-k (item-item, user-user) and
//! scoring with a top-n per row (recommendation). Products and sums in f64 in CSR order, rounded to f32 only
//! when a score is stored, so results are bit-identical to the f64 js reference. There are no SIMD twins:
//! the work is a scatter into an accumulator at data-dependent columns, which does not vectorise, so one
//! scalar implementation (`*_f64_scalar`) serves every instruction-set level. The i32 `mark` scratch is used
//! as one byte per column, so the marks of a 50,000-column row stay in L1 beside the f64 accumulator.

use crate::error::KernelError;

pub struct SparseSimilarityArgs<'a> {
    pub a_ptr: &'a [i32],
    pub a_idx: &'a [i32],
    pub a_val: &'a [f32],
    pub b_ptr: &'a [i32],
    pub b_idx: &'a [i32],
    pub b_val: &'a [f32],
    pub row0: usize,
    pub row1: usize,
    pub n_cols: usize,
    pub row_norms: Option<&'a [f32]>,
    pub col_norms: Option<&'a [f32]>,
    pub shrink: f64,
    pub k: usize,
    pub exclude_self: bool,
    pub acc: &'a mut [f64],
    pub mark: &'a mut [i32],
    pub list: &'a mut [i32],
    pub out_idx: &'a mut [i32],
    pub out_scores: &'a mut [f32],
}

pub struct SparseScoreArgs<'a> {
    pub a_ptr: &'a [i32],
    pub a_idx: &'a [i32],
    pub a_val: &'a [f32],
    pub m_ptr: &'a [i32],
    pub m_idx: &'a [i32],
    pub m_val: &'a [f32],
    pub seen: Option<(&'a [i32], &'a [i32])>,
    pub allow: Option<&'a [i32]>,
    pub normalize: u32,
    pub row0: usize,
    pub row1: usize,
    pub n_cols: usize,
    pub n: usize,
    pub acc: &'a mut [f64],
    pub den: Option<&'a mut [f64]>,
    pub mark: &'a mut [i32],
    pub list: &'a mut [i32],
    pub out_idx: &'a mut [i32],
    pub out_scores: &'a mut [f32],
}

/// A column index `j` found in `row` of `argument`, outside [0, bound).
#[cold]
fn bad_index(argument: &str, j: i32, bound: usize, row: usize) -> KernelError {
    KernelError::out_of_range(argument, j as i64, 0, bound as i64 - 1, Some(row))
}

/// Entries [start, end) of CSR row `r`, checked against the index array (`ptr` names the row pointers).
#[inline(always)]
fn row_range(ptr: &[i32], r: usize, len: usize, what: &str) -> Result<(usize, usize), KernelError> {
    if r + 1 >= ptr.len() {
        return Err(KernelError::shape(what, ptr.len(), r + 2));
    }
    let (s, e) = (ptr[r], ptr[r + 1]);
    if s < 0 || s as usize > len {
        return Err(KernelError::out_of_range(what, s as i64, 0, len as i64, Some(r)));
    }
    if e < s || e as usize > len {
        return Err(KernelError::out_of_range(what, e as i64, s as i64, len as i64, Some(r)));
    }
    Ok((s as usize, e as usize))
}

/// Is (s, j) better than (t, i)? Higher score first, then lower index (empty slots hold -inf, -1).
#[inline(always)]
fn better(s: f32, j: i32, t: f32, i: i32) -> bool {
    s > t || (s == t && j < i)
}

/// Merges (s, j) into the sorted k-slot list (best first).
#[inline(always)]
fn insert_topk(idx: &mut [i32], sc: &mut [f32], s: f32, j: i32) {
    let k = idx.len();
    if k == 0 || !better(s, j, sc[k - 1], idx[k - 1]) {
        return;
    }
    let mut p = k - 1;
    while p > 0 && better(s, j, sc[p - 1], idx[p - 1]) {
        sc[p] = sc[p - 1];
        idx[p] = idx[p - 1];
        p -= 1;
    }
    sc[p] = s;
    idx[p] = j;
}

/// `length` ≥ `needed` for each named array.
fn check_lengths(arrays: &[(&str, usize)], needed: usize) -> Result<(), KernelError> {
    match arrays.iter().find(|(_, len)| *len < needed) {
        Some((name, len)) => Err(KernelError::shape(name, *len, needed)),
        None => Ok(()),
    }
}

/// See `sparseSimilarityTopk` in src/backends/types.ts.
pub fn sparse_similarity_topk_f64_scalar(a: SparseSimilarityArgs) -> Result<(), KernelError> {
    let n_cols = a.n_cols;
    check_lengths(&[("acc", a.acc.len()), ("mark", a.mark.len()), ("list", a.list.len())], n_cols)?;
    let rows = a.row1.saturating_sub(a.row0);
    check_lengths(&[("outIdx", a.out_idx.len()), ("outScores", a.out_scores.len())], rows * a.k)?;
    if let Some(n) = a.row_norms {
        check_lengths(&[("rowNorms", n.len())], a.row1)?;
    }
    if let Some(n) = a.col_norms {
        check_lengths(&[("colNorms", n.len())], n_cols)?;
    }
    let a_len = a.a_idx.len().min(a.a_val.len());
    let b_len = a.b_idx.len().min(a.b_val.len());
    let b_rows = a.b_ptr.len().saturating_sub(1);
    // SAFETY: the i32 scratch holds at least n_cols bytes; used as one byte per column (fits L1 longer).
    let mark8: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(a.mark.as_mut_ptr() as *mut u8, n_cols) };
    for r in a.row0..a.row1 {
        let (p0, p1) = row_range(a.a_ptr, r, a_len, "aPtr")?;
        let mut touched = 0usize;
        for p in p0..p1 {
            let av = a.a_val[p] as f64;
            let src = a.a_idx[p];
            if src < 0 || src as usize >= b_rows {
                return Err(bad_index("aIdx", src, b_rows, r));
            }
            let (q0, q1) = row_range(a.b_ptr, src as usize, b_len, "bPtr")?;
            for (&j, &bv) in a.b_idx[q0..q1].iter().zip(&a.b_val[q0..q1]) {
                let ju = j as usize;
                if j < 0 || ju >= n_cols {
                    return Err(bad_index("bIdx", j, n_cols, src as usize));
                }
                // SAFETY: ju < n_cols ≤ scratch lengths (checked above); touched < n_cols because each
                // column is listed once (mark).
                unsafe {
                    if *mark8.get_unchecked(ju) == 0 {
                        *mark8.get_unchecked_mut(ju) = 1;
                        *a.list.get_unchecked_mut(touched) = j;
                        touched += 1;
                    }
                    *a.acc.get_unchecked_mut(ju) += av * bv as f64;
                }
            }
        }
        let o = (r - a.row0) * a.k;
        let (oi, os) = (&mut a.out_idx[o..o + a.k], &mut a.out_scores[o..o + a.k]);
        let rn = a.row_norms.map_or(1.0, |n| n[r] as f64);
        for t in 0..touched {
            let j = a.list[t];
            let ju = j as usize;
            let dot = a.acc[ju];
            a.acc[ju] = 0.0;
            mark8[ju] = 0;
            if a.exclude_self && ju == r {
                continue;
            }
            let den = rn * a.col_norms.map_or(1.0, |n| n[ju] as f64) + a.shrink;
            let s = if den != 0.0 { (dot / den) as f32 } else { 0.0 };
            insert_topk(oi, os, s, j);
        }
    }
    Ok(())
}

const SEEN: u8 = 2;

/// See `sparseScoreTopn` in src/backends/types.ts.
pub fn sparse_score_topn_f64_scalar(mut a: SparseScoreArgs) -> Result<(), KernelError> {
    let n_cols = a.n_cols;
    check_lengths(&[("acc", a.acc.len()), ("mark", a.mark.len()), ("list", a.list.len())], n_cols)?;
    if a.normalize > 2 {
        return Err(KernelError::out_of_range("normalize", a.normalize as i64, 0, 2, None));
    }
    if a.normalize != 0 {
        check_lengths(&[("den", a.den.as_ref().map_or(0, |d| d.len()))], n_cols)?;
    }
    if let Some(m) = a.allow {
        check_lengths(&[("allow", m.len())], n_cols)?;
    }
    let rows = a.row1.saturating_sub(a.row0);
    check_lengths(&[("outIdx", a.out_idx.len()), ("outScores", a.out_scores.len())], rows * a.n)?;
    let a_len = a.a_idx.len().min(a.a_val.len());
    let m_len = a.m_idx.len().min(a.m_val.len());
    let m_rows = a.m_ptr.len().saturating_sub(1);
    let mut den = a.den.take();
    // SAFETY: the i32 scratch holds at least n_cols bytes; used as one byte per column (fits L1 longer).
    let mark8: &mut [u8] = unsafe { std::slice::from_raw_parts_mut(a.mark.as_mut_ptr() as *mut u8, n_cols) };
    for r in a.row0..a.row1 {
        let seen = match a.seen {
            Some((sp, si)) => {
                let (s0, s1) = row_range(sp, r, si.len(), "seenPtr")?;
                &si[s0..s1]
            }
            None => &[][..],
        };
        for &j in seen {
            if j < 0 || j as usize >= n_cols {
                return Err(bad_index("seenIdx", j, n_cols, r));
            }
            mark8[j as usize] = SEEN;
        }
        let (p0, p1) = row_range(a.a_ptr, r, a_len, "aPtr")?;
        let mut touched = 0usize;
        for p in p0..p1 {
            let av = a.a_val[p] as f64;
            let src = a.a_idx[p];
            if src < 0 || src as usize >= m_rows {
                return Err(bad_index("aIdx", src, m_rows, r));
            }
            let (q0, q1) = row_range(a.m_ptr, src as usize, m_len, "mPtr")?;
            for (&j, &mv) in a.m_idx[q0..q1].iter().zip(&a.m_val[q0..q1]) {
                let ju = j as usize;
                if j < 0 || ju >= n_cols {
                    return Err(bad_index("mIdx", j, n_cols, src as usize));
                }
                // SAFETY: ju < n_cols ≤ scratch lengths (checked above); each column is listed once.
                unsafe {
                    let m = *mark8.get_unchecked(ju);
                    if m == SEEN {
                        continue;
                    }
                    if m == 0 {
                        *mark8.get_unchecked_mut(ju) = 1;
                        *a.list.get_unchecked_mut(touched) = j;
                        touched += 1;
                    }
                    let v = mv as f64;
                    *a.acc.get_unchecked_mut(ju) += av * v;
                    match (a.normalize, den.as_deref_mut()) {
                        (1, Some(d)) => *d.get_unchecked_mut(ju) += av.abs(),
                        (2, Some(d)) => *d.get_unchecked_mut(ju) += v.abs(),
                        _ => {}
                    }
                }
            }
        }
        let o = (r - a.row0) * a.n;
        let (oi, os) = (&mut a.out_idx[o..o + a.n], &mut a.out_scores[o..o + a.n]);
        for t in 0..touched {
            let j = a.list[t];
            let ju = j as usize;
            let sum = a.acc[ju];
            a.acc[ju] = 0.0;
            mark8[ju] = 0;
            let mut score = sum;
            if a.normalize != 0 {
                if let Some(d) = den.as_deref_mut() {
                    let dv = d[ju];
                    d[ju] = 0.0;
                    score = if dv != 0.0 { sum / dv } else { 0.0 };
                }
            }
            if a.allow.is_some_and(|m| m[ju] == 0) {
                continue;
            }
            insert_topk(oi, os, score as f32, j);
        }
        for &j in seen {
            mark8[j as usize] = 0;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_of_two_items_sharing_one_user() {
        // X (users × items) = [[1, 1, 0], [0, 1, 1]]; items as rows: Xᵀ.
        let (xp, xi, xv) = ([0, 2, 4], [0, 1, 1, 2], [1.0f32, 1.0, 1.0, 1.0]);
        let (tp, ti, tv) = ([0, 1, 3, 4], [0, 0, 1, 1], [1.0f32, 1.0, 1.0, 1.0]);
        let (mut acc, mut mark, mut list) = (vec![0.0; 3], vec![0; 3], vec![0; 3]);
        let (mut oi, mut os) = (vec![-1; 6], vec![f32::NEG_INFINITY; 6]);
        sparse_similarity_topk_f64_scalar(SparseSimilarityArgs {
            a_ptr: &tp, a_idx: &ti, a_val: &tv, b_ptr: &xp, b_idx: &xi, b_val: &xv,
            row0: 0, row1: 3, n_cols: 3, row_norms: None, col_norms: None, shrink: 0.0, k: 2, exclude_self: true,
            acc: &mut acc, mark: &mut mark, list: &mut list, out_idx: &mut oi, out_scores: &mut os,
        })
        .unwrap();
        // Oracle: co-occurrence counts XᵀX without the diagonal: item 1 meets 0 and 2 once each.
        assert_eq!(oi, vec![1, -1, 0, 2, 1, -1]);
        assert_eq!(os[..1], [1.0]);
        assert!(acc.iter().all(|&v| v == 0.0) && mark.iter().all(|&v| v == 0));
    }
}
