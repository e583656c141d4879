import { type Command, Option } from 'commander';
import { writePredictions, readModelInput, checkOutputPath, type OutputDtype } from '../models/io.js';
import { loadModel } from '../models/persist.js';
import { withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { delimiterOption } from './data-options.js';

interface Opts extends GlobalOptions {
  model: string;
  input: string;
  out: string;
  delimiter?: string;
  dtype: OutputDtype;
}

export function registerPredict(program: Command): void {
  withEngineOptions(
    program
      .command('predict')
      .description('score rows with a saved model: the cluster (kmeans), the value (linear) or the probability of the positive class (logistic)')
      .requiredOption('--model <model.json>', 'a model saved by quiver kmeans, linear or logistic')
      .requiredOption('--input <file>', 'rows to score: a CSV with the columns the model was fitted on, or a .npy matrix of its design columns')
      .requiredOption('--out <file>', 'predictions.npy (one per row) or predictions.csv (header "prediction")')
      .addOption(delimiterOption('CSV delimiter (default: detected among , ; and tab)'))
      .addOption(
        new Option('--dtype <type>', 'float64 (.npy <f8, CSV with 17 significant digits) or float32 (.npy <f4, CSV with 9)').choices(['float64', 'float32']).default('float64'),
      ),
  ).action(async (opts: Opts) => {
    checkOutputPath(opts.out, '--out', ['.npy', '.csv']);
    const input = await readModelInput(opts.input, { delimiter: opts.delimiter });
    await withEngine(opts, async (e) => {
      const model = await loadModel(opts.model, e);
      const values = opts.dtype === 'float32' ? await model.score(input) : await model.scoreF64(input);
      await writePredictions(opts.out, values, opts.dtype);
      process.stderr.write(`wrote ${opts.out}: ${values.length} ${model.scoreName}\n`);
    });
  });
}
