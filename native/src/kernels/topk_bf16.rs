//! Exact cosine top-k screened in bf16 (AVX512_BF16, e.g. AMD Zen 4). The f32 kernel (topk.rs) spends its time
//! in the f32 GEMM; `vdpbf16ps` does twice the multiply-adds per instruction. So every score is first computed
//! from bf16 copies of the rows, a bound δ on its distance from the f32 kernel's score is known in advance, and
//! only the base rows whose screened score comes within 2δ of a query's k-th best screened score are scored
//! again with the f32 kernel's own arithmetic (`chain_replica`: the same FMA chain, so the same bits) and go
//! into the state. The result equals the f32 kernel's (indices, scores, ties), as the tests check.
//!
//! Why 2δ is enough: let T be a query's k-th best screened score and s the f32 scores. The k rows behind T have
//! s ≥ T − δ, so the k-th best f32 score is ≥ T − δ; a row of the f32 top-k has s ≥ that, so its screened score
//! is ≥ s − δ ≥ T − 2δ. Entries already in the state (earlier base blocks) carry exact scores and count in T
//! with δ = 0. Only cosine (scaled) calls are screened: their scores are bounded by 1, so δ is one number.
//!
//! Written by hand because no library offers a bf16 GEMM fused with this selection.

use std::arch::x86_64::*;

use super::similarity::chain_replica;
use super::topk::{body, make_heap, offer, sift_down, sort_best_first, worse, Avx512, SelfSkip, TopkArgs};

/// Query rows per register tile: two zmm of 16 lanes.
const QT: usize = 32;
/// Base rows per register tile: 8 × 2 accumulators.
const XT: usize = 8;
/// Base rows converted to bf16 at a time (256 rows × 128 columns × 2 bytes stay in L2).
const XB: usize = 256;
/// Queries screened together (see `topk_screened`).
const QUERY_CHUNK: usize = 2048;
/// Fewer base rows than this: the conversions and the second scoring cost more than they save.
const MIN_BASE_ROWS: usize = 2048;

/// Whether a call of this shape is worth screening: a large base, a k the candidate lists can hold, d ≥ 16.
pub fn worth(x_rows: usize, k: usize, cols: usize) -> bool {
    x_rows >= MIN_BASE_ROWS && k <= 256 && cols >= 16
}
/// A query that keeps more candidates than this plus 4k (near-ties in bulk: duplicated rows, a constant base,
/// a tight cluster) leaves the screen and is scored by the f32 kernel alone, like the other rows' survivors.
const MAX_CANDIDATES: usize = 256;

/// Can this CPU screen (checked once per process)?
pub fn available() -> bool {
    static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *HAS.get_or_init(|| is_x86_feature_detected!("avx512bf16") && is_x86_feature_detected!("avx512bw"))
}

/// δ for scores in [-1, 1]: the screened and the f32 score of one pair differ by at most this.
/// - bf16 keeps 8 significant bits (unit roundoff 2⁻⁸, round to nearest even), so a product of two rounded
///   inputs is off by ≤ (2·2⁻⁸ + 2⁻¹⁶)|ab|; vdpbf16ps then accumulates in f32: ≤ γ(d + 2) of Σ|ab| more.
/// - The f32 kernel's FMA chain is off by ≤ γ(d + d/512 + 2) of Σ|ab| (blocks of 512 added at the end).
/// - Σ|ab| ≤ ‖q‖‖x‖, and both scores are scaled by the same two f32 inverse norms, within (1 + 16u) of
///   1/(‖q‖‖x‖); the scaling rounds each score twice more (2u of |s| ≤ 1 + 8u, for each of the two).
/// - vdpbf16ps flushes denormal inputs and results: ≤ (d + 1)·2⁻¹²⁶ before scaling, below 2⁻³⁰ after it for
///   norms in [2⁻⁴⁰, 2⁴⁰] (the only ones the engine scales).
///
/// The 1.001 and the 2⁻³⁰ only round the bound up.
pub fn delta(cols: usize) -> f32 {
    let u = 2f64.powi(-24);
    let gamma = |n: f64| n * u / (1.0 - n * u);
    let d = cols as f64;
    let unscaled = 2.0 * 2f64.powi(-8) + 2f64.powi(-16) + gamma(d + 2.0) + gamma(d + (d / 512.0).ceil() + 2.0);
    let bound = unscaled * (1.0 + 16.0 * u) * 1.001 + 2.0 * 2.0 * u * (1.0 + 8.0 * u) + 2f64.powi(-30);
    bound as f32
}

/// bf16 of an f32, rounded to nearest even (finite inputs only), as vcvtne2ps2bf16 rounds.
#[inline(always)]
fn bf16(v: f32) -> u16 {
    let b = v.to_bits();
    ((b + 0x7fff + ((b >> 16) & 1)) >> 16) as u16
}

/// The screen's lower limit for a query whose k-th best screened score is `t`: t − 2δ, rounded down.
#[inline(always)]
fn limit(t: f32, two_delta: f32) -> f32 {
    if t == f32::NEG_INFINITY {
        return t;
    }
    ((t as f64) - (two_delta as f64)) as f32
}

/// Screens, then scores the survivors exactly into the state; a query with too many candidates is scored by
/// the f32 kernel alone. Returns false, having written nothing, when the call cannot be screened (no scales).
///
/// # Safety
/// The CPU must support AVX-512 F/BW and AVX512_BF16 (`available()`), and `a.scales` must be set.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")]
pub unsafe fn topk_screened(a: &mut TopkArgs<'_>) -> bool {
    let Some((qs, xs)) = a.scales else { return false };
    let (q_rows, d, k) = (a.q_rows, a.cols, a.k);
    if k == 0 || q_rows == 0 || a.x_rows == 0 {
        return false;
    }
    // Queries in chunks: the screen's per-query state (bf16 copy, heaps, candidates) stays a few MB however
    // many rows a task has; each chunk converts the base again, 1/QUERY_CHUNK of its multiply-adds.
    for c0 in (0..q_rows).step_by(QUERY_CHUNK) {
        let n = (q_rows - c0).min(QUERY_CHUNK);
        let mut part = TopkArgs {
            q: &a.q[c0 * d..(c0 + n) * d],
            q_rows: n,
            x: a.x,
            x_rows: a.x_rows,
            cols: d,
            k,
            q_offset: a.q_offset + c0 as i64,
            x_offset: a.x_offset,
            exclude_self: a.exclude_self,
            scales: Some((&qs[c0..c0 + n], xs)),
            out_idx: &mut a.out_idx[c0 * k..(c0 + n) * k],
            out_scores: &mut a.out_scores[c0 * k..(c0 + n) * k],
        };
        screen_chunk(&mut part);
    }
    true
}

#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")]
unsafe fn screen_chunk(a: &mut TopkArgs<'_>) {
    let Some((qs, xs)) = a.scales else { return };
    let (q_rows, x_rows, d, k) = (a.q_rows, a.x_rows, a.cols, a.k);
    let skip = SelfSkip { on: a.exclude_self, q_offset: a.q_offset };
    let two_delta = 2.0 * delta(d);
    // Columns padded to whole zmm of bf16 (32): pairs per row.
    let dpad = d.div_ceil(32) * 32;
    let pairs = dpad / 2;
    let qpad = q_rows.div_ceil(QT) * QT;

    // Queries as bf16 pairs, transposed: qp[p·qpad + i] holds (q[i][2p], q[i][2p + 1]); padding rows are 0.
    let mut qp = vec![0u32; pairs * qpad];
    for i in 0..q_rows {
        let row = &a.q[i * d..(i + 1) * d];
        for p in 0..pairs {
            let lo = row.get(2 * p).map_or(0, |&v| bf16(v)) as u32;
            let hi = row.get(2 * p + 1).map_or(0, |&v| bf16(v)) as u32;
            qp[p * qpad + i] = lo | (hi << 16);
        }
    }
    let mut qscale = vec![0f32; qpad];
    qscale[..q_rows].copy_from_slice(&qs[..q_rows]);

    // The screened top-k of each query (a min-heap, as the state): starts as a copy of the state, whose
    // entries are exact. Padding rows' limits are +∞, so they never flag.
    let mut hs = a.out_scores[..q_rows * k].to_vec();
    let mut hx = a.out_idx[..q_rows * k].to_vec();
    let mut lim = vec![f32::INFINITY; qpad];
    for i in 0..q_rows {
        make_heap(&mut hs[i * k..(i + 1) * k], &mut hx[i * k..(i + 1) * k]);
        lim[i] = limit(hs[i * k], two_delta);
    }
    let mut cands: Vec<Vec<(u32, f32)>> = vec![Vec::new(); q_rows];
    let cap = MAX_CANDIDATES + 4 * k;
    // Queries that left the screen (their limit is then +∞, so they never flag again).
    let mut left = vec![false; q_rows];

    // One base block in bf16, row-major with padded rows: xb[j·dpad ..]; rows past the block's end are 0.
    let xb_rows = XB.min(x_rows).div_ceil(XT) * XT;
    let mut xb = vec![0u16; xb_rows * dpad];
    for x0 in (0..x_rows).step_by(XB) {
        let n = (x_rows - x0).min(XB);
        convert_rows(&a.x[x0 * d..(x0 + n) * d], n, d, dpad, &mut xb);
        let n_pad = n.div_ceil(XT) * XT;
        xb[n * dpad..n_pad * dpad].fill(0);
        for j0 in (0..n).step_by(XT) {
            for t0 in (0..qpad).step_by(QT) {
                let qsv = [_mm512_loadu_ps(qscale.as_ptr().add(t0)), _mm512_loadu_ps(qscale.as_ptr().add(t0 + 16))];
                let acc = tile(&qp, qpad, t0, &xb[j0 * dpad..(j0 + XT) * dpad], dpad, pairs);
                for (r, pair) in acc.iter().enumerate() {
                    let j = j0 + r;
                    if j >= n {
                        break;
                    }
                    let g = a.x_offset + (x0 + j) as i64;
                    let xsv = _mm512_set1_ps(xs[x0 + j]);
                    for h in 0..2 {
                        let s = _mm512_mul_ps(_mm512_mul_ps(pair[h], qsv[h]), xsv);
                        let lv = _mm512_loadu_ps(lim.as_ptr().add(t0 + 16 * h));
                        let mut mask = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(s, lv) as u32;
                        if mask == 0 {
                            continue;
                        }
                        let mut lanes = [0f32; 16];
                        _mm512_storeu_ps(lanes.as_mut_ptr(), s);
                        while mask != 0 {
                            let l = mask.trailing_zeros() as usize;
                            mask &= mask - 1;
                            let i = t0 + 16 * h + l;
                            if skip.on && g == skip.q_offset + i as i64 {
                                continue;
                            }
                            let v = lanes[l];
                            let c = &mut cands[i];
                            if c.len() == cap {
                                left[i] = true;
                                lim[i] = f32::INFINITY;
                                *c = Vec::new();
                                continue;
                            }
                            c.push(((x0 + j) as u32, v));
                            let (sc, ix) = (&mut hs[i * k..(i + 1) * k], &mut hx[i * k..(i + 1) * k]);
                            if worse(sc[0], ix[0], v, g as i32) {
                                sc[0] = v;
                                ix[0] = g as i32;
                                sift_down(sc, ix, 0, k);
                                lim[i] = limit(sc[0], two_delta);
                            }
                        }
                    }
                }
            }
        }
    }

    // Survivors, scored as the f32 kernel scores them, into the state.
    let (out_scores, out_idx) = (&mut a.out_scores[..q_rows * k], &mut a.out_idx[..q_rows * k]);
    let mut none = SelfSkip { on: false, q_offset: 0 };
    let mut dot = [0f32; 1];
    for (i, c) in cands.iter().enumerate() {
        let floor = lim[i];
        let (sc, ix) = (&mut out_scores[i * k..(i + 1) * k], &mut out_idx[i * k..(i + 1) * k]);
        let qrow = &a.q[i * d..(i + 1) * d];
        if left[i] {
            let one = TopkArgs {
                q: qrow,
                q_rows: 1,
                x: a.x,
                x_rows,
                cols: d,
                k,
                q_offset: a.q_offset + i as i64,
                x_offset: a.x_offset,
                exclude_self: a.exclude_self,
                scales: Some((&qs[i..i + 1], xs)),
                out_idx: ix,
                out_scores: sc,
            };
            let mut own = SelfSkip { on: a.exclude_self, q_offset: a.q_offset + i as i64 };
            body::<Avx512, _>(one, &mut own);
            continue;
        }
        make_heap(sc, ix);
        for &(j, v) in c {
            if v < floor {
                continue;
            }
            let j = j as usize;
            chain_replica(qrow, 1, &a.x[j * d..(j + 1) * d], 1, d, &mut dot, 1);
            let s = (dot[0] * qs[i]) * xs[j];
            offer(sc, ix, s, a.x_offset + j as i64, i, &mut none);
        }
        sort_best_first(sc, ix);
    }
}

/// Rows of f32 into bf16 rows of `dpad` values (zero-padded), 32 at a time.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")]
unsafe fn convert_rows(x: &[f32], n: usize, d: usize, dpad: usize, out: &mut [u16]) {
    for j in 0..n {
        let src = x[j * d..(j + 1) * d].as_ptr();
        let dst = out[j * dpad..(j + 1) * dpad].as_mut_ptr();
        for c in (0..dpad).step_by(32) {
            // Masked loads read only the row's own columns; the rest convert from zeros.
            let m_lo = lanes_from(d, c);
            let m_hi = lanes_from(d, c + 16);
            let lo = _mm512_maskz_loadu_ps(m_lo, src.add(c.min(d)));
            let hi = _mm512_maskz_loadu_ps(m_hi, src.add((c + 16).min(d)));
            let packed: __m512i = std::mem::transmute(_mm512_cvtne2ps_pbh(hi, lo));
            _mm512_storeu_si512(dst.add(c) as *mut _, packed);
        }
    }
}

/// The mask of the lanes c .. c + 16 that lie below d.
#[inline(always)]
fn lanes_from(d: usize, c: usize) -> u16 {
    if c >= d {
        0
    } else if d - c >= 16 {
        0xffff
    } else {
        ((1u32 << (d - c)) - 1) as u16
    }
}

/// 32 queries (from t0) × 8 base rows: acc[r][h] holds the screened dots of base row r with queries
/// t0 + 16h .. t0 + 16h + 16.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx512bf16,avx2,fma")]
#[inline]
unsafe fn tile(qp: &[u32], qpad: usize, t0: usize, xb: &[u16], dpad: usize, pairs: usize) -> [[__m512; 2]; XT] {
    let mut acc = [[_mm512_setzero_ps(); 2]; XT];
    let q = qp.as_ptr().add(t0);
    let x = xb.as_ptr() as *const u32;
    let stride = dpad / 2;
    for p in 0..pairs {
        let q0: __m512bh = std::mem::transmute(_mm512_loadu_si512(q.add(p * qpad) as *const _));
        let q1: __m512bh = std::mem::transmute(_mm512_loadu_si512(q.add(p * qpad + 16) as *const _));
        for (r, a) in acc.iter_mut().enumerate() {
            let b: __m512bh = std::mem::transmute(_mm512_set1_epi32(x.add(r * stride + p).read_unaligned() as i32));
            a[0] = _mm512_dpbf16_ps(a[0], q0, b);
            a[1] = _mm512_dpbf16_ps(a[1], q1, b);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::testutil::rng;
    use crate::kernels::topk::topk_tile_f32_avx512;

    fn inverse_norms(m: &[f32], rows: usize, d: usize) -> Vec<f32> {
        (0..rows)
            .map(|i| {
                let n = m[i * d..(i + 1) * d].iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt() as f32;
                if n > 0.0 { (1.0 / n as f64) as f32 } else { 0.0 }
            })
            .collect()
    }

    struct Case {
        q: Vec<f32>,
        x: Vec<f32>,
        nq: usize,
        nx: usize,
        d: usize,
    }

    /// Both kernels over the base split at `split` (the second call merges into the first's state).
    fn both(c: &Case, k: usize, excl: bool, q_offset: i64, split: usize) -> Option<[(Vec<i32>, Vec<f32>); 2]> {
        let qs = inverse_norms(&c.q, c.nq, c.d);
        let xs = inverse_norms(&c.x, c.nx, c.d);
        let mut out = Vec::new();
        for screened in [false, true] {
            let mut idx = vec![-1i32; c.nq * k];
            let mut sc = vec![f32::NEG_INFINITY; c.nq * k];
            for (x0, x1) in [(0, split), (split, c.nx)] {
                if x0 == x1 {
                    continue;
                }
                let mut args = TopkArgs {
                    q: &c.q,
                    q_rows: c.nq,
                    x: &c.x[x0 * c.d..x1 * c.d],
                    x_rows: x1 - x0,
                    cols: c.d,
                    k,
                    q_offset,
                    x_offset: x0 as i64,
                    exclude_self: excl,
                    scales: Some((&qs, &xs[x0..x1])),
                    out_idx: &mut idx,
                    out_scores: &mut sc,
                };
                if screened {
                    if !unsafe { topk_screened(&mut args) } {
                        return None;
                    }
                } else {
                    unsafe { topk_tile_f32_avx512(args) };
                }
            }
            out.push((idx, sc));
        }
        let b = out.pop().unwrap();
        let a = out.pop().unwrap();
        Some([a, b])
    }

    fn gaussianish(seed: u64, n: usize) -> Vec<f32> {
        let mut r = rng(seed);
        (0..n).map(|_| r() + r() + r()).collect()
    }

    fn runnable() -> bool {
        crate::simd::detected() >= crate::simd::Isa::Avx512 && available()
    }

    #[test]
    fn screened_equals_the_f32_kernel_on_random_rows() {
        if !runnable() {
            return;
        }
        for &d in &[16usize, 19, 33, 64, 128] {
            let (nq, nx) = (45, 3000);
            let mut x = gaussianish(d as u64, nx * d);
            // Row lengths over four orders of magnitude: the scales, not the raw dots, decide.
            for j in 0..nx {
                let f = 10f32.powf(((j * 37) % 400) as f32 / 100.0 - 2.0);
                x[j * d..(j + 1) * d].iter_mut().for_each(|v| *v *= f);
            }
            x[7 * d..8 * d].fill(0.0); // a zero row scores 0
            let c = Case { q: gaussianish(1000 + d as u64, nq * d), x, nq, nx, d };
            for &k in &[1usize, 10, 64] {
                for &(excl, split) in &[(false, 0), (true, 1234), (true, 2999)] {
                    let [f32k, scr] = both(&c, k, excl, 0, split).expect("screened");
                    assert_eq!(scr.0, f32k.0, "indices d={d} k={k} excl={excl} split={split}");
                    assert_eq!(scr.1, f32k.1, "scores d={d} k={k} excl={excl} split={split}");
                }
            }
        }
    }

    /// Near-ties the bf16 copies cannot tell apart: base rows that are copies of a few rows, or copies changed
    /// by one unit in the last place of one value, or scaled by a power of two (the same cosine), mixed in
    /// with ordinary rows; queries that are base rows themselves (scores near 1) and excludeSelf.
    #[test]
    fn screened_equals_the_f32_kernel_on_adversarial_near_ties() {
        if !runnable() {
            return;
        }
        let d = 40;
        let nx = 2600;
        let base = gaussianish(9, 30 * d);
        let mut x = gaussianish(10, nx * d);
        for j in 0..nx {
            let src = j % 30;
            match j % 7 {
                0 => x[j * d..(j + 1) * d].copy_from_slice(&base[src * d..(src + 1) * d]),
                1 => {
                    x[j * d..(j + 1) * d].copy_from_slice(&base[src * d..(src + 1) * d]);
                    let p = j * d + (j % d);
                    x[p] = f32::from_bits(x[p].to_bits() + 1);
                }
                2 => {
                    for c in 0..d {
                        x[j * d + c] = base[src * d + c] * 4.0;
                    }
                }
                _ => {}
            }
        }
        // Queries: base rows 0..40 themselves (q_offset 0: excludeSelf skips each one's own row).
        let nq = 40;
        let q = x[..nq * d].to_vec();
        let c = Case { q, x, nq, nx, d };
        for &k in &[1usize, 5, 30, 200] {
            for &excl in &[false, true] {
                let [f32k, scr] = both(&c, k, excl, 0, 1000).expect("screened");
                assert_eq!(scr.0, f32k.0, "indices k={k} excl={excl}");
                assert_eq!(scr.1, f32k.1, "scores k={k} excl={excl}");
            }
        }
    }

    /// A base of one row repeated, then other rows: every score of the copies ties, the query leaves the
    /// screen, and the f32 kernel's answer comes out all the same; the other queries stay screened.
    #[test]
    fn too_many_near_ties_leave_the_screen_with_the_same_answer() {
        if !runnable() {
            return;
        }
        let d = 32;
        let row = gaussianish(3, d);
        let nx = 3000;
        let mut x = gaussianish(4, nx * d);
        for j in 0..1500 {
            x[j * d..(j + 1) * d].copy_from_slice(&row);
        }
        let mut q = gaussianish(5, 6 * d);
        q[..d].copy_from_slice(&row);
        let c = Case { q, x, nq: 6, nx, d };
        for &k in &[3usize, 40] {
            for &excl in &[false, true] {
                let [f32k, scr] = both(&c, k, excl, 0, 0).expect("screened");
                assert_eq!(scr.0, f32k.0, "indices k={k}");
                assert_eq!(scr.1, f32k.1, "scores k={k}");
            }
        }
    }

    /// More queries than one chunk, queries that are base rows, excludeSelf: the chunks' global indices line up.
    #[test]
    fn query_chunks_keep_global_indices() {
        if !runnable() {
            return;
        }
        let d = 24;
        let nx = QUERY_CHUNK + 300;
        let x = gaussianish(21, nx * d);
        let nq = QUERY_CHUNK + 37;
        let c = Case { q: x[..nq * d].to_vec(), x, nq, nx, d };
        let [f32k, scr] = both(&c, 5, true, 0, 0).expect("screened");
        assert_eq!(scr.0, f32k.0);
        assert_eq!(scr.1, f32k.1);
    }

    #[test]
    fn delta_is_about_two_to_the_minus_seven() {
        let d = delta(128);
        assert!(d > 2f32.powi(-7) && d < 2f32.powi(-7) * 1.01, "{d}");
    }
}
