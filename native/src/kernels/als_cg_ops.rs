//! The products of the ALS conjugate-gradient solver (als_cg.rs), f32 with fused multiply-adds where the level
//! has FMA: each row's other-side factors gathered once per half-step (at AVX-512 only when Y outgrows L2: a
//! smaller Y is read in place), t = G·p and Σ s_q y_q (at AVX-512 fused per strip of 16 interactions, see
//! als_cg_avx512.rs; below it t from a transposed copy, then the sum with the output row in registers), and
//! (YᵀY + λI)·p for a group of four rows. Tails (k or a row's length not a multiple of the vector width) run
//! narrower strips, masked loads or scalar code; a row's summation order depends on its own length only.

#[cfg(target_arch = "x86_64")]
use super::als_cg_avx512::{apply_rows_avx512, yty_apply_avx512, RowsAt};

/// Rows solved together: each YᵀY·p product reads a row of YᵀY once for the group while it is in L1.
pub(super) const GROUP: usize = 4;

/// Largest gather of one row (f32 values, 16 MiB for both copies, 8 MiB each): beyond it (an item with more than
/// 32,768 users at k = 64) the row is gathered again for each product, CHUNK interactions at a time.
pub(super) const GATHER_COLS_MAX: usize = 1 << 22;

/// Whether the level keeps only the in-order copy of a gathered row (AVX-512: see `apply_rows_avx512`).
#[inline(always)]
pub(super) fn in_order_only<const W: bool>() -> bool {
    W && cfg!(target_arch = "x86_64")
}

/// Values a gathered range of w (padded) interactions takes: the transposed copy (w × k, below AVX-512 only),
/// then the rows in order.
#[inline(always)]
pub(super) fn span<const W: bool>(w: usize, k: usize) -> usize {
    if in_order_only::<W>() { w * k } else { 2 * w * k }
}

/// Where the rows in order start in a gathered range.
#[inline(always)]
fn rows_at<const W: bool>(w: usize, k: usize) -> usize {
    if in_order_only::<W>() { 0 } else { w * k }
}

/// Interactions per piece of a row too long to keep gathered (a multiple of PAD).
pub(super) const CHUNK: usize = 1024;

/// Interactions per padded strip of the transposed gather.
pub(super) const PAD: usize = 16;

/// a·b + c, fused where the level has FMA (the scalar level would call a library routine per element).
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// acc += s·row, sixteen lanes (one AVX-512 vector).
#[inline(always)]
fn fma16<const F: bool>(acc: &mut [f32; 16], s: f32, row: &[f32; 16]) {
    for l in 0..16 {
        acc[l] = madd::<F>(s, row[l], acc[l]);
    }
}

/// acc += s·row, 64 lanes.
#[inline(always)]
fn fma64<const F: bool>(acc: &mut [f32; 64], s: f32, row: &[f32; 64]) {
    for l in 0..64 {
        acc[l] = madd::<F>(s, row[l], acc[l]);
    }
}

/// The read-only part of a call.
pub(super) struct Cg<'a> {
    /// k × k, f32.
    pub(super) yty: &'a [f32],
    pub(super) y: &'a [f32],
    pub(super) k: usize,
    pub(super) ptr: &'a [i32],
    pub(super) idx: &'a [i32],
    pub(super) val: &'a [f32],
    pub(super) alpha: f32,
    /// AVX-512 only: the products read the factor rows in place through the indices instead of a gathered copy
    /// (see `IN_PLACE_MAX`).
    pub(super) in_place: bool,
}

/// Where each group row's gathered range starts (None: too long to hold, gathered in pieces for each product).
pub(super) type Gathered = [Option<usize>; GROUP];

/// Largest Y (bytes) whose rows the AVX-512 products read in place: one that stays in L2 costs a strip of 16
/// scattered row reads no more than 16 contiguous ones, so copying the rows into a gathered buffer (a scattered
/// read, a write and a read back for each interaction once per half-step) is pure cost; a larger Y (the user
/// factors of a large set, tens of MiB) is gathered so the four products stream from a contiguous copy.
pub(super) const IN_PLACE_MAX: usize = 1 << 20;

/// The group's gather layout: each row's offset and the buffer length (nothing when the rows are read in place).
#[inline(always)]
pub(super) fn gather_plan<const W: bool>(k: usize, ptr: &[i32], us: usize, g: usize, in_place: bool) -> (Gathered, usize) {
    let mut at = [None; GROUP];
    let mut off = 0usize;
    if in_place {
        return (at, off);
    }
    for (j, slot) in at.iter_mut().enumerate().take(g) {
        let w = ((ptr[us + j + 1] - ptr[us + j]) as usize).div_ceil(PAD) * PAD;
        if 2 * w * k <= GATHER_COLS_MAX {
            *slot = Some(off);
            off += span::<W>(w, k);
        }
    }
    (at, off)
}

/// Rows fetched ahead of the copy: the factor rows are scattered over Y (tens of MiB for the user side), so
/// each is a miss to L3 or DRAM that the copy would otherwise wait for.
const AHEAD: usize = 12;

/// Asks for the cache lines of y[at..at + k] (a hint: no effect on results, none on other ISAs).
#[inline(always)]
fn prefetch_row(y: &[f32], at: usize, k: usize) {
    #[cfg(target_arch = "x86_64")]
    if at + k <= y.len() {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut c = 0;
        while c < k {
            // SAFETY: in bounds (checked above); a prefetch never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(y.as_ptr().add(at + c) as *const i8) };
            c += 16;
        }
        // The row's last line when it does not start on a line boundary.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(y.as_ptr().add(at + k - 1) as *const i8) };
    }
}

/// Each group row's other-side factors gathered once per half-step (see `gather_range`).
#[inline(always)]
pub(super) fn gather_group<const W: bool>(a: &Cg<'_>, us: usize, g: usize, gat: &Gathered, cols: &mut [f32]) {
    if a.in_place {
        return;
    }
    for (j, at) in gat.iter().enumerate().take(g) {
        let (q0, q1) = (a.ptr[us + j] as usize, a.ptr[us + j + 1] as usize);
        let Some(off) = *at else { continue };
        gather_range::<W>(a, q0, q1, &mut cols[off..]);
    }
}

/// The other-side factors of interactions q0..q1 (n of them), into `buf` (`span` values, w = n rounded up to PAD):
/// the rows in order (n × k, after the transposed copy if any), so Σ s_q y_q streams one contiguous block instead
/// of rows scattered over Y; below AVX-512 also transposed (k × w, zero-padded, first), so t = G·p is k
/// contiguous vector FMAs per strip of interactions instead of a horizontal sum per interaction (AVX-512 sums 16
/// rows' products together instead, see `apply_rows_avx512`).
#[inline(always)]
fn gather_range<const W: bool>(a: &Cg<'_>, q0: usize, q1: usize, buf: &mut [f32]) {
    let k = a.k;
    let n = q1 - q0;
    let w = n.div_ceil(PAD) * PAD;
    let (gt, rows) = buf[..span::<W>(w, k)].split_at_mut(rows_at::<W>(w, k));
    for (q, r) in (q0..q1).zip(rows.chunks_exact_mut(k)) {
        if q + AHEAD < q1 {
            prefetch_row(a.y, a.idx[q + AHEAD] as usize * k, k);
        }
        let i = a.idx[q] as usize;
        copy(r, &a.y[i * k..i * k + k]);
    }
    if in_order_only::<W>() {
        // The AVX-512 products read the rows in order only (see `apply_rows_avx512`).
        return;
    }
    // In strips of eight interactions: each column's eight values are one contiguous write, and the
    // strip's eight source rows stay in L1 across the columns.
    let full = q0 + (n / 8) * 8;
    for t0 in (q0..full).step_by(8) {
        let mut src: [&[f32]; 8] = [&[]; 8];
        for (m, sr) in src.iter_mut().enumerate() {
            let i = a.idx[t0 + m] as usize;
            *sr = &a.y[i * k..i * k + k];
        }
        let d = t0 - q0;
        for c in 0..k {
            let o: &mut [f32; 8] = (&mut gt[c * w + d..c * w + d + 8]).try_into().unwrap();
            for m in 0..8 {
                o[m] = src[m][c];
            }
        }
    }
    if full < q0 + w {
        for c in 0..k {
            gt[c * w + full - q0..c * w + w].fill(0.0);
        }
        for q in full..q1 {
            let i = a.idx[q] as usize;
            for c in 0..k {
                gt[c * w + q - q0] = a.y[i * k + c];
            }
        }
    }
}

/// t = G p for a gathered range of n interactions from the transposed copy (below AVX-512; AVX-512 fuses the
/// products with the weighted sum, `apply_rows_avx512`).
#[inline(always)]
fn dots<const F: bool>(gt: &[f32], w: usize, k: usize, p: &[f32], t: &mut [f32]) {
    gather_dots::<F>(gt, w, k, p, t);
}


/// t = G p from the transposed gather (k × w, w a multiple of PAD): strips of 64 interactions, then one of the
/// 16, 32 or 48 left, summed in registers over the k columns (t_q = Σ_c p_c·y_qc; a narrow strip splits the
/// columns over S partial sums so its FMAs do not wait on each other: which one a row gets depends on its
/// length only).
#[inline(always)]
fn gather_dots<const F: bool>(gt: &[f32], w: usize, k: usize, p: &[f32], t: &mut [f32]) {
    let mut t0 = 0;
    while t0 + 64 <= w {
        dots_strip::<F, 64, 1>(gt, w, k, p, t, t0);
        t0 += 64;
    }
    match w - t0 {
        48 => dots_strip::<F, 48, 1>(gt, w, k, p, t, t0),
        32 => dots_strip::<F, 32, 2>(gt, w, k, p, t, t0),
        16 => dots_strip::<F, 16, 4>(gt, w, k, p, t, t0),
        _ => {}
    }
}

#[inline(always)]
fn dots_strip<const F: bool, const N: usize, const S: usize>(gt: &[f32], w: usize, k: usize, p: &[f32], t: &mut [f32], t0: usize) {
    let mut acc = [[0.0f32; N]; S];
    let ks = k / S * S;
    for c0 in (0..ks).step_by(S) {
        for (sp, a) in acc.iter_mut().enumerate() {
            let c = c0 + sp;
            let col: &[f32; N] = gt[c * w + t0..c * w + t0 + N].try_into().unwrap();
            let pc = p[c];
            for l in 0..N {
                a[l] = madd::<F>(pc, col[l], a[l]);
            }
        }
    }
    for c in ks..k {
        let col: &[f32; N] = gt[c * w + t0..c * w + t0 + N].try_into().unwrap();
        let pc = p[c];
        for l in 0..N {
            acc[0][l] = madd::<F>(pc, col[l], acc[0][l]);
        }
    }
    let out: &mut [f32; N] = (&mut t[t0..t0 + N]).try_into().unwrap();
    for l in 0..N {
        let mut v = acc[0][l];
        for a in &acc[1..] {
            v += a[l];
        }
        out[l] = v;
    }
}

/// o += Σ_q s_q y_q over the row's interactions, each strip of o's columns held in registers across all of them
/// (one load of each factor row's strip, no load and store of o per interaction).
#[inline(always)]
fn sum_rows<const F: bool>(k: usize, rows: &[f32], s: &[f32], o: &mut [f32]) {
    let at = |q: usize| q * k;
    let n = s.len();
    let mut c0 = 0;
    while c0 + 64 <= k {
        // Even and odd interactions in two sets of sums: each set's FMAs wait on the previous one (4 cycles),
        // two sets keep both FMA pipes busy while a row's loads come from L2.
        let mut acc: [f32; 64] = o[c0..c0 + 64].try_into().unwrap();
        let mut acc2 = [0.0f32; 64];
        let pairs = n / 2;
        for m in 0..pairs {
            let (i0, i1) = (at(2 * m) + c0, at(2 * m + 1) + c0);
            let (s0, s1) = (s[2 * m], s[2 * m + 1]);
            let r0: &[f32; 64] = rows[i0..i0 + 64].try_into().unwrap();
            let r1: &[f32; 64] = rows[i1..i1 + 64].try_into().unwrap();
            fma64::<F>(&mut acc, s0, r0);
            fma64::<F>(&mut acc2, s1, r1);
        }
        if n % 2 == 1 {
            let i0 = at(2 * pairs) + c0;
            let row: &[f32; 64] = rows[i0..i0 + 64].try_into().unwrap();
            for l in 0..64 {
                acc[l] = madd::<F>(s[2 * pairs], row[l], acc[l]);
            }
        }
        for l in 0..64 {
            o[c0 + l] = acc[l] + acc2[l];
        }
        c0 += 64;
    }
    while c0 + 16 <= k {
        let mut acc: [f32; 16] = o[c0..c0 + 16].try_into().unwrap();
        for (q, &sq) in s.iter().enumerate() {
            let i0 = at(q) + c0;
            let row: &[f32; 16] = rows[i0..i0 + 16].try_into().unwrap();
            for l in 0..16 {
                acc[l] = madd::<F>(sq, row[l], acc[l]);
            }
        }
        o[c0..c0 + 16].copy_from_slice(&acc);
        c0 += 16;
    }
    if c0 < k {
        for (q, &sq) in s.iter().enumerate() {
            let row = &rows[at(q)..at(q) + k];
            for c in c0..k {
                o[c] = madd::<F>(sq, row[c], o[c]);
            }
        }
    }
}

/// out_j = A_j p_j (or A_j p_j − b_j with `minus_b`) for the group's rows us..us+g (vectors j·k.. of `ps` and
/// `out`). YᵀY is symmetric, so YᵀY·p = Σ_c p_c·(row c of YᵀY): sixteen outputs of every group row at a time
/// held in registers across YᵀY's rows, each λ p_r + Σ_c p_c·YᵀY[c][r] summed in c order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn multi_apply<const F: bool, const W: bool>(a: &Cg<'_>, us: usize, g: usize, lams: &[f32; GROUP], ps: &[f32], out: &mut [f32], gat: &Gathered, cols: &[f32], tbuf: &mut [f32], chunk: &mut [f32], minus_b: bool) {
    let k = a.k;
    let mut r0 = 0;
    #[cfg(target_arch = "x86_64")]
    if W {
        // SAFETY: the AVX-512 level runs on a CPU with AVX-512 F (the table's contract).
        r0 = unsafe { yty_apply_avx512(a.yty, k, lams, ps, out, g) };
    }
    while r0 + 16 <= k {
        let (mut a0, mut a1, mut a2, mut a3) = ([0.0f32; 16], [0.0f32; 16], [0.0f32; 16], [0.0f32; 16]);
        for l in 0..16 {
            a0[l] = lams[0] * ps[r0 + l];
            a1[l] = lams[1] * ps[k + r0 + l];
            a2[l] = lams[2] * ps[2 * k + r0 + l];
            a3[l] = lams[3] * ps[3 * k + r0 + l];
        }
        for c in 0..k {
            let row: &[f32; 16] = a.yty[c * k + r0..c * k + r0 + 16].try_into().unwrap();
            // Rows j ≥ g compute on zeros and are never stored.
            let (p0, p1, p2, p3) = (ps[c], ps[k + c], ps[2 * k + c], ps[3 * k + c]);
            // One helper call per accumulator: a loop over all four interleaved was split by LLVM into
            // 4-, 2- and 8-lane pieces.
            fma16::<F>(&mut a0, p0, row);
            fma16::<F>(&mut a1, p1, row);
            fma16::<F>(&mut a2, p2, row);
            fma16::<F>(&mut a3, p3, row);
        }
        let acc = [a0, a1, a2, a3];
        for j in 0..g {
            out[j * k + r0..j * k + r0 + 16].copy_from_slice(&acc[j]);
        }
        r0 += 16;
    }
    if r0 < k {
        for j in 0..g {
            for r in r0..k {
                out[j * k + r] = lams[j] * ps[j * k + r];
            }
        }
        for c in 0..k {
            for j in 0..g {
                let pc = ps[j * k + c];
                for r in r0..k {
                    out[j * k + r] = madd::<F>(pc, a.yty[c * k + r], out[j * k + r]);
                }
            }
        }
    }
    for j in 0..g {
        let (p, o) = (&ps[j * k..j * k + k], &mut out[j * k..j * k + k]);
        let (q0, q1) = (a.ptr[us + j] as usize, a.ptr[us + j + 1] as usize);
        let n = q1 - q0;
        let t = &mut tbuf[..n.div_ceil(PAD) * PAD];
        #[cfg(target_arch = "x86_64")]
        if W {
            // AVX-512: the products and the weighted sum fused per strip of 16 interactions (`apply_rows_avx512`).
            let val = &a.val[q0..q1];
            if a.in_place {
                let src = RowsAt::InPlace { y: a.y, idx: &a.idx[q0..q1] };
                // SAFETY: the AVX-512 level runs on a CPU with AVX-512 F (the table's contract); every index of
                // the call's rows is a row of y (`solve_cg` checks them before it sets `in_place`).
                unsafe { apply_rows_avx512(src, n, k, p, val, a.alpha, minus_b, o) };
            } else if let Some(off) = gat[j] {
                // SAFETY: as above.
                unsafe { apply_rows_avx512(RowsAt::Gathered(&cols[off..off + n * k]), n, k, p, val, a.alpha, minus_b, o) };
            } else {
                let mut c0 = q0;
                while c0 < q1 {
                    let c1 = (c0 + CHUNK).min(q1);
                    gather_range::<W>(a, c0, c1, chunk);
                    let src = RowsAt::Gathered(&chunk[..(c1 - c0) * k]);
                    // SAFETY: as above.
                    unsafe { apply_rows_avx512(src, c1 - c0, k, p, &a.val[c0..c1], a.alpha, minus_b, o) };
                    c0 = c1;
                }
            }
            continue;
        }
        if let Some(off) = gat[j] {
            let w = t.len();
            let (gt, rows) = cols[off..off + span::<W>(w, k)].split_at(rows_at::<W>(w, k));
            dots::<F>(gt, w, k, p, t);
            let t = &mut t[..n];
            weights::<F>(a.alpha, &a.val[q0..q1], t, minus_b);
            sum_rows::<F>(k, rows, t, o);
        } else {
            // Too long to keep gathered: CHUNK interactions at a time gathered again for each product.
            let mut c0 = q0;
            while c0 < q1 {
                let c1 = (c0 + CHUNK).min(q1);
                let (m, wc) = (c1 - c0, (c1 - c0).div_ceil(PAD) * PAD);
                gather_range::<W>(a, c0, c1, chunk);
                let (gt, rows) = chunk[..span::<W>(wc, k)].split_at(rows_at::<W>(wc, k));
                let tc = &mut t[c0 - q0..c0 - q0 + wc];
                dots::<F>(gt, wc, k, p, tc);
                let tc = &mut tc[..m];
                weights::<F>(a.alpha, &a.val[c0..c1], tc, minus_b);
                sum_rows::<F>(k, rows, tc, o);
                c0 = c1;
            }
        }
    }
}

/// t_q → s_q = (c_q − 1)·t_q, or with `minus_b` also minus b's coefficient c_q (c_q = 1 + α·r_q).
#[inline(always)]
fn weights<const F: bool>(alpha: f32, val: &[f32], t: &mut [f32], minus_b: bool) {
    if minus_b {
        for (tq, &v) in t.iter_mut().zip(val) {
            let w = alpha * v;
            *tq = madd::<F>(w, *tq, -(1.0 + w));
        }
    } else {
        for (tq, &v) in t.iter_mut().zip(val) {
            *tq *= alpha * v;
        }
    }
}


/// o = v for short rows: an inline loop (a library copy call per 256-byte row costs more than the copy).
#[inline(always)]
fn copy(o: &mut [f32], v: &[f32]) {
    for (ov, vv) in o.iter_mut().zip(v) {
        *ov = *vv;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gather equals the factor rows, in order at every level and read column by column (below AVX-512), for
    /// lengths and k that hit the eight-interaction strips, the column tail and the zero padding.
    #[test]
    fn gather_transposes_every_tail() {
        for k in [3usize, 16, 20, 35, 64] {
            for n in [1usize, 7, 8, 15, 16, 17, 33, 40] {
                let other = 50;
                let y: Vec<f32> = (0..other * k).map(|i| i as f32 + 0.5).collect();
                let idx: Vec<i32> = (0..n).map(|q| ((q * 7 + 3) % other) as i32).collect();
                let ptr = [0, n as i32];
                let val = vec![1.0f32; n];
                let yty = vec![0.0f32; k * k];
                let a = Cg { yty: &yty, y: &y, k, ptr: &ptr, idx: &idx, val: &val, alpha: 1.0, in_place: false };
                let (gat, len) = gather_plan::<false>(k, &ptr, 0, 1, false);
                let w = len / (2 * k);
                for avx512 in [false, true] {
                    if avx512 && !std::arch::is_x86_feature_detected!("avx512f") {
                        continue;
                    }
                    let mut cols = vec![f32::NAN; len];
                    if avx512 {
                        gather_group::<true>(&a, 0, 1, &gat, &mut cols);
                    } else {
                        gather_group::<false>(&a, 0, 1, &gat, &mut cols);
                    }
                    // The AVX-512 level keeps the rows in order only.
                    for c in 0..k {
                        for q in 0..w {
                            if avx512 {
                                break;
                            }
                            let want = if q < n { y[idx[q] as usize * k + c] } else { 0.0 };
                            assert_eq!(cols[c * w + q], want, "k {k} n {n} avx512 {avx512} c {c} q {q}");
                        }
                    }
                    // AVX-512 keeps only the rows in order, at the start of the row's range.
                    let ro = if avx512 { 0 } else { w * k };
                    for q in 0..n {
                        assert_eq!(&cols[ro + q * k..ro + q * k + k], &y[idx[q] as usize * k..idx[q] as usize * k + k]);
                    }
                }
            }
        }
    }
}
