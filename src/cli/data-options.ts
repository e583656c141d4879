/**
 * Options shared by `quiver recommend` and `quiver evaluate`: where the interactions come from (a ratings file
 * or the synthetic generator), how to read them, and the algorithm's hyper-parameters; and `--delimiter`,
 * which every command that reads delimited text (tables or ratings) takes from here.
 */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DELIMITER_CHOICES, delimiterFromName } from '../data/delimited.js';
import { type Interactions, readRatings, type RatingsOptions } from '../data/ratings.js';
import { parseSyntheticSpec, SyntheticInteractions } from '../data/synthetic.js';
import { QuiverError } from '../errors.js';
import type { BackfillMode } from '../models/backfill.js';
import type { KnnSimilarity, KnnWeighting } from '../models/knn.js';
import type { RecommenderKind } from '../models/recommender.js';
import { RECOMMENDER_KINDS, type RecommenderOptions } from '../models/recommenders.js';
import { floatOption, intOption } from './common.js';

export interface DataOptions {
  ratings?: string;
  synthetic?: string;
  format?: 'movielens' | 'csv';
  userCol?: string;
  itemCol?: string;
  ratingCol?: string;
  timestampCol?: string;
  delimiter?: string;
  implicit?: boolean | string;
  minRating?: number;
  duplicates?: 'sum' | 'last' | 'reject';
}

export interface AlgoOptions {
  algo: RecommenderKind;
  neighbors?: number;
  similarity?: KnnSimilarity;
  shrink?: number;
  normalizeSimilarity?: boolean;
  weighting?: KnnWeighting;
  bm25K1?: number;
  bm25B?: number;
  lambda?: number;
  memoryBudget?: number;
  backfill?: BackfillMode;
  factors?: number;
  iterations?: number;
  regularization?: number;
  alpha?: number;
  minItemSupport?: number;
  easePrecision?: 'f64' | 'f32';
}

/** Bytes from "512M", "2G", "1073741824". */
function bytesOption(name: string) {
  return (v: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]i?[bB]?|[bB])?\s*$/.exec(v);
    if (!m) throw new InvalidArgumentError(`${name} must be a size such as 512M or 2G (got "${v}")`);
    const unit = (m[2] ?? '').toLowerCase()[0];
    const mult = unit === 'k' ? 2 ** 10 : unit === 'm' ? 2 ** 20 : unit === 'g' ? 2 ** 30 : 1;
    return Math.round(Number(m[1]) * mult);
  };
}

/**
 * `--delimiter <d>`, parsed the same way on every command: one character or a name (tab, comma, …); anything
 * else stops the command with INVALID_ARGUMENT naming the flag and the accepted values.
 */
export function delimiterOption(description: string): Option {
  return new Option('--delimiter <d>', `${description}: ${DELIMITER_CHOICES}`).argParser((v: string) => delimiterFromName(v, '--delimiter'));
}

export function withDataOptions(cmd: Command, synthetic = true): Command {
  cmd
    .option('--ratings <file>', 'ratings or interactions file (MovieLens u.data, ratings.csv, ratings.dat, or a delimited file with a header)')
    .addOption(new Option('--format <format>', 'file layout (default: detected)').choices(['movielens', 'csv']))
    .option('--user-col <name>', 'delimited files: the user id column')
    .option('--item-col <name>', 'delimited files: the item id column')
    .option('--rating-col <name>', 'delimited files: the rating column')
    .option('--timestamp-col <name>', 'delimited files: the timestamp column (numbers or ISO dates), for --split-by time')
    .addOption(delimiterOption('delimited files: the field delimiter (default: detected among , ; and tab)'))
    .option('--implicit [mode]', 'implicit feedback: binary (every interaction counts 1, the default mode) or counts')
    .option('--min-rating <r>', 'keep only ratings ≥ r', floatOption('--min-rating'))
    .addOption(new Option('--duplicates <policy>', 'a repeated (user, item) pair: sum, last (default for ratings) or reject').choices(['sum', 'last', 'reject']));
  if (synthetic) cmd.option('--synthetic <spec>', 'instead of --ratings: seeded synthetic interactions USERSxITEMSxINTERACTIONS[:seed], e.g. 200000x50000x10000000:42');
  return cmd;
}

/** A number the flag itself checks, so the message names the flag rather than the library option. */
function rangeOption(name: string, what: string, ok: (n: number) => boolean) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`${name} must be ${what} (got "${v}")`);
    return n;
  };
}

export function withAlgoOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--algo <name>', 'algorithm').choices(RECOMMENDER_KINDS).makeOptionMandatory())
    .option('--neighbors <k>', 'itemknn/userknn: neighbours kept per item/user (defaults 20/50)', intOption('--neighbors'))
    .addOption(new Option('--similarity <s>', 'itemknn/userknn: similarity (default cosine)').choices(['cosine', 'adjusted-cosine', 'pearson']))
    .option('--shrink <s>', 'itemknn/userknn: similarity shrinkage, dot / (‖a‖‖b‖ + s) (default 0)', floatOption('--shrink', 0))
    .option('--no-normalize-similarity', 'itemknn: score with raw similarities instead of each item\'s similarities scaled to sum 1')
    .addOption(new Option('--weighting <w>', 'itemknn: weight the items × users matrix before the similarity: none (default), tfidf (cosine of √r·idf) or bm25 (dot product of BM25 weights)').choices(['none', 'tfidf', 'bm25']))
    .option('--bm25-k1 <k1>', 'itemknn --weighting bm25: term-frequency saturation K1 > 0 (default 1.2)', rangeOption('--bm25-k1', 'a number > 0', (n) => n > 0))
    .option('--bm25-b <b>', 'itemknn --weighting bm25: length normalisation B in [0, 1] (default 0.75)', rangeOption('--bm25-b', 'a number in [0, 1]', (n) => n >= 0 && n <= 1))
    .option('--lambda <l>', 'ease: L2 penalty (default 500)', floatOption('--lambda', 0))
    .option('--memory-budget <size>', 'ease: bytes the fit may take at its peak, e.g. 2G (default 75% of the machine memory; see quiver info)', bytesOption('--memory-budget'))
    .addOption(new Option('--ease-precision <p>', 'ease: f64 (default) or f32 (the solve in half the memory)').choices(['f64', 'f32']))
    .option('--min-item-support <n>', 'ease: leave out items with fewer than n training interactions (never recommended; default 1)', intOption('--min-item-support'))
    .addOption(
      new Option('--backfill <mode>', 'top up users left with fewer than n items: none (default) or popular (the most popular unseen items, ranked after and scored below the model\'s, marked with source popular)').choices([
        'none',
        'popular',
      ]),
    )
    .option('--factors <k>', 'als: latent factors (default 32, at most the number of items)', intOption('--factors'))
    .option('--iterations <n>', 'als: iterations, each a user and an item half-step (default 15)', intOption('--iterations'))
    .option('--regularization <l>', 'als: L2 penalty λ (default 20)', floatOption('--regularization', 0))
    .option('--alpha <a>', 'als: confidence slope, c = 1 + alpha·r (default 1)', floatOption('--alpha', 0));
}

function feedbackOf(o: DataOptions): RatingsOptions['feedback'] {
  if (o.implicit === undefined || o.implicit === false) return 'explicit';
  if (o.implicit === true || o.implicit === 'binary') return 'binary';
  if (o.implicit === 'counts') return 'counts';
  throw new QuiverError('INVALID_ARGUMENT', `--implicit takes binary or counts (got "${String(o.implicit)}")`);
}

export function ratingsOptionsOf(o: DataOptions): RatingsOptions {
  // The option parser already turned names into characters; callers that build DataOptions by hand may not have.
  const delimiter = o.delimiter === undefined ? undefined : delimiterFromName(o.delimiter);
  return {
    format: o.format,
    userCol: o.userCol,
    itemCol: o.itemCol,
    ratingCol: o.ratingCol,
    timestampCol: o.timestampCol,
    delimiter,
    feedback: feedbackOf(o),
    minRating: o.minRating,
    duplicates: o.duplicates,
  };
}

export interface LoadedData {
  data: Interactions;
  /** What identifies the input for checkpoints: path, size and mtime, or the synthetic spec. */
  identity: Record<string, unknown>;
  /** One line for the summary. */
  describe: string;
}

export async function loadData(o: DataOptions): Promise<LoadedData> {
  if ((o.ratings === undefined) === (o.synthetic === undefined)) {
    throw new QuiverError('INVALID_ARGUMENT', 'give exactly one input: --ratings FILE or --synthetic USERSxITEMSxINTERACTIONS[:seed]');
  }
  if (o.synthetic !== undefined) {
    const spec = parseSyntheticSpec(o.synthetic);
    const data = new SyntheticInteractions(spec).toInteractions();
    return { data, identity: { synthetic: spec }, describe: `synthetic ${spec.users} users × ${spec.items} items × ${spec.interactions} interactions (seed ${spec.seed})` };
  }
  const path = o.ratings!;
  const ropts = ratingsOptionsOf(o);
  const data = await readRatings(path, ropts);
  for (const w of data.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
  const st = await stat(path);
  return {
    data,
    identity: { path: resolve(path), size: st.size, mtimeMs: st.mtimeMs, options: ropts },
    describe: `${path} (${data.layout}, ${data.userIds.length} users × ${data.itemIds.length} items, ${data.matrix.indptr[data.matrix.rows]} interactions, ${ropts.feedback})`,
  };
}

/** The `identity` of `loadData` without reading the file (a distributed run's id is made before any worker loads it). */
export async function identityOf(o: DataOptions): Promise<Record<string, unknown>> {
  if ((o.ratings === undefined) === (o.synthetic === undefined)) {
    throw new QuiverError('INVALID_ARGUMENT', 'give exactly one input: --ratings FILE or --synthetic USERSxITEMSxINTERACTIONS[:seed]');
  }
  if (o.synthetic !== undefined) return { synthetic: parseSyntheticSpec(o.synthetic) };
  const path = o.ratings!;
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch {
    throw new QuiverError('NOT_FOUND', `--ratings ${path} does not exist`);
  }
  return { path: resolve(path), size: st.size, mtimeMs: st.mtimeMs, options: ratingsOptionsOf(o) };
}

export function algoOptionsOf(o: AlgoOptions): RecommenderOptions {
  return {
    neighbors: o.neighbors,
    similarity: o.similarity,
    shrink: o.shrink,
    normalizeSimilarity: o.normalizeSimilarity,
    weighting: o.weighting,
    bm25K1: o.bm25K1,
    bm25B: o.bm25B,
    lambda: o.lambda,
    memoryBudget: o.memoryBudget,
    backfill: o.backfill,
    factors: o.factors,
    iterations: o.iterations,
    regularization: o.regularization,
    alpha: o.alpha,
    minItemSupport: o.minItemSupport,
    precision: o.easePrecision,
  };
}
