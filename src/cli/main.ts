/** The `quiver` CLI: one file per command, registered here. */
import { Command, CommanderError } from 'commander';
import { reportError } from './common.js';
import { registerInfo } from './info.js';
import { registerServe } from './serve.js';
import { registerSimilarity } from './similarity.js';
import { registerTopk } from './topk.js';
import { registerKmeans } from './kmeans.js';
import { registerLinear } from './linear.js';
import { registerLogistic } from './logistic.js';
import { registerPredict } from './predict.js';
import { registerEvaluate } from './evaluate.js';
import { registerRecommend } from './recommend.js';
import { registerBulk } from './bulk.js';
import { registerBench } from './bench.js';
import { registerTune } from './tune.js';

export function buildProgram(): Command {
  const program = new Command('quiver')
    .description('Quiver: cosine top-k, KMeans and Gram-matrix solves for marketing analytics')
    .showHelpAfterError()
    .exitOverride();
  registerInfo(program);
  registerServe(program);
  registerSimilarity(program);
  registerTopk(program);
  registerKmeans(program);
  registerLinear(program);
  registerLogistic(program);
  registerPredict(program);
  registerRecommend(program);
  registerBulk(program);
  registerEvaluate(program);
  registerBench(program);
  registerTune(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed the usage problem (or help/version, exit code 0).
      process.exitCode = err.exitCode;
      return;
    }
    reportError(err);
  }
}
