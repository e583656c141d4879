import type { Command } from 'commander';
import type { TableEncoder } from '../data/table.js';
import { QuiverError } from '../errors.js';
import type { LogisticIteration } from '../models/logistic.js';
import type { Matrix } from '../types.js';
import { printValidation, runValidation, tableMeasure } from './model-options.js';
import { Progress, floatOption, intOption, withEngine } from './common.js';
import { namedCoefficients, readTraining, tableModelCommand, type TableModelOptions } from './linear.js';

interface Opts extends TableModelOptions {
  classWeight?: string;
  maxIter?: number;
  tol?: number;
}

export function registerLogistic(program: Command): void {
  tableModelCommand(program, 'logistic', 'binary logistic regression (L2, Newton/IRLS) on a CSV table, target yes/no, true/false or 0/1; saves the model')
    .option('--l2 <l>', 'L2 penalty on the coefficients, not the intercept: scikit-learn C = 1/l2 (default 1)', floatOption('--l2', 0))
    .option('--class-weight <how>', '"balanced": weight class c by n / (2·n_c)')
    .option('--max-iter <n>', 'Newton steps at most (default 100)', intOption('--max-iter'))
    .option('--tol <t>', 'tolerance on the averaged gradient and Newton decrement (default 1e-4)', floatOption('--tol', 0))
    .action(async (opts: Opts) => {
      if (opts.classWeight !== undefined && opts.classWeight !== 'balanced') {
        throw new QuiverError('INVALID_ARGUMENT', `--class-weight must be "balanced" (got "${opts.classWeight}")`);
      }
      const { table, encoderOptions, encoder, x, y } = await readTraining(opts, 'binary');
      await withEngine(opts, async (e) => {
        const fit = (xx: Matrix, yy: Float64Array | null, enc: TableEncoder, onIteration?: (s: LogisticIteration) => void) =>
          e.logisticRegression(xx, yy!, {
            l2: opts.l2,
            fitIntercept: opts.intercept,
            classWeight: opts.classWeight === 'balanced' ? 'balanced' : null,
            maxIter: opts.maxIter,
            tol: opts.tol,
            encoder: enc,
            onIteration,
          });
        const validation = await runValidation(opts, x.rows, y, true, tableMeasure(table, encoderOptions, fit, { threshold: opts.threshold, seed: opts.seed }));
        // No total: Newton usually stops long before maxIter, so an ETA from it would mislead.
        const progress = new Progress('logistic', undefined, 'Newton steps');
        const model = await fit(x, y, encoder, (s) => progress.update(s.iteration, `loss ${s.loss.toPrecision(8)}`));
        progress.done();
        await model.save(opts.out);
        if (!model.converged) process.stderr.write(`quiver: logistic regression did not converge in ${model.nIter} steps; raise --max-iter or --l2\n`);
        const target = encoder.schema.target;
        const summary = {
          model: opts.out,
          rows: x.rows,
          target: opts.target,
          positiveClass: target?.kind === 'binary' ? target.positive : null,
          l2: model.params.l2,
          nIter: model.nIter,
          converged: model.converged,
          logLoss: model.logLoss,
          accuracy: model.accuracy,
          auc: model.auc,
          intercept: model.intercept,
          coefficients: namedCoefficients(encoder.features, model.coefficients),
        };
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        printValidation(validation);
      });
    });
}
