/**
 * Options the model commands share beyond the input: measuring on unseen rows (--holdout, --cv, --threshold)
 * and running that measurement with the table encoder refitted on each training part, so that levels,
 * standardisation and imputed values never come from the held-out rows.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { type EncoderOptions, parseDropLevels, parseImputeSpec } from '../data/table.js';
import { QuiverError } from '../errors.js';
import type { FittedModel } from '../models/model.js';
import {
  crossValidateSplits,
  heldOutMetrics,
  tableMeasure,
  holdoutSplitMeasure,
  type CrossValidationResult,
  type HoldoutResult,
  type Metrics,
  type Split,
  takeRows,
} from '../models/validation.js';
import type { Matrix } from '../types.js';

export interface ValidationCliOptions {
  holdout?: number;
  cv?: number;
  seed?: number;
  threshold?: number;
}

function fractionOption(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || !(n > 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a fraction between 0 and 1, both excluded, e.g. 0.25 (got "${v}")`);
    return n;
  };
}

function foldsOption(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 2) throw new InvalidArgumentError(`--cv must be a whole number of folds ≥ 2, e.g. 5 (got "${v}"); for one split use --holdout`);
  return n;
}

function probabilityOption(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`--threshold must be a probability in [0, 1] (got "${v}")`);
  return n;
}

function seedOption(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`--seed must be a whole number ≥ 0 (got "${v}")`);
  return n;
}

/** Adds --holdout and --cv (and --seed unless the command has one, and --threshold for classifiers). */
export function withValidationOptions(cmd: Command, o: { seed: boolean; threshold: boolean }): Command {
  cmd
    .option('--holdout <fraction>', 'also measure the model on this seeded fraction of rows held out of a fitModel (stratified by the class for logistic); prints the metrics as the last line', fractionOption('--holdout'))
    .option('--cv <K>', 'also measure by K-fold cross-validation (seeded, stratified for logistic): mean, std and per-fold metrics on the last line', foldsOption);
  if (o.seed) cmd.option('--seed <s>', 'seed of the held-out split or folds (default 0)', seedOption);
  if (o.threshold) cmd.option('--threshold <p>', 'also report accuracy, precision and recall with positive meaning p > this (besides 0.5)', probabilityOption);
  return cmd;
}

export function wantsValidation(o: ValidationCliOptions): boolean {
  if (o.holdout !== undefined && o.cv !== undefined) throw new QuiverError('INVALID_ARGUMENT', 'give --holdout or --cv, not both');
  return o.holdout !== undefined || o.cv !== undefined;
}

export interface ColumnCliOptions {
  impute?: string;
  categorical?: string[];
  dropLevel?: string[];
}

const listOf = (v: string, prev: string[] | undefined): string[] => [
  ...(prev ?? []),
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
];

/** Adds --impute, --categorical and --drop-level (CSV input). */
export function withColumnOptions(cmd: Command): Command {
  return cmd
    .option(
      '--impute <spec>',
      'CSV: fill missing cells (empty, NA, NaN, null) with mean, median, most-frequent or constant:VALUE, for all columns and/or as COLUMN=STRATEGY, e.g. median,job=constant:unknown (text columns take their most frequent level for mean and median); saved with the model',
    )
    .option('--categorical <names>', 'CSV: one-hot encode these comma-separated columns even though their values are numbers (codes)', listOf)
    .option('--drop-level <COL=LEVEL>', 'CSV: make LEVEL the dropped (all-zero) reference level of one-hot column COL instead of its first sorted level; repeatable or comma-separated', listOf);
}

/** The encoder options of the column flags, spelled as flags in messages. */
export { tableMeasure };

export function columnEncoderOptions(o: ColumnCliOptions): Pick<EncoderOptions, 'impute' | 'categorical' | 'dropLevel' | 'names'> {
  return {
    impute: o.impute === undefined ? null : parseImputeSpec(o.impute, '--impute'),
    categorical: o.categorical,
    dropLevel: o.dropLevel === undefined ? null : parseDropLevels(o.dropLevel.join(','), '--drop-level'),
    names: { impute: '--impute', dropLevel: '--drop-level', categorical: '--categorical' },
  };
}

export function hasColumnOptions(o: ColumnCliOptions): boolean {
  return o.impute !== undefined || o.categorical !== undefined || o.dropLevel !== undefined;
}

/** Runs the measurement the options ask for; null when they ask for none. */
export async function runValidation(
  o: ValidationCliOptions,
  n: number,
  y: ArrayLike<number> | null,
  stratify: boolean,
  measure: (s: Split) => Promise<Metrics>,
): Promise<CrossValidationResult | HoldoutResult | null> {
  if (!wantsValidation(o)) return null;
  const seed = o.seed ?? 0;
  try {
    if (o.cv !== undefined) return await crossValidateSplits(n, y, { folds: o.cv, seed, stratify }, measure);
    return await holdoutSplitMeasure(n, y, { fraction: o.holdout!, seed, stratify }, measure);
  } catch (err) {
    // Messages from the library name its options; say the flags instead.
    const e = QuiverError.from(err);
    const message = e.message
      .replace(/use at most (\d+) folds/, 'use --cv $1 or fewer')
      .replace(/lower the fraction/, 'lower --holdout')
      .replace(/choose a fraction/, 'choose a --holdout');
    throw new QuiverError(e.code, message, e.details);
  }
}

/** A measurement over a matrix input (kmeans on .npy). */
export function matrixMeasure(x: Matrix, fitModel: (x: Matrix) => Promise<FittedModel>, metricOptions: { seed?: number }): (s: Split) => Promise<Metrics> {
  return async (s) => {
    const model = await fitModel(takeRows(x, s.train));
    return heldOutMetrics(model, takeRows(x, s.test), null, metricOptions);
  };
}

/** The last line of a command that measured its model: one JSON object (with any extra reports, e.g. lift). */
export function printValidation(v: CrossValidationResult | HoldoutResult | null, extra: Record<string, unknown> = {}): void {
  if (!v && Object.keys(extra).length === 0) return;
  const head = v ? (({ metrics, ...rest }) => ({ validation: rest, metrics }))(v) : {};
  process.stdout.write(`${JSON.stringify({ ...head, ...extra })}\n`);
}
