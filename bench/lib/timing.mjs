// Two timers, and the output always says which one produced a number:
// - `benchmarkJs`: benchmark.js (deferred, so async engine calls are awaited) for short repeated operations;
//   the reported time is the median of its samples (each sample is the mean of one timed cycle).
// - `hrtimeRuns`: a few whole runs timed with process.hrtime.bigint, median reported, for long single runs
//   (W2 takes seconds; benchmark.js would need minutes to collect its minimum sample count).
import Benchmark from 'benchmark';

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/**
 * Times `op` (returning a promise or a value) with benchmark.js. Returns seconds per call.
 * `budget` = { maxTime (s), minSamples }.
 */
export function benchmarkJs(name, op, budget) {
  return new Promise((resolve, reject) => {
    let failure = null;
    const bench = new Benchmark(name, {
      defer: true,
      maxTime: budget.maxTime,
      minSamples: budget.minSamples,
      // One warm-up cycle is part of benchmark.js's own calibration; no extra delay between cycles.
      delay: 0,
      fn(deferred) {
        Promise.resolve()
          .then(op)
          .then(
            () => deferred.resolve(),
            (e) => {
              failure ??= e;
              deferred.resolve();
            },
          );
      },
    });
    bench.on('complete', () => {
      if (failure) return reject(failure);
      if (bench.error) return reject(bench.error);
      const sample = bench.stats.sample;
      resolve({
        timer: 'benchmark.js',
        seconds: median(sample),
        samples: sample.length,
        mean: bench.stats.mean,
        rme: bench.stats.rme,
        runsPerSample: bench.count,
      });
    });
    bench.run({ async: true });
  });
}

/** Runs `op` `runs` times (after `warmup` untimed runs), each timed with hrtime; seconds = median. */
export async function hrtimeRuns(op, runs, warmup = 0) {
  for (let i = 0; i < warmup; i++) await op();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await op();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return { timer: `hrtime, median of ${runs} run${runs === 1 ? '' : 's'}${warmup ? ` after ${warmup} warm-up` : ''}`, seconds: median(times), times };
}

/**
 * One untimed call first (warm-up, and its result is returned for checks); then benchmark.js when that call
 * took under `longSeconds`, else `runs` hrtime runs. The result's `timer` says which.
 */
export async function timeAdaptive(name, op, { budget, longRuns }, longSeconds = 1) {
  const t0 = process.hrtime.bigint();
  const first = await op();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const timing = once < longSeconds ? await benchmarkJs(name, op, budget) : await hrtimeRuns(op, longRuns);
  if (timing.timer === 'benchmark.js') timing.timer = `benchmark.js, median of ${timing.samples} samples, ±${timing.rme.toFixed(1)}%`;
  else timing.timer += ' after 1 warm-up';
  return { timing, first };
}
