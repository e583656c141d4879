// A throwaway Redis for the bulk tests: Debian's redis-server on a free loopback port in a temporary folder,
// AOF on, no RDB snapshots, noeviction (what BullMQ needs), stopped by the test that started it. Without
// redis-server the tests skip with one printed reason, except under CI, where a missing Redis is a failure.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM: it flushes the AOF) and starts it again on the same port and data folder. */
  restart(pauseMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Why the bulk tests cannot run here, or null when redis-server is available. Throws under CI. */
export function redisMissing(): string | null {
  const r = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  if (!r.error && r.status === 0) return null;
  if (process.env.CI) throw new Error('redis-server is not installed, and CI is set: .ci/run installs it (apt-get install redis-server)');
  return 'redis-server is not installed (apt-get install redis-server, or run .ci/run); the bulk tests are skipped';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    c.once('connect', () => {
      c.write('PING\r\n');
    });
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    c.once('error', () => resolve(false));
  });
}

export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'quiver-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const launch = async (): Promise<void> => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--save', '', '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
    const c = spawn('redis-server', args, { stdio: 'ignore' });
    child = c;
    const t0 = Date.now();
    while (!(await accepts(port))) {
      if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode} (see ${join(dir, 'redis.log')})`);
      if (Date.now() - t0 > 10_000) throw new Error('redis-server did not start within 10 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const halt = async (): Promise<void> => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await gone;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async restart(pauseMs = 500) {
      await halt();
      await new Promise((r) => setTimeout(r, pauseMs));
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
