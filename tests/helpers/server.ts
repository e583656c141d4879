// An engine (2 threads) and a Fastify app on a fresh data directory, made before a test file and closed after it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { createEngine, type Quiver as Engine } from '../../src/quiver.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';

export interface TestServer {
  /** Set before the file's tests run. */
  engine: Engine;
  app: FastifyInstance;
  dataDir: string;
}

export function useServer(prefix: string, opts: Omit<AppOptions, 'engine' | 'dataDir'> = {}): TestServer {
  const srv = { dataDir: mkdtempSync(join(tmpdir(), prefix)) } as TestServer;
  beforeAll(async () => {
    srv.engine = await createEngine({ threads: 2 });
    srv.app = await buildApp({ engine: srv.engine, dataDir: srv.dataDir, ...opts });
  });
  afterAll(async () => {
    await srv.app.close();
    await srv.engine.close();
  });
  return srv;
}
