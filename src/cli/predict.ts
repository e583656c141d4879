import type { Command } from 'commander';
import { writePredictions, readModelInput, checkOutputPath } from '../models/io.js';
import { loadModel } from '../models/persist.js';
import { withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { delimiterOption } from './data-options.js';

interface Opts extends GlobalOptions {
  model: string;
  input: string;
  out: string;
  delimiter?: string;
}

export function registerPredict(program: Command): void {
  withEngineOptions(
    program
      .command('predict')
      .description('score rows with a saved model: the cluster (kmeans), the value (linear) or the probability of the positive class (logistic)')
      .requiredOption('--model <model.json>', 'a model saved by quiver kmeans, linear or logistic')
      .requiredOption('--input <file>', 'rows to score: a CSV with the columns the model was fitted on, or a .npy matrix of its design columns')
      .requiredOption('--out <file>', 'predictions.npy (float32, one per row) or predictions.csv (header "prediction")')
      .addOption(delimiterOption('CSV delimiter (default: detected among , ; and tab)')),
  ).action(async (opts: Opts) => {
    checkOutputPath(opts.out, '--out', ['.npy', '.csv']);
    const input = await readModelInput(opts.input, { delimiter: opts.delimiter });
    await withEngine(opts, async (e) => {
      const model = await loadModel(opts.model, e);
      const values = await model.score(input);
      await writePredictions(opts.out, values);
      process.stderr.write(`wrote ${opts.out}: ${values.length} ${model.scoreName}\n`);
    });
  });
}
