import type { Command } from 'commander';
import { parseBackendChoice } from '../backends/index.js';
import { intOption, withEngineOptions, type GlobalOptions } from './common.js';

interface Opts extends GlobalOptions {
  host: string;
  port: number;
  dataDir: string;
  logLevel?: string;
  workerNice?: number;
}

export function registerServe(program: Command): void {
  withEngineOptions(
    program
      .command('serve')
      .description('start the HTTP API (127.0.0.1 by default); QUIVER_API_KEY protects /v1 routes')
      .option('--host <host>', 'address to bind', '127.0.0.1')
      .option('--port <port>', 'port (0 picks a free one)', intOption('--port', 0, 65535), 8080)
      .option('--data-dir <dir>', 'where fitted models are kept', '.quiver')
      .option('--log-level <level>', 'request logs on stderr: fatal, error, warn, info, debug, trace or silent (default: QUIVER_LOG_LEVEL, else info)')
      .option('--worker-nice <n>', 'nice increment of the compute and JSON-parse threads, 0-19, so the event loop answers probes first (default 5)', intOption('--worker-nice', 0, 19)),
  ).action(async (opts: Opts) => {
    // Loaded on demand: Fastify and its plugins would slow every other command's start.
    const { exitOnSignals, startServer } = await import('../server/server.js');
    const server = await startServer({
      host: opts.host,
      port: opts.port,
      threads: opts.threads,
      backend: opts.backend === undefined ? undefined : parseBackendChoice(opts.backend),
      dataDir: opts.dataDir,
      logLevel: opts.logLevel,
      workerNice: opts.workerNice,
    });
    exitOnSignals(server);
  });
}
