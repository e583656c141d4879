// A Quiver server in its own process for the tests that load it (its RSS and event loop are its own, not the
// test runner's). Options come as JSON in argv[2] ({ threads, maxActive, maxQueued, limits, logLevel }); it prints
// the URL on stdout, serves on 127.0.0.1, and closes cleanly on SIGTERM (exit 0).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../../dist/', import.meta.url);
const { createEngine } = await import(new URL('quiver.js', dist).href);
const { buildApp } = await import(new URL('server/app.js', dist).href);
const opts = JSON.parse(process.argv[2] ?? '{}');
const { SERVE_ENGINE_DEFAULTS } = await import(new URL('server/server.js', dist).href);
// The engine `quiver serve` builds (its compute threads' nice value included), unless the options say otherwise.
const engine = await createEngine({ threads: opts.threads ?? 2, niceIncrement: opts.niceIncrement ?? SERVE_ENGINE_DEFAULTS.niceIncrement });
const app = await buildApp({
  engine,
  dataDir: mkdtempSync(join(tmpdir(), 'quiver-child-')),
  maxActive: opts.maxActive,
  maxQueued: opts.maxQueued,
  limits: opts.limits,
  logLevel: opts.logLevel,
});
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
process.once('SIGTERM', () => {
  app
    .close()
    .then(() => engine.close())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});
