import type { Command } from 'commander';
import { readNpyMatrix, writeNpy } from '../data/npy.js';
import { intOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';

interface Opts extends GlobalOptions {
  queries: string;
  base: string;
  k: number;
  metric: 'cosine' | 'dot';
  excludeSelf?: boolean;
  out: string;
}

export function registerTopk(program: Command): void {
  withEngineOptions(
    program
      .command('topk')
      .description('exact top-k neighbours of every query row among the base rows')
      .requiredOption('--queries <file>', 'query matrix (.npy)')
      .requiredOption('--base <file>', 'base matrix (.npy); may be the same file as --queries')
      .requiredOption('--k <k>', 'neighbours per query', intOption('--k'))
      .option('--metric <metric>', 'cosine or dot', 'cosine')
      .option('--exclude-self', 'skip base row i for query i (self-joins)')
      .requiredOption('--out <prefix>', 'writes PREFIX.indices.npy (int32) and PREFIX.scores.npy (float32)'),
  ).action(async (opts: Opts) => {
    const q = await readNpyMatrix(opts.queries);
    const x = opts.base === opts.queries ? q : await readNpyMatrix(opts.base);
    await withEngine(opts, async (e) => {
      const r = await e.topK(q, x, { k: opts.k, metric: opts.metric, excludeSelf: opts.excludeSelf === true });
      await writeNpy(`${opts.out}.indices.npy`, r.indices, [r.rows, r.k]);
      await writeNpy(`${opts.out}.scores.npy`, r.scores, [r.rows, r.k]);
      const note = r.k < r.requestedK ? ` (k clamped from ${r.requestedK} to the ${r.k} candidates available)` : '';
      process.stderr.write(`wrote ${opts.out}.indices.npy and ${opts.out}.scores.npy: ${r.rows} × ${r.k}${note}\n`);
    });
  });
}
