//! Implicit ALS, the conjugate-gradient solver (see als.rs for the system): `cg_steps` steps warm-started from
//! the current x_u that never form A_u, A_u·p = YᵀY·p + λ_u p + Σ_{i ∈ u} (c_ui − 1)(y_i·p) y_i.
//! Precision: every product and its sum in f32, as implicit's CPU solver does (YᵀY rounded to f32 once per call;
//! at k = 64 it is 16 KiB and stays in L1), so twice the lanes of f64 and half the bytes streamed; the CG
//! scalars (rᵀr, pᵀAp) are dot products of those f32 vectors summed in f64, and α, β are f64 rounded to f32.
//! Rows are solved in groups of four that share each read of YᵀY; a row's arithmetic never depends on the rows
//! grouped with it nor on the block split. Tails (k or a row's length not a multiple of the vector width) run
//! narrower strips, then scalar code.

use super::scratch::{Scratch, ALS_COLS, ALS_WORK};

/// Rows solved together: each YᵀY·p product reads a row of YᵀY once for the group while it is in L1.
const GROUP: usize = 4;

/// Largest gather of one row (f32 values, 16 MiB, transposed and in order): beyond it (an item with more than
/// 32,768 users at k = 64) the row is gathered again for each product, CHUNK interactions at a time.
const GATHER_COLS_MAX: usize = 1 << 22;

/// Interactions per piece of a row too long to keep gathered (a multiple of PAD).
const CHUNK: usize = 1024;

/// Interactions per padded strip of the transposed gather.
const PAD: usize = 16;

/// a·b + c, fused where the level has FMA (the scalar level would call a library routine per element).
#[inline(always)]
fn madd<const F: bool>(a: f32, b: f32, c: f32) -> f32 {
    if F {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// Σ a·b over f32 vectors, summed in f64 (the CG scalars).
#[inline(always)]
fn dot64(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut v = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (pa, pb) in ca.zip(cb) {
        for l in 0..8 {
            v[l] += f64::from(pa[l]) * f64::from(pb[l]);
        }
    }
    let mut s = ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += f64::from(*x) * f64::from(*y);
    }
    s
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
struct Cg<'a> {
    /// k × k, f32.
    yty: &'a [f32],
    y: &'a [f32],
    k: usize,
    ptr: &'a [i32],
    idx: &'a [i32],
    val: &'a [f32],
    alpha: f32,
}

/// Where each group row's transposed gather starts (None: too long, read in place), and the buffer length.
type Gathered = [Option<usize>; GROUP];

#[inline(always)]
fn gather_plan(k: usize, ptr: &[i32], us: usize, g: usize) -> (Gathered, usize) {
    let mut at = [None; GROUP];
    let mut off = 0usize;
    for (j, slot) in at.iter_mut().enumerate().take(g) {
        let w = ((ptr[us + j + 1] - ptr[us + j]) as usize).div_ceil(PAD) * PAD;
        if 2 * w * k <= GATHER_COLS_MAX {
            *slot = Some(off);
            off += 2 * w * k;
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
fn gather_group<const W: bool>(a: &Cg<'_>, us: usize, g: usize, gat: &Gathered, cols: &mut [f32]) {
    for (j, at) in gat.iter().enumerate().take(g) {
        let (q0, q1) = (a.ptr[us + j] as usize, a.ptr[us + j + 1] as usize);
        let Some(off) = *at else { continue };
        gather_range::<W>(a, q0, q1, &mut cols[off..]);
    }
}

/// The other-side factors of interactions q0..q1 (n of them), into `buf` (2·w·k values, w = n rounded up to PAD):
/// the rows in order (n × k, after the first w·k values), so Σ s_q y_q streams one contiguous block instead of rows
/// scattered over Y; below AVX-512 also transposed (k × w, zero-padded, the first w·k values), so t = G·p is k
/// contiguous vector FMAs per strip of interactions instead of a horizontal sum per interaction (AVX-512 sums 16
/// rows' products together instead, see `dots_rows_avx512`).
#[inline(always)]
fn gather_range<const W: bool>(a: &Cg<'_>, q0: usize, q1: usize, buf: &mut [f32]) {
    let k = a.k;
    let n = q1 - q0;
    let w = n.div_ceil(PAD) * PAD;
    let (gt, rows) = buf[..2 * w * k].split_at_mut(w * k);
    for (q, r) in (q0..q1).zip(rows.chunks_exact_mut(k)) {
        if q + AHEAD < q1 {
            prefetch_row(a.y, a.idx[q + AHEAD] as usize * k, k);
        }
        let i = a.idx[q] as usize;
        copy(r, &a.y[i * k..i * k + k]);
    }
    if W && cfg!(target_arch = "x86_64") {
        // The AVX-512 products read the rows in order only (see `dots_rows_avx512`).
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

/// t = G p for a gathered range of n interactions: at AVX-512 from the rows in order, elsewhere from the transposed
/// copy.
#[inline(always)]
fn dots<const F: bool, const W: bool>(gt: &[f32], rows: &[f32], n: usize, w: usize, k: usize, p: &[f32], t: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if W {
        // SAFETY: the AVX-512 level runs on a CPU with AVX-512 F (the table's contract).
        unsafe { dots_rows_avx512(&rows[..n * k], n, k, p, t) };
        return;
    }
    let _ = (rows, n);
    gather_dots::<F>(gt, w, k, p, t);
}

/// t_q = y_q·p for 16 interactions at a time from the rows in order (n × k): each row's products summed over k in
/// one vector (16 partial sums), then the 16 vectors of a strip reduced together (three rounds of shuffles and
/// adds, about three operations per interaction). Costs k/16 + 3 vector operations per interaction and needs no
/// transposed copy, whose 16 × 16 shuffles and second set of stores cost more than the reduction.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::needless_range_loop)] // m indexes the accumulators and the rows alike
unsafe fn dots_rows_avx512(rows: &[f32], n: usize, k: usize, p: &[f32], t: &mut [f32]) {
    use std::arch::x86_64::*;
    assert!(rows.len() >= n * k && p.len() >= k && t.len() >= n.div_ceil(16) * 16);
    let (r, pp, tp) = (rows.as_ptr(), p.as_ptr(), t.as_mut_ptr());
    let k16 = k / 16 * 16;
    let tail: __mmask16 = ((1u32 << (k - k16)) - 1) as __mmask16;
    let mut q0 = 0;
    while q0 < n {
        let m_end = (n - q0).min(16);
        // SAFETY: rows q0..q0+m_end of `rows` (k values each), p (k values) and t[q0..q0+16] are in bounds
        // (asserted); the masked loads read only the k − k16 values left.
        unsafe {
            let mut acc = [_mm512_setzero_ps(); 16];
            let mut c0 = 0;
            while c0 < k16 {
                let pv = _mm512_loadu_ps(pp.add(c0));
                for m in 0..m_end {
                    acc[m] = _mm512_fmadd_ps(_mm512_loadu_ps(r.add((q0 + m) * k + c0)), pv, acc[m]);
                }
                c0 += 16;
            }
            if k16 < k {
                let pv = _mm512_maskz_loadu_ps(tail, pp.add(k16));
                for m in 0..m_end {
                    acc[m] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, r.add((q0 + m) * k + k16)), pv, acc[m]);
                }
            }
            // Round 1: pairs (2i, 2i + 1) → per 128-bit lane [a0+a2, b0+b2, a1+a3, b1+b3] of each lane's four.
            let mut h = [_mm512_setzero_ps(); 8];
            for i in 0..8 {
                let (a, b) = (acc[2 * i], acc[2 * i + 1]);
                h[i] = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
            }
            // Round 2: per 128-bit lane, the four lane sums of rows 4g..4g+4.
            let mut u = [_mm512_setzero_ps(); 4];
            for g in 0..4 {
                let (a, b) = (h[2 * g], h[2 * g + 1]);
                u[g] = _mm512_add_ps(_mm512_shuffle_ps::<0x44>(a, b), _mm512_shuffle_ps::<0xEE>(a, b));
            }
            // Round 3: sum the four 128-bit lanes; lane g of the result holds rows 4g..4g+4.
            let w01 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[0], u[1]), _mm512_shuffle_f32x4::<0xEE>(u[0], u[1]));
            let w23 = _mm512_add_ps(_mm512_shuffle_f32x4::<0x44>(u[2], u[3]), _mm512_shuffle_f32x4::<0xEE>(u[2], u[3]));
            let sums = _mm512_add_ps(_mm512_shuffle_f32x4::<0x88>(w01, w23), _mm512_shuffle_f32x4::<0xDD>(w01, w23));
            _mm512_storeu_ps(tp.add(q0), sums);
        }
        q0 += 16;
    }
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
fn multi_apply<const F: bool, const W: bool>(a: &Cg<'_>, us: usize, g: usize, lams: &[f32; GROUP], ps: &[f32], out: &mut [f32], gat: &Gathered, cols: &[f32], tbuf: &mut [f32], chunk: &mut [f32], minus_b: bool) {
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
        if let Some(off) = gat[j] {
            let w = t.len();
            let (gt, rows) = cols[off..off + 2 * w * k].split_at(w * k);
            dots::<F, W>(gt, rows, n, w, k, p, t);
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
                let (gt, rows) = chunk[..2 * wc * k].split_at(wc * k);
                let tc = &mut t[c0 - q0..c0 - q0 + wc];
                dots::<F, W>(gt, rows, m, wc, k, p, tc);
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

/// The YᵀY·p + λp part of `multi_apply` for the first k/16·16 outputs of each group row, in registers: 32 (or
/// 16) outputs of all four rows per pass over YᵀY's rows, so each YᵀY vector is loaded once for four FMAs.
/// Same arithmetic as the portable loop (λp rounded, then one fused multiply-add per c in c order).
/// Returns how many outputs it wrote.
///
/// # Safety
/// The CPU must support AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
#[allow(clippy::needless_range_loop)] // j indexes the accumulators and the rows of ps alike
unsafe fn yty_apply_avx512(yty: &[f32], k: usize, lams: &[f32; GROUP], ps: &[f32], out: &mut [f32], g: usize) -> usize {
    use std::arch::x86_64::*;
    assert!(yty.len() >= k * k && ps.len() >= GROUP * k && out.len() >= g * k && g <= GROUP);
    let (y, p, o) = (yty.as_ptr(), ps.as_ptr(), out.as_mut_ptr());
    let mut r0 = 0;
    // SAFETY (both loops): r0 + 32 (or 16) ≤ k and c < k, so every load is inside yty (k × k) or a row of ps
    // (GROUP × k), every store inside the first g rows of out (asserted lengths).
    while r0 + 32 <= k {
        unsafe {
            let mut lo = [_mm512_setzero_ps(); GROUP];
            let mut hi = [_mm512_setzero_ps(); GROUP];
            for j in 0..GROUP {
                let lam = _mm512_set1_ps(lams[j]);
                lo[j] = _mm512_mul_ps(lam, _mm512_loadu_ps(p.add(j * k + r0)));
                hi[j] = _mm512_mul_ps(lam, _mm512_loadu_ps(p.add(j * k + r0 + 16)));
            }
            for c in 0..k {
                let (r_lo, r_hi) = (_mm512_loadu_ps(y.add(c * k + r0)), _mm512_loadu_ps(y.add(c * k + r0 + 16)));
                for j in 0..GROUP {
                    let pc = _mm512_set1_ps(*p.add(j * k + c));
                    lo[j] = _mm512_fmadd_ps(pc, r_lo, lo[j]);
                    hi[j] = _mm512_fmadd_ps(pc, r_hi, hi[j]);
                }
            }
            for j in 0..g {
                _mm512_storeu_ps(o.add(j * k + r0), lo[j]);
                _mm512_storeu_ps(o.add(j * k + r0 + 16), hi[j]);
            }
        }
        r0 += 32;
    }
    while r0 + 16 <= k {
        unsafe {
            let mut acc = [_mm512_setzero_ps(); GROUP];
            for j in 0..GROUP {
                acc[j] = _mm512_mul_ps(_mm512_set1_ps(lams[j]), _mm512_loadu_ps(p.add(j * k + r0)));
            }
            for c in 0..k {
                let row = _mm512_loadu_ps(y.add(c * k + r0));
                for j in 0..GROUP {
                    acc[j] = _mm512_fmadd_ps(_mm512_set1_ps(*p.add(j * k + c)), row, acc[j]);
                }
            }
            for j in 0..g {
                _mm512_storeu_ps(o.add(j * k + r0), acc[j]);
            }
        }
        r0 += 16;
    }
    r0
}

/// o = v for short rows: an inline loop (a library copy call per 256-byte row costs more than the copy).
#[inline(always)]
fn copy(o: &mut [f32], v: &[f32]) {
    for (ov, vv) in o.iter_mut().zip(v) {
        *ov = *vv;
    }
}

/// o = o + s·v.
#[inline(always)]
fn axpy(o: &mut [f32], s: f32, v: &[f32]) {
    for (ov, vv) in o.iter_mut().zip(v) {
        *ov += s * *vv;
    }
}

/// `cg_steps` CG steps for rows us..us+g in lock step (`buf`: 4·GROUP·k). Returns −1 or the first row whose
/// system is not positive definite.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn cg_group<const F: bool, const W: bool>(a: &Cg<'_>, us: usize, g: usize, lams: &[f32; GROUP], cg_steps: usize, x: &mut [f32], buf: &mut [f32], gat: &Gathered, cols: &mut [f32], tbuf: &mut [f32], chunk: &mut [f32]) -> i64 {
    let (k, ptr) = (a.k, a.ptr);
    gather_group::<W>(a, us, g, gat, cols);
    let (rv, rest) = buf.split_at_mut(GROUP * k);
    let (xs, rest) = rest.split_at_mut(GROUP * k);
    let (ps, rest) = rest.split_at_mut(GROUP * k);
    let aps = &mut rest[..GROUP * k];
    for j in 0..g {
        let u = us + j;
        if ptr[u] == ptr[u + 1] {
            // b = 0: x = 0 without steps (see als.rs).
            xs[j * k..j * k + k].fill(0.0);
        } else {
            xs[j * k..j * k + k].copy_from_slice(&x[u * k..u * k + k]);
        }
    }
    // A short last group's unused vectors are zeroed so the lanes computed on them (never stored) see no stale
    // denormals or NaNs.
    for j in g..GROUP {
        xs[j * k..j * k + k].fill(0.0);
        ps[j * k..j * k + k].fill(0.0);
    }
    // A x − b in one pass over the interactions (b = Σ c_ui y_i rides on the product's own sums), then r = b − A x.
    multi_apply::<F, W>(a, us, g, lams, xs, aps, gat, cols, tbuf, chunk, true);
    let mut rs = [0.0f64; GROUP];
    for j in 0..g {
        let (r, ap) = (&mut rv[j * k..j * k + k], &aps[j * k..j * k + k]);
        if ptr[us + j] == ptr[us + j + 1] {
            r.fill(0.0);
        } else {
            for (rr, v) in r.iter_mut().zip(ap) {
                *rr = -*v;
            }
        }
        ps[j * k..j * k + k].copy_from_slice(r);
        rs[j] = dot64(r, r);
    }
    let mut live = [false; GROUP];
    let mut failed = -1i64;
    for _ in 0..cg_steps {
        for j in 0..g {
            live[j] = rs[j] >= 1e-20 || rs[j].is_nan();
        }
        if !live[..g].iter().any(|&l| l) {
            break;
        }
        multi_apply::<F, W>(a, us, g, lams, ps, aps, gat, cols, tbuf, chunk, false);
        for j in 0..g {
            if !live[j] {
                continue;
            }
            let (p, ap) = (&mut ps[j * k..j * k + k], &aps[j * k..j * k + k]);
            let pap = dot64(p, ap);
            if !pap.is_finite() || pap <= 0.0 {
                if failed < 0 {
                    failed = (us + j) as i64;
                }
                rs[j] = 0.0;
                continue;
            }
            let step = (rs[j] / pap) as f32;
            let (r, xv) = (&mut rv[j * k..j * k + k], &mut xs[j * k..j * k + k]);
            axpy(xv, step, p);
            axpy(r, -step, ap);
            let rs_new = dot64(r, r);
            let beta = (rs_new / rs[j]) as f32;
            for (pv, rr) in p.iter_mut().zip(r.iter()) {
                *pv = *rr + beta * *pv;
            }
            rs[j] = rs_new;
        }
    }
    if failed >= 0 {
        return failed;
    }
    for j in 0..g {
        let u = us + j;
        x[u * k..u * k + k].copy_from_slice(&xs[j * k..j * k + k]);
    }
    -1
}

/// `len` values of a scratch buffer starting on a 64-byte line: with k and the gather's strides multiples of
/// 16, every vector load of YᵀY and of the gathered rows then stays within one cache line.
#[inline(always)]
fn aligned(buf: &mut Scratch<f32>, len: usize) -> &mut [f32] {
    let b = buf.slice_grow(len + 16);
    let skip = (b.as_ptr() as usize / 4).wrapping_neg() % 16;
    &mut b[skip..skip + len]
}

/// The CG solver over rows [row0, row1); `F`: whether the level has FMA, `W`: whether it is AVX-512.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn solve_cg<const F: bool, const W: bool>(yty: &[f64], y: &[f32], k: usize, ptr: &[i32], idx: &[i32], val: &[f32], row0: usize, row1: usize, x: &mut [f32], alpha: f64, reg: f64, reg_mode: u32, cg_steps: usize) -> i64 {
    let mut work = Scratch::take(&ALS_WORK, 0);
    let mut cols = Scratch::take(&ALS_COLS, 0);
    let wmax_all = (row0..row1).map(|u| (ptr[u + 1] - ptr[u]) as usize).max().unwrap_or(0).div_ceil(PAD) * PAD;
    // YᵀY (its length rounded up to whole lines, so the next part starts on one too), the piece of a row too
    // long to keep gathered (when the block has one), the group's CG vectors, then each row's t.
    let kk = (k * k).div_ceil(16) * 16;
    let ch = if 2 * wmax_all * k > GATHER_COLS_MAX { 2 * CHUNK * k } else { 0 };
    let buf = aligned(&mut work, kk + ch + 4 * GROUP * k + wmax_all);
    let (yty32, rest) = buf.split_at_mut(kk);
    let (chunk, rest) = rest.split_at_mut(ch);
    let (vecs, tbuf) = rest.split_at_mut(4 * GROUP * k);
    let yty32 = &mut yty32[..k * k];
    for (d, s) in yty32.iter_mut().zip(&yty[..k * k]) {
        *d = *s as f32;
    }
    let a = Cg { yty: yty32, y, k, ptr, idx, val, alpha: alpha as f32 };
    let mut us = row0;
    while us < row1 {
        let g = GROUP.min(row1 - us);
        let mut lams = [0.0f32; GROUP];
        for (j, l) in lams.iter_mut().enumerate().take(g) {
            let n = (ptr[us + j + 1] - ptr[us + j]) as f64;
            *l = (if reg_mode == 1 { reg * n } else { reg }) as f32;
        }
        let (gat, len) = gather_plan(k, ptr, us, g);
        let failed = cg_group::<F, W>(&a, us, g, &lams, cg_steps, x, vecs, &gat, aligned(&mut cols, len), tbuf, chunk);
        if failed >= 0 {
            return failed;
        }
        us += g;
    }
    -1
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
                let a = Cg { yty: &yty, y: &y, k, ptr: &ptr, idx: &idx, val: &val, alpha: 1.0 };
                let (gat, len) = gather_plan(k, &ptr, 0, 1);
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
                    for q in 0..n {
                        assert_eq!(&cols[w * k + q * k..w * k + q * k + k], &y[idx[q] as usize * k..idx[q] as usize * k + k]);
                    }
                }
            }
        }
    }

    /// A row too long to keep gathered (pieces of CHUNK gathered again for each product) reaches the f64 dense
    /// solution like any row, at the portable and the AVX-512 level; the short row after it checks the group.
    #[test]
    fn a_row_too_long_to_gather_is_solved_in_pieces() {
        let (k, other) = (16usize, 37usize);
        let n = GATHER_COLS_MAX / (2 * k) + 300;
        let y: Vec<f32> = (0..other * k).map(|i| ((i * 29 % 23) as f32 - 11.0) / 40.0).collect();
        let idx: Vec<i32> = (0..n + 5).map(|q| ((q * 7 + q / 11) % other) as i32).collect();
        let val: Vec<f32> = (0..n + 5).map(|q| (q % 3) as f32 * 0.5).collect();
        let ptr = [0, n as i32, n as i32 + 5];
        let (alpha, reg) = (0.01f64, 50.0f64);
        let mut yty = vec![0.0f64; k * k];
        for i in 0..other {
            for r in 0..k {
                for c in 0..k {
                    yty[r * k + c] += f64::from(y[i * k + r]) * f64::from(y[i * k + c]);
                }
            }
        }
        for row in 0..2 {
            // Dense f64 system of the row, solved by Gaussian elimination.
            let mut am = yty.clone();
            let mut b = vec![0.0f64; k];
            for q in ptr[row] as usize..ptr[row + 1] as usize {
                let (i, c) = (idx[q] as usize, 1.0 + alpha * f64::from(val[q]));
                for r in 0..k {
                    b[r] += c * f64::from(y[i * k + r]);
                    for t in 0..k {
                        am[r * k + t] += (c - 1.0) * f64::from(y[i * k + r]) * f64::from(y[i * k + t]);
                    }
                }
            }
            for r in 0..k {
                am[r * k + r] += reg;
            }
            for c in 0..k {
                for r in c + 1..k {
                    let f = am[r * k + c] / am[c * k + c];
                    for t in c..k {
                        am[r * k + t] -= f * am[c * k + t];
                    }
                    b[r] -= f * b[c];
                }
            }
            let mut want = vec![0.0f64; k];
            for r in (0..k).rev() {
                let s: f64 = (r + 1..k).map(|t| am[r * k + t] * want[t]).sum();
                want[r] = (b[r] - s) / am[r * k + r];
            }
            let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for avx512 in [false, true] {
                if avx512 && !(std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")) {
                    continue;
                }
                let mut x = vec![0.0f32; 2 * k];
                let failed = if avx512 {
                    solve_cg::<true, true>(&yty, &y, k, &ptr, &idx, &val, 0, 2, &mut x, alpha, reg, 0, 2 * k)
                } else {
                    solve_cg::<false, false>(&yty, &y, k, &ptr, &idx, &val, 0, 2, &mut x, alpha, reg, 0, 2 * k)
                };
                assert_eq!(failed, -1);
                for r in 0..k {
                    let got = f64::from(x[row * k + r]);
                    assert!((got - want[r]).abs() <= 1e-3 * scale, "row {row} avx512 {avx512} [{r}]: {got} vs {}", want[r]);
                }
            }
        }
    }
}
