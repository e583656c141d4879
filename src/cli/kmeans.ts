import { type Command, InvalidArgumentError } from 'commander';
import { TableEncoder } from '../data/table.js';
import { readNpyMatrix, writeNpy } from '../data/npy.js';
import { QuiverError } from '../errors.js';
import { isTable } from '../models/common.js';
import { checkOutputPath, readModelInput } from '../models/io.js';
import type { KMeansInit } from '../models/kmeans.js';
import { chooseK, pickK } from '../models/kmeans-choose.js';
import type { Matrix } from '../types.js';
import { Progress, floatOption, intOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { delimiterOption } from './data-options.js';
import {
  type ColumnCliOptions,
  columnEncoderOptions,
  hasColumnOptions,
  matrixMeasure,
  printValidation,
  runValidation,
  tableMeasure,
  type ValidationCliOptions,
  withColumnOptions,
  withValidationOptions,
} from './model-options.js';

interface Opts extends GlobalOptions, ValidationCliOptions, ColumnCliOptions {
  input: string;
  k?: number | number[];
  chooseK?: boolean;
  sampleSize?: number;
  init: string;
  nInit?: number;
  maxIter?: number;
  tol?: number;
  seed?: number;
  out?: string;
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

/** --k: N, A..B or a,b,c. */
function kSpec(v: string): number | number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(v);
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (a < 1 || b <= a) throw new InvalidArgumentError(`--k ${v}: a range needs 1 ≤ A < B, e.g. 2..10`);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  }
  const parts = v.split(',').map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new InvalidArgumentError(`--k must be a whole number ≥ 1, a range A..B or a list a,b,c (got "${v}")`);
  return parts.length === 1 ? parts[0]! : [...new Set(parts)].sort((a, b) => a - b);
}

async function readClusterInput(opts: Opts) {
  const input = await readModelInput(opts.input, { delimiter: opts.delimiter });
  let encoder: TableEncoder | null = null;
  let x: Matrix;
  const encoderOptions = { columns: opts.columns, exclude: opts.exclude, standardize: opts.standardize === true, ...columnEncoderOptions(opts) };
  if (isTable(input)) {
    encoder = TableEncoder.fit(input, encoderOptions);
    x = encoder.encode(input);
  } else {
    if (opts.columns || opts.exclude || opts.standardize || hasColumnOptions(opts)) {
      throw new QuiverError('INVALID_ARGUMENT', '--columns, --exclude, --standardize, --impute, --categorical and --drop-level apply to CSV input; a .npy input is used as it is');
    }
    x = input;
  }
  return { input, encoder, encoderOptions, x };
}

/** --k A..B / --choose-k: inertia and silhouette per k, a table on stdout and one JSON line last. */
async function runChooseK(opts: Opts, ks: number[]): Promise<void> {
  if (opts.out !== undefined || opts.labels !== undefined || opts.holdout !== undefined || opts.cv !== undefined) {
    throw new QuiverError('INVALID_ARGUMENT', 'choosing k fits one model per k and saves none: drop --out, --labels, --holdout and --cv, then fit the chosen k with --k N --out model.json');
  }
  if (opts.init !== 'k-means++' && opts.init !== 'random') throw new QuiverError('INVALID_ARGUMENT', 'choosing k needs --init k-means++ or random (given centroids fix k)');
  const { x } = await readClusterInput(opts);
  const tooMany = ks.filter((k) => k >= x.rows);
  if (tooMany.length > 0) throw new QuiverError('INVALID_ARGUMENT', `k must be below the ${x.rows} rows for a silhouette; drop ${tooMany.join(', ')} from --k`);
  await withEngine(opts, async (e) => {
    const progress = new Progress('choose-k', ks.length, 'k');
    let done = 0;
    const rows = await chooseK(e, x, {
      ks,
      init: opts.init as 'k-means++' | 'random',
      nInit: opts.nInit,
      maxIter: opts.maxIter,
      tol: opts.tol,
      seed: opts.seed,
      sampleSize: opts.sampleSize,
      onK: () => progress.update(++done),
    });
    progress.done();
    const pick = pickK(rows);
    const lines = rows.map((r) => {
      const marks = [r.k === pick.elbow ? 'elbow' : '', r.k === pick.bestSilhouette ? 'best silhouette' : ''].filter((m) => m).join(', ');
      return `${String(r.k).padStart(4)} ${r.inertia.toPrecision(8).padStart(16)} ${(r.silhouette === null ? '-' : r.silhouette.toFixed(4)).padStart(10)}  ${marks}`;
    });
    process.stdout.write(`   k          inertia silhouette\n${lines.join('\n')}\nelbow: ${pick.elbowRule}\n`);
    process.stdout.write(`${JSON.stringify({ chooseK: rows, ...pick })}\n`);
  });
}

export function registerKmeans(program: Command): void {
  const cmd = withEngineOptions(
    program
      .command('kmeans')
      .description('customer segmentation: fit KMeans and save the model (centroids, and the table encoder for CSV input)')
      .requiredOption('--input <file>', 'rows to cluster: a .npy matrix, or a CSV table (text columns are one-hot encoded)')
      .option('--k <k>', 'number of clusters, or a range A..B (or a list a,b,c) to compare with inertia and silhouette', kSpec)
      .option('--choose-k', 'compare k = 2..10 (or the --k range): inertia and silhouette per k, the elbow and the best silhouette; saves no model')
      .option('--sample-size <n>', 'choosing k: silhouettes on a seeded sample of this many rows (default 4000)', intOption('--sample-size', 2))
      .option('--init <how>', 'k-means++, random, or a .npy file of k × cols starting centroids', 'k-means++')
      .option('--n-init <n>', 'initialisations to try, keeping the lowest inertia (default 1 for k-means++, 10 for random)', intOption('--n-init'))
      .option('--max-iter <n>', 'Lloyd steps per run at most (default 300)', intOption('--max-iter'))
      .option('--tol <t>', 'tolerance on the centroid shift, relative to the mean column variance (default 1e-4)', floatOption('--tol', 0))
      .option('--seed <s>', 'seed for the initialisation (default 0)', intOption('--seed', 0))
      .option('--out <model.json>', 'model manifest to write (the arrays go beside it, model.bin); required unless choosing k')
      .option('--labels <labels.npy>', 'also write the cluster of every input row (int32 .npy)')
      .addOption(delimiterOption('CSV delimiter (default: detected among , ; and tab)'))
      .option('--columns <names>', 'CSV: use only these comma-separated columns', list)
      .option('--exclude <names>', 'CSV: leave out these comma-separated columns (ids, free text)', list)
      .option('--standardize', 'CSV: standardise every column (saved with the model)'),
  );
  withValidationOptions(withColumnOptions(cmd), { seed: false, threshold: false }).action(async (opts: Opts) => {
    const ks = Array.isArray(opts.k) ? opts.k : opts.chooseK && opts.k === undefined ? [2, 3, 4, 5, 6, 7, 8, 9, 10] : null;
    if (ks) {
      await runChooseK(opts, ks);
      return;
    }
    if (opts.k === undefined) throw new QuiverError('INVALID_ARGUMENT', 'give --k N to fit, or --k A..B / --choose-k to compare values of k');
    if (opts.chooseK) throw new QuiverError('INVALID_ARGUMENT', `--choose-k compares several k; give a range such as --k 2..${opts.k} (or drop --choose-k to fit k = ${opts.k})`);
    const k = opts.k as number; // an array took the choose-k branch above
    if (opts.out === undefined) throw new QuiverError('INVALID_ARGUMENT', 'give --out model.json: where to save the fitted model');
    const out = opts.out;
    checkOutputPath(out, '--out', ['.json']);
    if (opts.labels) checkOutputPath(opts.labels, '--labels', ['.npy']);
    const { input, encoder, encoderOptions, x } = await readClusterInput(opts);
    let init: KMeansInit;
    if (opts.init === 'k-means++' || opts.init === 'random') init = opts.init;
    else if (opts.init.toLowerCase().endsWith('.npy')) init = await readNpyMatrix(opts.init);
    else throw new QuiverError('INVALID_ARGUMENT', `--init must be k-means++, random or a .npy file of centroids (got "${opts.init}")`);
    await withEngine(opts, async (e) => {
      const fitOnly = (xx: Matrix, enc: TableEncoder | null) =>
        e.kmeans(xx, { k, init, nInit: opts.nInit, maxIter: opts.maxIter, tol: opts.tol, seed: opts.seed, encoder: enc });
      const measure = isTable(input)
        ? tableMeasure(input, encoderOptions, (xx, _y, enc) => fitOnly(xx, enc), { seed: opts.seed })
        : matrixMeasure(x, (xx) => fitOnly(xx, null), { seed: opts.seed });
      const validation = await runValidation(opts, x.rows, null, false, measure);
      const progress = new Progress('kmeans', undefined, 'steps');
      let steps = 0;
      const model = await e.kmeans(x, {
        k,
        init,
        nInit: opts.nInit,
        maxIter: opts.maxIter,
        tol: opts.tol,
        seed: opts.seed,
        encoder,
        onIteration: (s) => progress.update(++steps, `run ${s.run + 1}, step ${s.iteration}, inertia ${s.inertia.toPrecision(6)}`),
      });
      progress.done();
      await model.save(out);
      if (opts.labels) await writeNpy(opts.labels, model.labels!, [model.labels!.length]);
      const sizes = new Array<number>(model.k).fill(0);
      for (const l of model.labels!) sizes[l]!++;
      const summary = {
        model: out,
        rows: x.rows,
        columns: encoder?.features ?? x.cols,
        k: model.k,
        inertia: model.inertia,
        nIter: model.nIter,
        converged: model.converged,
        clusterSizes: sizes,
      };
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      printValidation(validation);
    });
  });
}
