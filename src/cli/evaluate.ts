/**
 * `quiver evaluate`: per-user stratified random split, fit on the training part, recommend k unseen items, and
 * print one JSON object {precision, recall, ndcg, map, k, users} (definitions in src/models/evaluate.ts).
 */
import type { Command } from 'commander';
import { evaluateRecommender } from '../models/evaluate.js';
import { shortListsLine } from './recommend.js';
import { FitProgressLine, fitUnits, floatOption, intOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { type AlgoOptions, algoOptionsOf, type DataOptions, loadData, withAlgoOptions, withDataOptions } from './data-options.js';

interface Opts extends GlobalOptions, DataOptions, AlgoOptions {
  k: number;
  split: number;
  seed: number;
}

export function registerEvaluate(program: Command): void {
  const cmd = program.command('evaluate').description('offline evaluation: stratified split per user, precision/recall/nDCG/MAP at k as one JSON object');
  withDataOptions(cmd);
  withAlgoOptions(cmd);
  withEngineOptions(
    cmd
      .option('--k <k>', 'cut-off', intOption('--k'), 10)
      .option('--split <ratio>', 'training share of each user\'s interactions', floatOption('--split', 0), 0.75)
      .option('--seed <seed>', 'seed of the split', intOption('--seed', 0), 42),
  ).action(async (opts: Opts) => {
    const line = new FitProgressLine(`evaluate ${opts.algo}`, fitUnits(opts.algo));
    line.note(`reading ${opts.ratings ?? `synthetic ${opts.synthetic ?? ''}`}`);
    const { data, describe } = await loadData(opts).finally(() => line.done());
    await withEngine(opts, async (engine) => {
      line.note('split and fit: preparing');
      let r: Awaited<ReturnType<typeof evaluateRecommender>>;
      try {
        r = await evaluateRecommender(engine, data, { ...algoOptionsOf(opts), algo: opts.algo, k: opts.k, split: opts.split, seed: opts.seed, onProgress: line.update });
      } finally {
        line.done();
      }
      process.stdout.write(`${JSON.stringify({ precision: r.precision, recall: r.recall, ndcg: r.ndcg, map: r.map, k: r.k, users: r.users })}\n`);
      const info = engine.info();
      process.stderr.write(
        `evaluate: ${opts.algo} on ${describe}; split ${opts.split} seed ${opts.seed}; ${shortListsLine(r.usersWithout, r.usersBackfilled, (opts.backfill ?? 'none') !== 'none')}; fit ${r.fitSeconds.toFixed(2)} s, recommend ${r.recommendSeconds.toFixed(2)} s on ${info.backend} (${info.simd})\n`,
      );
    });
  });
}
