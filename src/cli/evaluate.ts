/**
 * `quiver evaluate`: split (per user at random, per item as Microsoft Recommenders' benchmark does, or per user by
 * time), fit on the training part, recommend k unseen items, and print one JSON object {precision, recall, ndcg,
 * map, k, users, …} (definitions in src/models/metrics.ts). With `--grid`, every combination of the given
 * hyper-parameters on one split, as a table sorted by `--sort-by` (or JSON with `--json`), with a progress line
 * on a TTY.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { QuiverError } from '../errors.js';
import { evaluateRecommender } from '../models/evaluate.js';
import { evaluateGrid, GRID_METRICS, parseGrid, type GridMetric, type GridResult, type GridValue } from '../models/grid.js';
import { METRICS_AS, type MetricsAs } from '../models/metrics.js';
import { SPLIT_BY, type SplitBy } from '../models/split.js';
import { FitProgressLine, fitUnits, floatOption, intOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { shortListsLine } from './recommend.js';
import { type AlgoOptions, algoOptionsOf, type DataOptions, loadData, withAlgoOptions, withDataOptions } from './data-options.js';

interface Opts extends GlobalOptions, DataOptions, AlgoOptions {
  k: number;
  split: number;
  splitBy: SplitBy;
  seed: number;
  metricsAs: MetricsAs;
  grid?: string;
  gridFile?: string;
  sortBy: GridMetric;
  json?: boolean;
}

function paramsText(p: Record<string, GridValue>): string {
  return Object.entries(p)
    .map(([n, v]) => `${n}=${String(v)}`)
    .join(' ');
}

/** The grid as an aligned text table, best first. */
export function gridTable(r: GridResult): string {
  const names = r.rows.length > 0 ? Object.keys(r.rows[0]!.params) : [];
  const head = [...names, 'precision', 'recall', 'ndcg', 'map', 'fit s'];
  const body = r.rows.map((row) => [
    ...names.map((n) => String(row.params[n])),
    ...(['precision', 'recall', 'ndcg', 'map'] as const).map((m) => row[m].toFixed(4)),
    row.fitSeconds.toFixed(2),
  ]);
  const width = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < names.length ? c.padEnd(width[i]!) : c.padStart(width[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line), `(sorted by ${r.sortBy}, best first)`].join('\n');
}

/** A self-rewriting progress line on a TTY: combination i of N, the parameters, and an ETA from the mean fit so far. */
function gridProgress(): (i: number, total: number, params: Record<string, GridValue>) => void {
  const tty = process.stderr.isTTY === true;
  const start = Date.now();
  return (i, total, params) => {
    if (!tty) return;
    if (i > total) {
      process.stderr.write('\r\x1b[2K');
      return;
    }
    const done = i - 1;
    const eta = done > 0 ? `, ETA ${(((Date.now() - start) / done) * (total - done) / 1000).toFixed(0)} s` : '';
    process.stderr.write(`\r\x1b[2Kgrid: combination ${i} of ${total} (${paramsText(params)})${eta}`);
  };
}

export function registerEvaluate(program: Command): void {
  const cmd = program.command('evaluate').description('offline evaluation: split, fit, recommend k unseen items, and score precision/recall/nDCG/MAP at k (one JSON object, or a grid table)');
  withDataOptions(cmd);
  withAlgoOptions(cmd);
  withEngineOptions(
    cmd
      .option('--k <k>', 'cut-off', intOption('--k'), 10)
      .option('--split <ratio>', 'training share, strictly between 0 and 1', floatOption('--split', 0), 0.75)
      .addOption(
        new Option('--split-by <protocol>', 'user: each user\'s interactions at random; item: each item\'s (Microsoft Recommenders\' benchmark split); time: each user\'s latest interactions test (needs timestamps)')
          .choices(SPLIT_BY)
          .default('user'),
      )
      .option('--seed <seed>', 'seed of the split', intOption('--seed', 0), 42)
      .addOption(new Option('--metrics-as <whose>', 'quiver: MAP over min(k, |T|); recommenders: Microsoft Recommenders\' MAP over |T|').choices(METRICS_AS).default('quiver'))
      .option('--grid <spec>', 'evaluate every combination on one split: name=v1,v2;name2=v3 or JSON {"name":[v1,v2]}')
      .option('--grid-file <file>', 'the grid as a JSON file')
      .addOption(new Option('--sort-by <metric>', 'grid: the metric rows are sorted by, best first').choices(GRID_METRICS).default('ndcg'))
      .option('--json', 'grid: print JSON instead of the table'),
  ).action(async (opts: Opts) => {
    if (opts.grid !== undefined && opts.gridFile !== undefined) throw new QuiverError('INVALID_ARGUMENT', 'give the grid once: --grid or --grid-file');
    let grid = opts.grid;
    if (opts.gridFile !== undefined) {
      try {
        grid = await readFile(opts.gridFile, 'utf8');
      } catch (err) {
        throw new QuiverError('NOT_FOUND', `cannot read --grid-file ${opts.gridFile}: ${(err as Error).message}`);
      }
    }
    // A bad grid stops before the data is read.
    if (grid !== undefined) parseGrid(opts.algo, grid);
    const line = new FitProgressLine(`evaluate ${opts.algo}`, fitUnits(opts.algo));
    if (grid === undefined) line.note(`reading ${opts.ratings ?? `synthetic ${opts.synthetic ?? ''}`}`);
    const { data, describe } = await loadData(opts).finally(() => line.done());
    const protocol = { k: opts.k, split: opts.split, splitBy: opts.splitBy, seed: opts.seed, metricsAs: opts.metricsAs };
    await withEngine(opts, async (engine) => {
      const info = engine.info();
      if (grid !== undefined) {
        const r = await evaluateGrid(engine, data, { ...algoOptionsOf(opts), ...protocol, algo: opts.algo, grid, sortBy: opts.sortBy, onCombination: gridProgress() });
        process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${gridTable(r)}\n`);
        process.stderr.write(`evaluate --grid: ${opts.algo}, ${r.rows.length} combinations on ${describe}; split-by ${opts.splitBy} ${opts.split} seed ${opts.seed}, k ${opts.k}, on ${info.backend} (${info.simd})\n`);
        return;
      }
      line.note('split and fit: preparing');
      let r: Awaited<ReturnType<typeof evaluateRecommender>>;
      try {
        r = await evaluateRecommender(engine, data, { ...algoOptionsOf(opts), ...protocol, algo: opts.algo, onProgress: line.update });
      } finally {
        line.done();
      }
      const out: Record<string, unknown> = { precision: r.precision, recall: r.recall, ndcg: r.ndcg, map: r.map, k: r.k, users: r.users };
      if (r.usersWithoutRecommendations > 0) out['usersWithoutRecommendations'] = r.usersWithoutRecommendations;
      if (opts.splitBy !== 'user') out['splitBy'] = opts.splitBy;
      if (opts.metricsAs !== 'quiver') out['metricsAs'] = opts.metricsAs;
      if (r.warnings.length > 0) out['warnings'] = r.warnings;
      process.stdout.write(`${JSON.stringify(out)}\n`);
      process.stderr.write(
        `evaluate: ${opts.algo} on ${describe}; split-by ${opts.splitBy} ${opts.split} seed ${opts.seed}; ${shortListsLine(r.usersWithout, r.usersBackfilled, (opts.backfill ?? 'none') !== 'none')}; fit ${r.fitSeconds.toFixed(2)} s, recommend ${r.recommendSeconds.toFixed(2)} s on ${info.backend} (${info.simd})\n`,
      );
    });
  });
}
