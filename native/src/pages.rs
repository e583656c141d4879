//! Engine memory helpers that are not kernels: transparent huge pages for fresh large buffers, and the copy
//! that stages a caller's plain (non-shared) matrix into engine memory, fused with the finite-value check.
//!
//! Why huge pages: a fresh buffer is faulted in one page at a time on first write. With 4 KiB pages a 64 MiB
//! result costs about 16,000 faults (~26 ms on the Zen 4 machine of issue 14); with 2 MiB pages, 32 faults
//! and ~6 ms. Linux distributions commonly run THP in `madvise` mode, where only ranges advised with
//! MADV_HUGEPAGE get them, so the engine advises its own large buffers before touching them.

/// Huge page size the advice is aligned to (x86-64 and aarch64 with 4 KiB base pages).
pub const HUGE_PAGE: usize = 2 << 20;

/// The 2 MiB-aligned interior `[start, end)` of `len` bytes at `addr`, or None when it holds no whole huge page.
pub fn aligned_interior(addr: usize, len: usize) -> Option<(usize, usize)> {
    let start = addr.checked_add(HUGE_PAGE - 1)? & !(HUGE_PAGE - 1);
    let end = addr.checked_add(len)? & !(HUGE_PAGE - 1);
    (end > start).then_some((start, end))
}

/// Advises MADV_HUGEPAGE on the whole huge pages inside `len` bytes at `ptr`; true when the kernel accepted
/// it. The head and tail (not whole huge pages) keep base pages: advising them would cover memory outside
/// the buffer. Pages already faulted in stay as they are (khugepaged may merge them later), so the advice
/// pays off only before the buffer is first written. No-op (false) on other systems.
pub fn advise_hugepages(ptr: *const u8, len: usize) -> bool {
    let Some((start, end)) = aligned_interior(ptr as usize, len) else { return false };
    advise(start, end - start)
}

#[cfg(target_os = "linux")]
fn advise(start: usize, len: usize) -> bool {
    // SAFETY: madvise only changes how the kernel backs the range (page size); the range lies inside the
    // caller's buffer, so no other mapping is affected and no memory contents change.
    unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn advise(_start: usize, _len: usize) -> bool {
    false
}

/// IEEE-754 f32 NaN and ±Infinity have an all-ones exponent.
const EXP: u32 = 0x7f80_0000;

fn finite(v: f32) -> bool {
    v.to_bits() & EXP != EXP
}

/// Copies `src` into `dst` (the same length) and, with `check`, returns the index of the first NaN or
/// ±Infinity of `src` (the copy then stops there: the caller refuses the input, so the rest is never read).
/// `threads` > 1 splits the copy into that many contiguous parts, the first on the calling thread: one core
/// alone does not saturate memory bandwidth on a copy. `stream` writes with non-temporal stores, which skip
/// reading the destination into cache first (a third of the traffic of a large copy) but leave it in memory
/// rather than cache: for copies larger than the last-level cache only.
pub fn copy_checked(src: &[f32], dst: &mut [f32], check: bool, threads: usize, stream: bool) -> Option<usize> {
    assert_eq!(src.len(), dst.len(), "copy_checked: lengths differ");
    let n = src.len();
    let threads = threads.clamp(1, 16);
    // Parts of whole 64-byte lines, so no two threads write the same cache line.
    let part = n.div_ceil(threads).div_ceil(16) * 16;
    if threads == 1 || part >= n {
        return copy_part(src, dst, check, stream);
    }
    let mut found: Vec<Option<usize>> = Vec::new();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut parts = src.chunks(part).zip(dst.chunks_mut(part)).enumerate();
        let (_, (s0, d0)) = parts.next().expect("n > part, so at least two parts");
        for (i, (s, d)) in parts {
            handles.push(scope.spawn(move || copy_part(s, d, check, stream).map(|j| i * part + j)));
        }
        found.push(copy_part(s0, d0, check, stream));
        for h in handles {
            found.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
    });
    // Parts are in order: the first part with a bad value holds the first bad value.
    found.into_iter().flatten().next()
}

/// The index of the first NaN or ±Infinity of `src`, if any, read on `threads` threads (contiguous parts, the
/// first on the calling thread): the check of a caller's array that the workers read in place (borrowed), where
/// no copy carries it.
pub fn first_non_finite(src: &[f32], threads: usize) -> Option<usize> {
    let n = src.len();
    let threads = threads.clamp(1, 16);
    let part = n.div_ceil(threads).div_ceil(16) * 16;
    if threads == 1 || part >= n {
        return scan_part(src);
    }
    let mut found: Vec<Option<usize>> = Vec::new();
    std::thread::scope(|scope| {
        let mut parts = src.chunks(part).enumerate();
        let (_, s0) = parts.next().expect("n > part, so at least two parts");
        let handles: Vec<_> = parts.map(|(i, s)| scope.spawn(move || scan_part(s).map(|j| i * part + j))).collect();
        found.push(scan_part(s0));
        for h in handles {
            found.push(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
    });
    // Parts are in order: the first part with a bad value holds the first bad value.
    found.into_iter().flatten().next()
}

/// One thread's part of `first_non_finite`: the same block fold as the copy's check.
fn scan_part(src: &[f32]) -> Option<usize> {
    const BLOCK: usize = 4096;
    for (b, s) in src.chunks(BLOCK).enumerate() {
        if s.iter().fold(false, |bad, &v| bad | !finite(v)) {
            return s.iter().position(|&v| !finite(v)).map(|j| b * BLOCK + j);
        }
    }
    None
}

/// One thread's part of `copy_checked`.
fn copy_part(src: &[f32], dst: &mut [f32], check: bool, stream: bool) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if stream {
        // SAFETY: SSE2 is part of the x86-64 baseline, so this runs on every x86-64 CPU.
        return unsafe { copy_stream_sse2(src, dst, check) };
    }
    let _ = stream;
    // Blocks small enough to stay in L1 between the copy and the check.
    const BLOCK: usize = 4096;
    for (b, (s, d)) in src.chunks(BLOCK).zip(dst.chunks_mut(BLOCK)).enumerate() {
        // A fold without an early exit vectorises; the position is looked for only in a block that has one.
        if check && s.iter().fold(false, |bad, &v| bad | !finite(v)) {
            return s.iter().position(|&v| !finite(v)).map(|j| b * BLOCK + j);
        }
        d.copy_from_slice(s);
    }
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
unsafe fn copy_stream_sse2(src: &[f32], dst: &mut [f32], check: bool) -> Option<usize> {
    use std::arch::x86_64::*;
    let n = src.len();
    // Scalar head up to a 16-byte aligned destination (streaming stores need it).
    let head = (dst.as_ptr().align_offset(16)).min(n);
    for i in 0..head {
        if check && !finite(src[i]) {
            return Some(i);
        }
        dst[i] = src[i];
    }
    let exp = _mm_set1_epi32(EXP as i32);
    let sp = src.as_ptr();
    let dp = dst.as_mut_ptr();
    let mut i = head;
    while i + 16 <= n {
        // SAFETY: i + 16 ≤ n for both slices; dp + i is 16-byte aligned (head above, steps of 64 bytes).
        let (a, b, c, d) = (_mm_loadu_ps(sp.add(i)), _mm_loadu_ps(sp.add(i + 4)), _mm_loadu_ps(sp.add(i + 8)), _mm_loadu_ps(sp.add(i + 12)));
        if check {
            let e = |v: __m128| _mm_cmpeq_epi32(_mm_and_si128(_mm_castps_si128(v), exp), exp);
            let bad = _mm_or_si128(_mm_or_si128(e(a), e(b)), _mm_or_si128(e(c), e(d)));
            if _mm_movemask_epi8(bad) != 0 {
                _mm_sfence();
                return (i..i + 16).find(|&j| !finite(src[j]));
            }
        }
        _mm_stream_ps(dp.add(i), a);
        _mm_stream_ps(dp.add(i + 4), b);
        _mm_stream_ps(dp.add(i + 8), c);
        _mm_stream_ps(dp.add(i + 12), d);
        i += 16;
    }
    // Streaming stores are weakly ordered: fence them before another thread may read the destination.
    _mm_sfence();
    for j in i..n {
        if check && !finite(src[j]) {
            return Some(j);
        }
        dst[j] = src[j];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interior_holds_whole_huge_pages_only() {
        assert_eq!(aligned_interior(0, HUGE_PAGE), Some((0, HUGE_PAGE)));
        assert_eq!(aligned_interior(16, HUGE_PAGE), None);
        assert_eq!(aligned_interior(16, 3 * HUGE_PAGE), Some((HUGE_PAGE, 3 * HUGE_PAGE)));
        assert_eq!(aligned_interior(HUGE_PAGE - 1, HUGE_PAGE + 1), Some((HUGE_PAGE, 2 * HUGE_PAGE)));
        assert_eq!(aligned_interior(usize::MAX - 8, 64), None);
        assert!(!advise_hugepages([0u8; 64].as_ptr(), 64));
    }

    #[test]
    fn copies_every_value_and_finds_the_first_non_finite_one() {
        for n in [0, 1, 3, 15, 16, 17, 100, 4097, 10_000] {
            let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 3.0).collect();
            for (threads, stream) in [(1, false), (1, true), (2, false), (2, true), (3, true)] {
                // An offset destination exercises the unaligned head.
                let mut buf = vec![-1.0_f32; n + 1];
                assert_eq!(copy_checked(&src, &mut buf[1..], true, threads, stream), None);
                assert_eq!(&buf[1..], &src[..], "n {n}, threads {threads}, stream {stream}");
                for bad in [0, n / 2, n.saturating_sub(1)].into_iter().filter(|&b| b < n) {
                    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        let mut s = src.clone();
                        s[bad] = v;
                        if bad + 1 < n {
                            s[n - 1] = f32::NAN;
                        }
                        let mut d = vec![0.0_f32; n];
                        assert_eq!(copy_checked(&s, &mut d, true, threads, stream), Some(bad));
                        // Unchecked, non-finite values are copied like any other.
                        assert_eq!(copy_checked(&s, &mut d, false, threads, stream), None);
                        assert!(d.iter().zip(&s).all(|(a, b)| a.to_bits() == b.to_bits()));
                    }
                }
            }
        }
    }

    #[test]
    fn the_scan_finds_the_first_non_finite_value_on_any_number_of_threads() {
        for n in [0_usize, 1, 15, 16, 17, 4096, 4097, 10_000, 70_001] {
            let src: Vec<f32> = (0..n).map(|i| i as f32 * 0.25 - 7.0).collect();
            for threads in [1, 2, 3, 16] {
                assert_eq!(first_non_finite(&src, threads), None, "n {n}, threads {threads}");
                // The first bad value wins even when a later part (another thread's) also has one.
                for bad in [0, n / 3, n / 2, n.saturating_sub(1)].into_iter().filter(|&b| b < n) {
                    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        let mut s = src.clone();
                        s[bad] = v;
                        if bad + 1 < n {
                            s[n - 1] = f32::INFINITY;
                        }
                        assert_eq!(first_non_finite(&s, threads), Some(bad), "n {n}, threads {threads}, bad {bad}");
                    }
                }
            }
        }
    }
}
