//! Helpers shared by the kernels' tests and ignored benches.

/// A seeded xorshift stream of f32 in [−1, 1).
pub fn rng(seed: u64) -> impl FnMut() -> f32 {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// A deterministic rows × cols matrix with values in [−1, 1) for the benches (a multiplicative hash).
pub fn bench_matrix(rows: usize, cols: usize) -> Vec<f32> {
    (0..rows * cols).map(|i| (((i * 2654435761) % 1000) as f32 / 500.0) - 1.0).collect()
}

/// The best of `reps` timings of `f`, in seconds, over 3,125-row blocks of `rows` (`f(r0, rb)` runs one).
pub fn best_over_blocks(reps: usize, rows: usize, mut f: impl FnMut(usize, usize)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..reps {
        let t = std::time::Instant::now();
        for r0 in (0..rows).step_by(3125) {
            f(r0, (rows - r0).min(3125));
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}
