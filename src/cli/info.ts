import type { Command } from 'commander';
import { defaultEaseBudget } from '../models/ease-memory.js';
import { withEngine, withEngineOptions, type GlobalOptions } from './common.js';

export function registerInfo(program: Command): void {
  withEngineOptions(program.command('info').description('print the backend, its SIMD level, the thread count, versions and machine-dependent defaults as JSON')).action(
    async (opts: GlobalOptions) => {
      await withEngine(opts, async (e) => {
        // The defaults that depend on the machine, with where each comes from.
        const budget = defaultEaseBudget();
        const defaults = { easeMemoryBudget: { bytes: budget.bytes, source: budget.source } };
        process.stdout.write(`${JSON.stringify({ ...e.info(), defaults }, null, 2)}\n`);
      });
    },
  );
}
