import type { Command } from 'commander';
import { TableEncoder } from '../data/table.js';
import { readNpyMatrix, writeNpy } from '../data/npy.js';
import { QuiverError } from '../errors.js';
import { isTable } from '../models/common.js';
import { checkOutputPath, readModelInput } from '../models/io.js';
import type { KMeansInit } from '../models/kmeans.js';
import type { Matrix } from '../types.js';
import { Progress, floatOption, intOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';

interface Opts extends GlobalOptions {
  input: string;
  k: number;
  init: string;
  nInit?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  out: string;
  labels?: string;
  delimiter?: string;
  columns?: string[];
  exclude?: string[];
  standardize?: boolean;
}

const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

export function registerKmeans(program: Command): void {
  withEngineOptions(
    program
      .command('kmeans')
      .description('customer segmentation: fit KMeans and save the model (centroids, and the table encoder for CSV input)')
      .requiredOption('--input <file>', 'rows to cluster: a .npy matrix, or a CSV table (text columns are one-hot encoded)')
      .requiredOption('--k <k>', 'number of clusters', intOption('--k'))
      .option('--init <how>', 'k-means++, random, or a .npy file of k × cols starting centroids', 'k-means++')
      .option('--n-init <n>', 'initialisations to try, keeping the lowest inertia (default 1 for k-means++, 10 for random)', intOption('--n-init'))
      .option('--max-iter <n>', 'Lloyd steps per run at most (default 300)', intOption('--max-iter'))
      .option('--tol <t>', 'tolerance on the centroid shift, relative to the mean column variance (default 1e-4)', floatOption('--tol', 0))
      .option('--seed <s>', 'seed for the initialisation (default 0)', intOption('--seed', 0))
      .requiredOption('--out <model.json>', 'model manifest to write (the arrays go beside it, model.bin)')
      .option('--labels <labels.npy>', 'also write the cluster of every input row (int32 .npy)')
      .option('--delimiter <d>', 'CSV delimiter (default: detected among , ; and tab)')
      .option('--columns <names>', 'CSV: use only these comma-separated columns', list)
      .option('--exclude <names>', 'CSV: leave out these comma-separated columns (ids, free text)', list)
      .option('--standardize', 'CSV: standardise every column (saved with the model)'),
  ).action(async (opts: Opts) => {
    checkOutputPath(opts.out, '--out', ['.json']);
    if (opts.labels) checkOutputPath(opts.labels, '--labels', ['.npy']);
    const input = await readModelInput(opts.input, { delimiter: opts.delimiter });
    let encoder: TableEncoder | null = null;
    let x: Matrix;
    if (isTable(input)) {
      encoder = TableEncoder.fit(input, { columns: opts.columns, exclude: opts.exclude, standardize: opts.standardize === true });
      x = encoder.encode(input);
    } else {
      if (opts.columns || opts.exclude || opts.standardize) {
        throw new QuiverError('INVALID_ARGUMENT', '--columns, --exclude and --standardize apply to CSV input; a .npy input is used as it is');
      }
      x = input;
    }
    let init: KMeansInit;
    if (opts.init === 'k-means++' || opts.init === 'random') init = opts.init;
    else if (opts.init.toLowerCase().endsWith('.npy')) init = await readNpyMatrix(opts.init);
    else throw new QuiverError('INVALID_ARGUMENT', `--init must be k-means++, random or a .npy file of centroids (got "${opts.init}")`);
    await withEngine(opts, async (e) => {
      const progress = new Progress('kmeans', undefined, 'steps');
      let steps = 0;
      const model = await e.kmeans(x, {
        k: opts.k,
        init,
        nInit: opts.nInit,
        maxIter: opts.maxIter,
        tol: opts.tol,
        seed: opts.seed,
        encoder,
        onIteration: (s) => progress.update(++steps, `run ${s.run + 1}, step ${s.iteration}, inertia ${s.inertia.toPrecision(6)}`),
      });
      progress.done();
      await model.save(opts.out);
      if (opts.labels) await writeNpy(opts.labels, model.labels!, [model.labels!.length]);
      const sizes = new Array<number>(model.k).fill(0);
      for (const l of model.labels!) sizes[l]!++;
      const summary = {
        model: opts.out,
        rows: x.rows,
        columns: encoder?.features ?? x.cols,
        k: model.k,
        inertia: model.inertia,
        nIter: model.nIter,
        converged: model.converged,
        clusterSizes: sizes,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    });
  });
}
