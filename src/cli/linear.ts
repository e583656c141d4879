import { type Command, Option } from 'commander';
import type { Matrix } from '../types.js';
import { distinctValues, type EncoderOptions, TableEncoder } from '../data/table.js';
import { QuiverError } from '../errors.js';
import { isTable } from '../models/common.js';
import { checkOutputPath, readModelInput } from '../models/io.js';
import { floatOption, withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { delimiterOption } from './data-options.js';
import {
  type ColumnCliOptions,
  columnEncoderOptions,
  printValidation,
  runValidation,
  tableMeasure,
  type ValidationCliOptions,
  withColumnOptions,
  withValidationOptions,
} from './model-options.js';

export interface TableModelOptions extends GlobalOptions, ValidationCliOptions, ColumnCliOptions {
  input: string;
  target: string;
  l2?: number;
  out: string;
  delimiter?: string;
  exclude?: string[];
  standardize?: boolean;
  intercept: boolean;
  accumulate?: 'f64' | 'f32';
}

export const list = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

/** The options linear and logistic share: a CSV table in, a target column, a model file out. */
export function tableModelCommand(program: Command, name: string, description: string): Command {
  const cmd = withEngineOptions(
    program
      .command(name)
      .description(description)
      .requiredOption('--input <data.csv>', 'training table with a header row (text columns are one-hot encoded, first level dropped)')
      .requiredOption('--target <column>', 'the column to predict')
      .requiredOption('--out <model.json>', 'model manifest to write (the arrays go beside it, model.bin)')
      .addOption(delimiterOption('CSV delimiter (default: detected among , ; and tab)'))
      .option('--exclude <names>', 'leave out these comma-separated columns (ids, free text, leaks)', list)
      .option('--standardize', 'standardise every design column (saved with the model)')
      .option('--no-intercept', 'fit without an intercept'),
  );
  return withValidationOptions(withColumnOptions(cmd), { seed: true, threshold: name === 'logistic' });
}

/** Reads the CSV and builds X, y and the encoder for a table model. */
export async function readTraining(opts: TableModelOptions, targetKind: 'numeric' | 'binary') {
  checkOutputPath(opts.out, '--out', ['.json']);
  const input = await readModelInput(opts.input, { delimiter: opts.delimiter });
  if (!isTable(input)) {
    throw new QuiverError('INVALID_ARGUMENT', `${opts.input}: ${targetKind === 'binary' ? 'logistic' : 'linear'} regression needs a CSV table with a header, so that --target can name a column`);
  }
  // A logistic target with more than two distinct values is a multiclass target (a softmax model).
  const kind = targetKind === 'binary' && input.has(opts.target) && distinctValues(input, opts.target) > 2 ? 'classes' : targetKind;
  const encoderOptions: EncoderOptions = { target: opts.target, targetKind: kind, exclude: opts.exclude, standardize: opts.standardize === true, ...columnEncoderOptions(opts) };
  const encoder = TableEncoder.fit(input, encoderOptions);
  return { table: input, encoderOptions, encoder, x: encoder.encode(input), y: encoder.target(input) };
}

export function namedCoefficients(names: readonly string[], values: Float64Array): Record<string, number> {
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

export function registerLinear(program: Command): void {
  tableModelCommand(program, 'linear', 'linear regression (OLS, or ridge with --l2) on a CSV table; saves the model')
    .option('--l2 <l>', 'ridge penalty on the coefficients (default 0: least squares)', floatOption('--l2', 0))
    .addOption(new Option('--accumulate <mode>', "the Gram pass's sums: f64 (default, exact products) or f32 (f32 blocks of 128 rows flushed to f64; faster, less accurate on ill-conditioned data)").choices(['f64', 'f32']))
    .action(async (opts: TableModelOptions) => {
      const { table, encoderOptions, encoder, x, y } = await readTraining(opts, 'numeric');
      await withEngine(opts, async (e) => {
        const fitModel = (xx: Matrix, yy: Float64Array | null, enc: TableEncoder) => e.linearRegression(xx, yy!, { l2: opts.l2, fitIntercept: opts.intercept, accumulate: opts.accumulate, encoder: enc });
        const validation = await runValidation(opts, x.rows, y, false, tableMeasure(table, encoderOptions, fitModel, { seed: opts.seed }));
        const model = await fitModel(x, y, encoder);
        await model.save(opts.out);
        const summary = {
          model: opts.out,
          rows: x.rows,
          target: opts.target,
          l2: model.params.l2,
          r2: model.r2,
          rmse: model.rmse,
          intercept: model.intercept,
          coefficients: namedCoefficients(encoder.features, model.coefficients),
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        printValidation(validation);
      });
    });
}
