// The service on a real socket (127.0.0.1, port 0): API key, backpressure under saturation, and graceful
// shutdown of the CLI server on SIGTERM. Load loops are bounded in count and time.
import { spawnServe } from '../helpers/server.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/quiver.js';
import { buildApp } from '../../src/server/app.js';
import { encodeNpy } from '../../src/data/npy.js';
import { randomF32 } from '../helpers/rng.js';

const dataDir = () => mkdtempSync(join(tmpdir(), 'quiver-svc-'));

describe('service', () => {
  it('with an API key, /v1 routes refuse a missing or wrong key; /health stays open', async () => {
    const engine = await createEngine({ threads: 1 });
    const app = await buildApp({ engine, dataDir: dataDir(), apiKey: 's3cret' });
    try {
      const none = await app.inject({ method: 'GET', url: '/v1/info' });
      expect(none.statusCode).toBe(401);
      expect(none.json()).toMatchObject({ code: 'UNAUTHORIZED', message: expect.stringMatching(/Authorization: Bearer/) });
      const wrong = await app.inject({ method: 'GET', url: '/v1/info', headers: { authorization: 'Bearer s3cre' } });
      expect(wrong.statusCode).toBe(401);
      const right = await app.inject({ method: 'GET', url: '/v1/info', headers: { authorization: 'Bearer s3cret' } });
      expect(right.statusCode).toBe(200);
      expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await engine.close();
    }
  });

  it('a saturated pool answers 503 with Retry-After while /health stays fast', async () => {
    const engine = await createEngine({ threads: 1 });
    const app = await buildApp({ engine, dataDir: dataDir(), maxActive: 1, maxQueued: 2 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    // One request computes and two may wait: a burst of 12 must see 503s. Binary bodies keep parsing off the
    // event loop's critical path, so what is measured is /health while the pool is busy.
    try {
      const rows = engine.info().backend === 'js' ? 1500 : 5000;
      const body = Buffer.from(encodeNpy(randomF32(rows * 128, 3), [rows, 128]));
      let pending = 0;
      const burst = Array.from({ length: 12 }, () => {
        pending++;
        return fetch(`${url}/v1/topk?k=10`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-npy' },
          body,
          signal: AbortSignal.timeout(120_000),
        }).finally(() => pending--);
      });
      await new Promise((r) => setTimeout(r, 30));
      const healthTimes: number[] = [];
      for (let i = 0; i < 20 && pending > 0; i++) {
        const t0 = performance.now();
        const h = await fetch(`${url}/health`);
        healthTimes.push(performance.now() - t0);
        expect(h.status).toBe(200);
        await new Promise((r) => setTimeout(r, 5));
      }
      const responses = await Promise.all(burst);
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
      const busy = responses.filter((r) => r.status === 503);
      expect(busy.length).toBeGreaterThanOrEqual(1);
      expect(busy[0]!.headers.get('retry-after')).toBe('1');
      expect(await busy[0]!.json()).toMatchObject({ code: 'OVERLOADED', message: expect.stringMatching(/busy/) });
      expect(healthTimes.length).toBeGreaterThan(0);
      healthTimes.sort((a, b) => a - b);
      expect(healthTimes[Math.floor(healthTimes.length / 2)]).toBeLessThan(50);
    } finally {
      await app.close();
      await engine.close();
    }
  });

  it('quiver serve exits 0 on SIGTERM after finishing', async () => {
    const { child, url } = await spawnServe(['--threads', '1', '--data-dir', dataDir()], 30_000);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
