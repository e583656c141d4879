/** `quiver bench`: runs the benchmark harness of a repository checkout (bench/run.mjs) with the given arguments. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { QuiverError } from '../errors.js';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('run the benchmark suites (similarity, models, http, recommend, all) side by side with their peers; prints a table and writes JSON under bench/results/')
    .argument('[args...]', 'suites and options, as for `npm run bench -- ...` (e.g. similarity --quick)')
    .allowUnknownOption(true)
    .action(async (args: string[]) => {
      const runner = fileURLToPath(new URL('../../bench/run.mjs', import.meta.url));
      if (!existsSync(runner)) {
        throw new QuiverError('NOT_FOUND', 'the benchmark harness (bench/run.mjs) ships with the repository, not the package; run it from a clone');
      }
      const code = await new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [runner, ...(args.length ? args : ['all'])], { stdio: 'inherit' });
        child.on('exit', (c) => resolve(c ?? 1));
      });
      process.exitCode = code;
    });
}
