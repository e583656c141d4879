//! Fused top-k with a per-row exclusion list: the top-k kernel of topk.rs (same GEMM tiles, threshold
//! scan and heap, so scores and the tie rule are the same), where query row i never takes the base rows
//! whose global indices appear in its list (a recommender's seen items). A flagged candidate is checked
//! against the list before the heap push by a per-row cursor that moves forward as the columns advance,
//! so the k best allowed items come out of one pass, with no over-fetch and no second round. A row whose
//! list leaves fewer than k candidates keeps -1 / -Infinity in its last slots.

use super::scratch::{self, Scratch};
use super::topk::{body, Avx2, Avx512, Level, Scalar, SelfSkip, Skip, TopkArgs};

/// The lists as CSR: row i's excluded global indices are idx[ptr[i]..ptr[i + 1]], ascending (duplicates
/// allowed). `ptr` has q_rows + 1 entries; they need not start at 0 (a tile passes a window of a larger
/// pointer array and the whole index array).
pub struct TopkExclArgs<'a> {
    pub tile: TopkArgs<'a>,
    pub excl_ptr: &'a [i32],
    pub excl_idx: &'a [i32],
}

/// Row cursors into the lists; `cur[i]` is the first entry of row i not yet passed.
struct ExclSkip<'a> {
    idx: &'a [i32],
    ptr: &'a [i32],
    cur: &'a mut [usize],
    own: SelfSkip,
}

impl Skip for ExclSkip<'_> {
    #[inline(always)]
    fn skip(&mut self, row: usize, g: i64) -> bool {
        if self.own.skip(row, g) {
            return true;
        }
        let end = self.ptr[row + 1] as usize;
        let mut c = self.cur[row];
        // A row is asked about increasing indices (base blocks ascend, columns ascend within one), so
        // entries below g are passed for good.
        while c < end && (self.idx[c] as i64) < g {
            c += 1;
        }
        self.cur[row] = c;
        c < end && self.idx[c] as i64 == g
    }
}

#[inline(always)]
unsafe fn run<L: Level>(a: TopkExclArgs<'_>) {
    let TopkExclArgs {
        tile,
        excl_ptr,
        excl_idx,
    } = a;
    let rows = tile.q_rows;
    let mut cur_buf = Scratch::take(&scratch::TOPK_CURSOR, rows);
    let cur = cur_buf.slice(rows);
    // Entries below this call's first base index can never match: start each cursor past them.
    for (i, c) in cur.iter_mut().enumerate() {
        let (b, e) = (excl_ptr[i] as usize, excl_ptr[i + 1] as usize);
        *c = b + excl_idx[b..e].partition_point(|&v| (v as i64) < tile.x_offset);
    }
    let mut skip = ExclSkip {
        idx: excl_idx,
        ptr: excl_ptr,
        cur,
        own: SelfSkip {
            on: tile.exclude_self,
            q_offset: tile.q_offset,
        },
    };
    unsafe { body::<L, _>(tile, &mut skip) }
}

pub fn topk_excl_tile_f32_scalar(a: TopkExclArgs<'_>) {
    // SAFETY: the scalar level runs on every CPU.
    unsafe { run::<Scalar>(a) }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub unsafe fn topk_excl_tile_f32_avx2(a: TopkExclArgs<'_>) {
    unsafe { run::<Avx2>(a) }
}

/// # Safety
/// The CPU must support AVX-512 F/VL/BW/DQ, AVX2 and FMA.
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")]
pub unsafe fn topk_excl_tile_f32_avx512(a: TopkExclArgs<'_>) {
    unsafe { run::<Avx512>(a) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::similarity::similarity_tile_f32_scalar;

    /// Sorted scores without the excluded columns, padded with -1 / -inf to k.
    fn naive(
        q: &[f32],
        nq: usize,
        x: &[f32],
        nx: usize,
        d: usize,
        k: usize,
        ex: &[Vec<i32>],
    ) -> Vec<(i32, f32)> {
        let mut s = vec![0.0f32; nq * nx];
        similarity_tile_f32_scalar(q, nq, x, nx, d, &mut s, nx);
        let mut out = Vec::new();
        for i in 0..nq {
            let mut v: Vec<(i32, f32)> = (0..nx as i32)
                .filter(|j| !ex[i].contains(j))
                .map(|j| (j, s[i * nx + j as usize]))
                .collect();
            v.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then(a.0.cmp(&b.0)));
            v.resize(k.max(v.len()), (-1, f32::NEG_INFINITY));
            v.truncate(k);
            out.extend(v);
        }
        out
    }

    #[test]
    fn split_calls_and_every_level_match_the_sorted_allowed_scores() {
        let d = 13;
        let (nq, nx) = (37, 700);
        // Few distinct values: many ties, so the index rule meets the exclusions.
        let q: Vec<f32> = (0..nq * d).map(|i| ((i * 7919) % 5) as f32 - 2.0).collect();
        let x: Vec<f32> = (0..nx * d)
            .map(|i| ((i * 104729) % 3) as f32 - 1.0)
            .collect();
        // Lists: empty, at block edges (255, 256, 511, 512), all but 3 items, dense and sparse strides.
        let ex: Vec<Vec<i32>> = (0..nq)
            .map(|i| match i % 5 {
                0 => vec![],
                1 => vec![0, 255, 256, 511, 512, 699],
                2 => (0..nx as i32).filter(|j| j % 233 != 1).collect(),
                3 => (0..nx as i32).step_by(2 + i).collect(),
                _ => (i as i32..nx as i32).step_by(7).collect(),
            })
            .collect();
        let mut ptr = vec![5i32];
        let mut idx = vec![-9i32; 5];
        for e in &ex {
            idx.extend(e);
            ptr.push(idx.len() as i32);
        }
        for &k in &[1usize, 4, 10, 64] {
            let want = naive(&q, nq, &x, nx, d, k, &ex);
            let levels: Vec<unsafe fn(TopkExclArgs<'_>)> = match crate::simd::detected() {
                crate::simd::Isa::Avx512 => vec![
                    topk_excl_tile_f32_scalar,
                    topk_excl_tile_f32_avx2,
                    topk_excl_tile_f32_avx512,
                ],
                crate::simd::Isa::Avx2 => vec![topk_excl_tile_f32_scalar, topk_excl_tile_f32_avx2],
                _ => vec![topk_excl_tile_f32_scalar],
            };
            for f in levels {
                // Base blocks in two calls, second first: cursors restart at each call's offset.
                let mut oi = vec![-1i32; nq * k];
                let mut os = vec![f32::NEG_INFINITY; nq * k];
                for (s0, s1) in [(300usize, nx), (0, 300)] {
                    let tile = TopkArgs {
                        q: &q,
                        q_rows: nq,
                        x: &x[s0 * d..s1 * d],
                        x_rows: s1 - s0,
                        cols: d,
                        k,
                        q_offset: 0,
                        x_offset: s0 as i64,
                        exclude_self: false,
                        scales: None,
                        out_idx: &mut oi,
                        out_scores: &mut os,
                    };
                    unsafe {
                        f(TopkExclArgs {
                            tile,
                            excl_ptr: &ptr,
                            excl_idx: &idx,
                        })
                    };
                }
                let got: Vec<(i32, f32)> = oi.iter().copied().zip(os.iter().copied()).collect();
                assert_eq!(got, want, "k={k}");
            }
        }
    }
}
