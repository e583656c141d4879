import type { Command } from 'commander';
import { withEngine, withEngineOptions, type GlobalOptions } from './common.js';

export function registerInfo(program: Command): void {
  withEngineOptions(program.command('info').description('print the backend, its SIMD level, the thread count and versions as JSON')).action(
    async (opts: GlobalOptions) => {
      await withEngine(opts, async (e) => {
        process.stdout.write(`${JSON.stringify(e.info(), null, 2)}\n`);
      });
    },
  );
}
