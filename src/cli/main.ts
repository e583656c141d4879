/**
 * The `quiver` CLI: one file per command, registered here. Every failure ends in `reportError`, which prints
 * one line `quiver: CODE: message`: exit 2 for anything the user can fix (including a bad option, which commander
 * reports), exit 70 for a bug, whose stack is printed only with --verbose.
 */
import { type Command as CommandType, Command, CommanderError } from 'commander';
import { QuiverError } from '../errors.js';
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
  // exitOverride and configureOutput are inherited by the subcommands registered below: commander then throws
  // instead of exiting, and prints nothing itself, so `main` reports its errors in the house style.
  const program = new Command('quiver')
    .description('Quiver: cosine top-k, KMeans and Gram-matrix solves for marketing analytics')
    .option('--verbose', 'print the stack trace of an internal error (a bug)')
    .exitOverride()
    .configureOutput({ outputError: () => {}, writeErr: () => {} });
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
  // Read from argv too: a parse error can come before commander has stored the flag.
  const verbose = argv.slice(2).includes('--verbose');
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help (stdout) and a help subcommand end here with exit code 0.
      if (err.exitCode === 0) return;
      reportError(usageError(program, argv, err), { verbose });
      return;
    }
    reportError(err, { verbose: verbose || program.opts<{ verbose?: boolean }>().verbose === true });
  }
}

/** A commander parse error as one INVALID_ARGUMENT line that names the option and where the options are listed. */
function usageError(program: CommandType, argv: string[], err: CommanderError): QuiverError {
  const cmd = program.commands.find((c) => argv.slice(2).includes(c.name()));
  const hint = cmd ? `quiver ${cmd.name()} --help lists its options` : 'quiver --help lists the commands';
  if (err.code === 'commander.help') {
    const names = program.commands.map((c) => c.name()).join(', ');
    return new QuiverError('INVALID_ARGUMENT', `no command given; give one of ${names} (${hint})`);
  }
  // Commander's text with its "error: " prefix removed and the "(Did you mean …?)" hint kept on the same line.
  let message = err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ').trim();
  const invalid = /^option '([^']+)' argument '(.*)' is invalid\. (.*)$/s.exec(message);
  if (invalid) {
    const [, flags = '', value = '', why = ''] = invalid;
    const flag = /--[\w-]+/.exec(flags)?.[0] ?? flags;
    const choices = /^Allowed choices are (.*)\.$/.exec(why);
    // Our own option parsers already name the flag and the value; commander's prefix would repeat them.
    if (choices) message = `${flag} must be one of ${choices[1]} (got "${value}")`;
    else message = why.includes(flag) ? why : `${flag}: ${why}`;
  }
  return new QuiverError('INVALID_ARGUMENT', `${message} (${hint})`);
}
