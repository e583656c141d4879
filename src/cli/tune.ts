/**
 * `quiver tune`: measures the top-k hot loop at a shape you choose for several tile sizes on this machine and
 * backend, and reports the fastest (set it with QUIVER_TILE_ROWS). Tile size never changes results, only speed.
 */
import type { Command } from 'commander';
import { parseBackendChoice } from '../backends/index.js';
import type { EngineInfo } from '../engine/engine.js';
import { createEngine } from '../quiver.js';
import { Rng } from '../data/random.js';
import { intOption, withEngineOptions, type GlobalOptions } from './common.js';

interface Opts extends GlobalOptions {
  queries: number;
  base: number;
  dims: number;
  k: number;
  runs: number;
}

function seeded(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.next() - 0.5;
  return out;
}

export function registerTune(program: Command): void {
  withEngineOptions(
    program
      .command('tune')
      .description('time top-k for several tile sizes on this machine and print the fastest (QUIVER_TILE_ROWS)')
      .option('--queries <n>', 'query rows', intOption('--queries'), 4000)
      .option('--base <n>', 'base rows', intOption('--base'), 50_000)
      .option('--dims <n>', 'columns', intOption('--dims'), 128)
      .option('--k <k>', 'neighbours', intOption('--k'), 10)
      .option('--runs <n>', 'timed runs per tile size (median)', intOption('--runs'), 3),
  ).action(async (opts: Opts) => {
    const q = { rows: opts.queries, cols: opts.dims, data: seeded(opts.queries * opts.dims, 1) };
    const x = { rows: opts.base, cols: opts.dims, data: seeded(opts.base * opts.dims, 2) };
    const backend = opts.backend === undefined ? undefined : parseBackendChoice(opts.backend);
    const results: { tileRows: number | 'auto'; seconds: number; gflops: number }[] = [];
    let info: EngineInfo | undefined;
    const flops = 2 * opts.queries * opts.base * opts.dims;
    for (const tileRows of ['auto', 32, 64, 128, 256, 512, 1024, 2048] as const) {
      if (tileRows !== 'auto' && tileRows > opts.queries) continue;
      const engine = await createEngine({ backend, threads: opts.threads, tileRows: tileRows === 'auto' ? undefined : tileRows });
      try {
        info ??= engine.info();
        await engine.topK(q, x, { k: opts.k }); // warm-up: starts the workers
        const times: number[] = [];
        for (let r = 0; r < opts.runs; r++) {
          const t0 = performance.now();
          await engine.topK(q, x, { k: opts.k });
          times.push((performance.now() - t0) / 1000);
        }
        times.sort((a, b) => a - b);
        const seconds = times[Math.floor(times.length / 2)]!;
        results.push({ tileRows, seconds, gflops: flops / seconds / 1e9 });
        process.stderr.write(`tileRows ${String(tileRows).padStart(4)}: ${(seconds * 1000).toFixed(1)} ms, ${(flops / seconds / 1e9).toFixed(1)} GFLOP/s\n`);
      } finally {
        await engine.close();
      }
    }
    const best = results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    process.stdout.write(`${JSON.stringify({ backend: info?.backend, simd: info?.simd, threads: info?.threads, shape: { queries: opts.queries, base: opts.base, dims: opts.dims, k: opts.k }, best: best.tileRows, results }, null, 2)}\n`);
    if (best.tileRows !== 'auto') process.stderr.write(`fastest: export QUIVER_TILE_ROWS=${best.tileRows}\n`);
    else process.stderr.write('fastest: the automatic tile size (leave QUIVER_TILE_ROWS unset)\n');
  });
}
