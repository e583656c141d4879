import { type Command, Option } from 'commander';
import type { CsvTable } from '../data/csv.js';
import { writeFileAtomic } from '../data/atomic.js';
import { checkOutputPath } from '../models/io.js';
import { formatLiftTable, gainChartSvg, liftTable } from '../models/lift.js';
import type { FittedModel } from '../models/model.js';
import type { TableEncoder } from '../data/table.js';
import { QuiverError } from '../errors.js';
import type { LogisticIteration } from '../models/logistic.js';
import { fitMultinomialLogistic } from '../models/multinomial.js';
import type { Matrix } from '../types.js';
import { printValidation, runValidation, tableMeasure, wantsValidation } from './model-options.js';
import { Progress, floatOption, intOption, withEngine } from './common.js';
import { namedCoefficients, readTraining, tableModelCommand, type TableModelOptions } from './linear.js';

interface Opts extends TableModelOptions {
  report?: string;
  gainChart?: string;
  classWeight?: string;
  maxIter?: number;
  tol?: number;
}

export function registerLogistic(program: Command): void {
  tableModelCommand(program, 'logistic', 'logistic regression (L2, Newton) on a CSV table: binary for a target yes/no, true/false or 0/1, multiclass (softmax) for a target with more than two values; saves the model')
    .option('--l2 <l>', 'L2 penalty on the coefficients, not the intercept: scikit-learn C = 1/l2 (default 1)', floatOption('--l2', 0))
    .option('--class-weight <how>', '"balanced": weight class c by n / (2·n_c)')
    .option('--max-iter <n>', 'Newton steps at most (default 100)', intOption('--max-iter'))
    .option('--tol <t>', 'tolerance on the averaged gradient and Newton decrement (default 1e-4)', floatOption('--tol', 0))
    .addOption(new Option('--report <what>', 'lift: print lift and cumulative gain by decile (a table, and under "lift" in the last JSON line), on the held-out rows with --holdout, the out-of-fold rows with --cv, else the training rows').choices(['lift']))
    .option('--gain-chart <file.svg>', 'write the cumulative gain chart as an SVG (implies --report lift)')
    .action(async (opts: Opts) => {
      if (opts.gainChart !== undefined) checkOutputPath(opts.gainChart, '--gain-chart', ['.svg']);
      const wantLift = opts.report === 'lift' || opts.gainChart !== undefined;
      if (opts.threshold !== undefined && !wantsValidation(opts)) {
        throw new QuiverError('INVALID_ARGUMENT', '--threshold sets the cut-off of the held-out metrics; add --holdout F or --cv K');
      }
      if (opts.classWeight !== undefined && opts.classWeight !== 'balanced') {
        throw new QuiverError('INVALID_ARGUMENT', `--class-weight must be "balanced" (got "${opts.classWeight}")`);
      }
      const { table, encoderOptions, encoder, x, y } = await readTraining(opts, 'binary');
      const target0 = encoder.schema.target;
      if (target0?.kind === 'classes') {
        if (wantLift || opts.threshold !== undefined) {
          throw new QuiverError('INVALID_ARGUMENT', `the target "${opts.target}" has ${target0.classes.length} classes; --report lift, --gain-chart and --threshold are for a binary target`);
        }
        if (opts.intercept === false) throw new QuiverError('INVALID_ARGUMENT', '--no-intercept is not available for a multiclass target');
        await withEngine(opts, async (e) => {
          const fitModel = (xx: Matrix, yy: Float64Array | null, enc: TableEncoder) => {
            const t = enc.schema.target;
            return fitMultinomialLogistic(e, xx, yy!, {
              l2: opts.l2,
              classWeight: opts.classWeight === 'balanced' ? 'balanced' : null,
              maxIter: opts.maxIter,
              tol: opts.tol,
              classes: t?.kind === 'classes' ? t.classes : null,
              encoder: enc,
            });
          };
          const validation = await runValidation(opts, x.rows, y, true, tableMeasure(table, encoderOptions, fitModel, { seed: opts.seed }));
          const model = await fitModel(x, y, encoder);
          await model.save(opts.out);
          if (!model.converged) process.stderr.write(`quiver: logistic regression did not converge in ${model.nIter} steps; raise --max-iter or --l2\n`);
          const p = encoder.features.length;
          const summary = {
            model: opts.out,
            rows: x.rows,
            target: opts.target,
            classes: model.classes,
            l2: model.params.l2,
            nIter: model.nIter,
            converged: model.converged,
            logLoss: model.logLoss,
            accuracy: model.accuracy,
            intercepts: Object.fromEntries(model.classes.map((c, k) => [c, model.intercepts[k]!])),
            coefficients: Object.fromEntries(model.classes.map((c, k) => [c, namedCoefficients(encoder.features, model.coefficients.subarray(k * p, (k + 1) * p))])),
          };
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          printValidation(validation);
        });
        return;
      }
      await withEngine(opts, async (e) => {
        const fitModel = (xx: Matrix, yy: Float64Array | null, enc: TableEncoder, onIteration?: (s: LogisticIteration) => void) =>
          e.logisticRegression(xx, yy!, {
            l2: opts.l2,
            fitIntercept: opts.intercept,
            classWeight: opts.classWeight === 'balanced' ? 'balanced' : null,
            maxIter: opts.maxIter,
            tol: opts.tol,
            encoder: enc,
            onIteration,
          });
        // Scores for the lift: out-of-fold or held-out when validating, in the order the parts are scored.
        const scoredY: number[] = [];
        const scoredP: number[] = [];
        const collect = async (m: FittedModel, test: CsvTable, yy: Float64Array | null) => {
          if (!wantLift) return;
          const p = await m.scoreF64(test);
          for (let i = 0; i < p.length; i++) {
            scoredY.push(yy![i]!);
            scoredP.push(p[i]!);
          }
        };
        const validation = await runValidation(opts, x.rows, y, true, tableMeasure(table, encoderOptions, fitModel, { threshold: opts.threshold, seed: opts.seed }, collect));
        // No total: Newton usually stops long before maxIter, so an ETA from it would mislead.
        const progress = new Progress('logistic', undefined, 'Newton steps');
        const model = await fitModel(x, y, encoder, (s) => progress.update(s.iteration, `loss ${s.loss.toPrecision(8)}`));
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
        const extra: Record<string, unknown> = {};
        if (wantLift) {
          if (!validation) await collect(model, table, y);
          const lift = liftTable(scoredY, scoredP);
          const on = validation ? (validation.method === 'cv' ? 'out-of-fold rows' : 'held-out rows') : 'training rows';
          process.stdout.write(`lift by decile (${on})\n${formatLiftTable(lift)}`);
          if (opts.gainChart) {
            await writeFileAtomic(opts.gainChart, gainChartSvg(lift, `Cumulative gain: ${opts.target} (${on})`));
            process.stderr.write(`wrote ${opts.gainChart}\n`);
          }
          extra['lift'] = { on, ...lift };
        }
        printValidation(validation, extra);
      });
    });
}
