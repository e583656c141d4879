// An engine (2 threads) and a Fastify app on a fresh data directory, made before a test file and closed after it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
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

/**
 * Starts `quiver serve --port 0` with these extra arguments in a child process and resolves with it and the URL it
 * prints once it listens (rejects after `timeoutMs` with what it printed).
 */
export async function spawnServe(args: string[], timeoutMs = 60_000): Promise<{ child: ChildProcessWithoutNullStreams; url: string }> {
  const bin = join(import.meta.dirname, '..', '..', 'bin', 'quiver.js');
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${out}`)), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/[^ ]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return { child, url };
}
