import type { Command } from 'commander';
import { readNpyMatrix, writeNpy } from '../data/npy.js';
import { withEngine, withEngineOptions, type GlobalOptions } from './common.js';

interface Opts extends GlobalOptions {
  a: string;
  b?: string;
  out: string;
  metric?: 'cosine' | 'dot';
}

export function registerSimilarity(program: Command): void {
  withEngineOptions(
    program
      .command('similarity')
      .description('all-pairs similarity of the rows of A (against B, or A itself), written as a float32 .npy matrix')
      .requiredOption('--a <file>', 'matrix A (.npy, float32 or float64, C order)')
      .option('--b <file>', 'matrix B (default: A)')
      .option('--metric <metric>', 'cosine or dot', 'cosine')
      .requiredOption('--out <file>', 'output .npy (rows of A × rows of B)'),
  ).action(async (opts: Opts) => {
    const a = await readNpyMatrix(opts.a);
    const b = opts.b ? await readNpyMatrix(opts.b) : undefined;
    await withEngine(opts, async (e) => {
      const s = await e.cosineSimilarity(a, b, { metric: opts.metric });
      await writeNpy(opts.out, s.data, [s.rows, s.cols]);
      process.stderr.write(`wrote ${opts.out}: ${s.rows} × ${s.cols}\n`);
    });
  });
}
