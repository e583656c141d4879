/**
 * Starts the HTTP API: creates the engine, builds the app, listens (127.0.0.1 by default), prints the URL
 * and example requests, and shuts down gracefully on SIGTERM/SIGINT (stop accepting, finish in-flight
 * requests within a bound, close the pool, exit 0).
 */
import { mkdir } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { QuiverError } from '../errors.js';
import { createEngine, type Quiver } from '../quiver.js';
import type { BackendChoice } from '../types.js';
import { buildApp, type AppOptions, SERVE_ENGINE_DEFAULTS } from './app.js';
import type { Limits } from './context.js';
import { ensureDemoModels } from './demo.js';
import { modelRegistry } from './routes/models.js';
import { recommenderRegistry } from './routes/recommenders.js';

export interface ServeOptions {
  host?: string;
  port?: number;
  threads?: number;
  backend?: BackendChoice;
  dataDir?: string;
  limits?: Partial<Limits>;
  /** Milliseconds to let in-flight requests finish on shutdown. */
  shutdownGraceMs?: number;
  /** Route plugins to add (models and recommenders register here). */
  plugins?: AppOptions['plugins'];
  /** Fit the demo models on a first run (default true). */
  demo?: boolean;
  quiet?: boolean;
  /** pino level of the request logs on stderr (default: QUIVER_LOG_LEVEL, else info). */
  logLevel?: string;
  /** Nice increment of the compute threads (default SERVE_ENGINE_DEFAULTS.niceIncrement). */
  workerNice?: number;
}

export { SERVE_ENGINE_DEFAULTS };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The log level from the option, else QUIVER_LOG_LEVEL, else info; anything else is refused with the choices. */
export function logLevelOf(given: string | undefined): string {
  const level = given ?? process.env['QUIVER_LOG_LEVEL'] ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new QuiverError('INVALID_ARGUMENT', `the log level (--log-level or QUIVER_LOG_LEVEL) must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  }
  return level;
}

export interface RunningServer {
  app: FastifyInstance;
  engine: Quiver;
  url: string;
  close(): Promise<void>;
}

export async function startServer(opts: ServeOptions = {}): Promise<RunningServer> {
  const logLevel = logLevelOf(opts.logLevel);
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8080;
  // Fail in milliseconds on a busy port, not after the pool has started and the demo models are fitted; the
  // real listen below still reports the port taken in between.
  if (port !== 0) await probePort(host, port);
  const dataDir = resolve(opts.dataDir ?? '.quiver');
  await mkdir(dataDir, { recursive: true });
  const engine = await createEngine({ backend: opts.backend, threads: opts.threads, niceIncrement: opts.workerNice ?? SERVE_ENGINE_DEFAULTS.niceIncrement });
  const log = (msg: string) => {
    if (!opts.quiet) process.stderr.write(`quiver: ${msg}\n`);
  };
  let app: FastifyInstance;
  let examples: string[] = [];
  try {
    const models = modelRegistry(dataDir);
    await models.open(engine, log);
    const recommenders = recommenderRegistry(dataDir);
    await recommenders.open(engine, log);
    if (opts.demo !== false) examples = await ensureDemoModels(engine, dataDir, models, recommenders, log);
    app = await buildApp({ engine, dataDir, limits: opts.limits, plugins: opts.plugins, models, recommenders, logLevel, jsonNice: opts.workerNice });
  } catch (err) {
    await engine.close();
    throw err;
  }
  let address: string;
  try {
    address = await app.listen({ host, port });
  } catch (err) {
    // A busy or forbidden port is the caller's to fix; the pool's threads must not keep the process alive.
    await app.close().catch(() => {});
    await engine.close();
    throw listenError(err, host, port);
  }
  const url = address.replace('[::1]', 'localhost');
  if (!opts.quiet) {
    const info = engine.info();
    const lines = [
      `Quiver listening on ${url} (backend ${info.backend}/${info.simd}, ${info.threads} threads, data ${dataDir})`,
      `API documentation: ${url}/docs`,
      'Try:',
      `  curl -s ${url}/v1/info`,
      `  curl -s -X POST ${url}/v1/topk -H 'content-type: application/json' -d '{"queries":[[1,0],[0.9,0.1],[0,1]],"k":1,"excludeSelf":true}'`,
      ...examples.map((e) => `  ${e.replaceAll('{url}', url)}`),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const grace = opts.shutdownGraceMs ?? 10_000;
      // app.close() stops accepting and waits for in-flight requests; bound the wait.
      await Promise.race([app.close(), new Promise((r) => setTimeout(r, grace).unref())]);
      await engine.close();
    })();
    return closing;
  };
  return { app, engine, url, close };
}

function probePort(host: string, port: number): Promise<void> {
  return new Promise((ok, fail) => {
    const probe = createNetServer();
    probe.once('error', (err) => fail(listenError(err, host, port)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => ok()));
  });
}

/** A listen failure the caller can fix (busy port, privileged port, unknown address) as INVALID_ARGUMENT. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const where = `port ${port} on ${host}`;
  if (code === 'EADDRINUSE') return new QuiverError('INVALID_ARGUMENT', `${where} is in use; pass --port with a free port (0 picks one)`);
  if (code === 'EACCES') return new QuiverError('INVALID_ARGUMENT', `${where} needs privileges this process lacks; pass --port 1024 or above`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new QuiverError('INVALID_ARGUMENT', `cannot listen on ${host}: not an address of this machine; pass --host 127.0.0.1`);
  }
  return err;
}

/** Installs SIGTERM/SIGINT handlers that close the server and exit 0. */
export function exitOnSignals(server: RunningServer): void {
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`quiver: ${sig}: finishing in-flight requests, then exiting\n`);
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

