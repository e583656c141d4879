// Failures the service must survive and report: the request deadline, a client that goes away while its work
// waits, a 5xx (logged with stack and cause under the request id), bad binary bodies and the size limits, a pool
// worker that dies, and SIGTERM with a request in flight.
import { spawnServe } from '../helpers/server.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/data/npy.js';
import { Pool } from '../../src/pool/pool.js';
import { createEngine, type Quiver } from '../../src/quiver.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { COMPUTE, compute, type ServerContext } from '../../src/server/context.js';

const dataDir = () => mkdtempSync(join(tmpdir(), 'quiver-fail-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let engine: Quiver;
beforeAll(async () => {
  engine = await createEngine({ threads: 1 });
});
afterAll(async () => {
  await engine.close();
});

/** Test routes: /test/hold keeps a compute slot for ?ms; /test/record notes that its work ran; /test/boom fails. */
function testRoutes(ran: string[]) {
  return async (app: FastifyInstance, ctx: ServerContext): Promise<void> => {
    app.get('/test/hold', { config: COMPUTE }, async (request, reply) => {
      const ms = Number((request.query as { ms?: string }).ms ?? 300);
      return compute(ctx, reply, async () => {
        await sleep(ms);
        return { held: ms };
      });
    });
    app.get('/test/record', { config: COMPUTE }, async (request, reply) =>
      compute(ctx, reply, async () => {
        ran.push(request.id);
        return { ran: true };
      }),
    );
    app.get('/test/boom', async () => {
      throw new Error('the disk is on fire', { cause: new Error('root cause: no space left') });
    });
  };
}

async function app(opts: Partial<AppOptions> = {}, ran: string[] = []): Promise<FastifyInstance> {
  return buildApp({ engine, dataDir: dataDir(), plugins: [testRoutes(ran)], ...opts });
}

describe('deadline and disconnect', () => {
  it('a request whose deadline passes while it waits for a slot is 503 ABORTED, and its work never runs', async () => {
    const ran: string[] = [];
    const a = await app({ maxActive: 1, maxQueued: 4, limits: { requestTimeoutMs: 150 } }, ran);
    try {
      const hold = a.inject({ method: 'GET', url: '/test/hold?ms=400' });
      await sleep(20);
      const late = await a.inject({ method: 'GET', url: '/test/record' });
      expect(late.statusCode).toBe(503);
      expect(late.json()).toMatchObject({ code: 'ABORTED', message: expect.stringMatching(/aborted/) });
      expect(ran).toEqual([]);
      expect((await hold).statusCode).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('a client that disconnects while queued leaves the queue; its work never runs', async () => {
    const ran: string[] = [];
    const a = await app({ maxActive: 1, maxQueued: 4 }, ran);
    const url = await a.listen({ host: '127.0.0.1', port: 0 });
    try {
      const hold = fetch(`${url}/test/hold?ms=600`);
      await sleep(50);
      const ac = new AbortController();
      const gone = fetch(`${url}/test/record`, { signal: ac.signal }).catch((e: unknown) => e);
      await sleep(100);
      expect(((await (await fetch(`${url}/ready`)).json()) as { queued: number }).queued).toBe(1);
      ac.abort();
      await gone;
      await sleep(100);
      expect(((await (await fetch(`${url}/ready`)).json()) as { queued: number }).queued).toBe(0);
      expect((await hold).status).toBe(200);
      await sleep(50);
      expect(ran).toEqual([]);
      // The server keeps serving.
      expect((await fetch(`${url}/test/record`)).status).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('/ready is 503 when a compute request would be refused', async () => {
    const a = await app({ maxActive: 1, maxQueued: 1 });
    try {
      const holds = [a.inject({ method: 'GET', url: '/test/hold?ms=200' }), a.inject({ method: 'GET', url: '/test/hold?ms=10' })];
      await sleep(20);
      const ready = await a.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ ready: false, active: 1, queued: 1 });
      await Promise.all(holds);
      expect((await a.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    } finally {
      await a.close();
    }
  });
});

describe('every failure findable', () => {
  it('a 500 has a code and the request id; the log has the stack and the cause under that id, and every request line has its id', async () => {
    const lines: Record<string, unknown>[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const a = await app({ logLevel: 'info', logStream });
    try {
      const res = await a.inject({ method: 'GET', url: '/test/boom' });
      expect(res.statusCode).toBe(500);
      const body = res.json() as { code: string; message: string; requestId: string; stack?: unknown };
      expect(body).toMatchObject({ code: 'INTERNAL', message: expect.stringMatching(/requestId/) });
      expect(body.stack).toBeUndefined();
      expect(body.requestId).toBe(res.headers['x-request-id']);
      const mine = lines.filter((l) => l['reqId'] === body.requestId);
      const error = mine.find((l) => l['level'] === 50) as { err: { stack: string }; cause: { message: string; stack: string } } | undefined;
      expect(error?.err.stack).toMatch(/the disk is on fire\n\s+at /);
      expect(error?.cause.message).toBe('root cause: no space left');
      expect(error?.cause.stack).toMatch(/\n\s+at /);
      // Every line written while the request ran carries its id.
      expect(mine.length).toBeGreaterThanOrEqual(3); // incoming request, the error, request completed
      expect(lines.filter((l) => typeof l['req'] === 'object' || typeof l['res'] === 'object').every((l) => typeof l['reqId'] === 'string')).toBe(true);
    } finally {
      await a.close();
    }
  });
});

describe('binary bodies and limits', () => {
  it('NaN in .npy is 400 NON_FINITE; malformed Arrow is 400; rows and cells limits are 413', async () => {
    const a = await app({ limits: { maxRows: 10, maxCells: 50 } });
    try {
      const npy = (data: Float32Array, shape: [number, number]) => ({ 'content-type': 'application/x-npy', payload: Buffer.from(encodeNpy(data, shape)) });
      const post = (url: string, b: { 'content-type': string; payload: Buffer }) => a.inject({ method: 'POST', url, headers: { 'content-type': b['content-type'] }, payload: b.payload });
      const nan = await post('/v1/topk?k=1', npy(Float32Array.from([1, 2, Number.NaN, 4]), [2, 2]));
      expect(nan.statusCode).toBe(400);
      expect(nan.json()).toMatchObject({ code: 'NON_FINITE' });
      const arrow = await post('/v1/topk?k=1', { 'content-type': 'application/vnd.apache.arrow.stream', payload: Buffer.from('definitely not an Arrow stream') });
      expect(arrow.statusCode).toBe(400);
      expect(arrow.json()).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/Arrow/) });
      const strings = Buffer.from(tableToIPC(tableFromArrays({ name: ['a', 'b'] }), 'stream'));
      const text = await post('/v1/topk?k=1', { 'content-type': 'application/vnd.apache.arrow.stream', payload: strings });
      expect(text.statusCode).toBe(400);
      expect(text.json()).toMatchObject({ message: expect.stringMatching(/only numeric columns/) });
      const rows = await post('/v1/topk?k=1', npy(new Float32Array(11 * 2).fill(1), [11, 2]));
      expect(rows.statusCode).toBe(413);
      expect(rows.json()).toMatchObject({ code: 'TOO_LARGE', details: { limit: 'maxRows', value: 11, max: 10 } });
      const cells = await post('/v1/topk?k=1', npy(new Float32Array(10 * 6).fill(1), [10, 6]));
      expect(cells.statusCode).toBe(413);
      expect(cells.json()).toMatchObject({ code: 'TOO_LARGE', details: { limit: 'maxCells', value: 60, max: 50 } });
    } finally {
      await a.close();
    }
  });
});

describe('crash safety', () => {
  it('a pool worker that dies fails its task with a code; the pool replaces it and the next task succeeds', async () => {
    // The engine's pool runs its own handlers only; this pool runs a handler that ends its thread.
    const pool = new Pool({ threads: 1, backend: { name: 'js' }, handlers: [join(import.meta.dirname, 'fixtures', 'exit-handlers.mjs')] });
    try {
      const err = await pool.run('exit', null).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'INTERNAL' });
      expect(await pool.run('echo', 7)).toBe(7);
      expect(await pool.run('echo', 'again')).toBe('again');
    } finally {
      await pool.close();
    }
  });
});

describe('crash safety through the server', () => {
  it('a compute worker killed mid-request: that request is 500 INTERNAL with the cause logged, the server keeps serving', async () => {
    const lines: Record<string, unknown>[] = [];
    const logStream = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    // Its own engine, so the killed thread is not one the other tests' engine relies on.
    const own = await createEngine({ threads: 1, backend: 'js' });
    const a = await buildApp({ engine: own, dataDir: dataDir(), logLevel: 'error', logStream });
    try {
      // Work that runs in the pool for a while: all-pairs top-k of 4,000 rows × 64 on the js backend (1e9 multiply-adds).
      const npy = (n: number) => Buffer.from(encodeNpy(Float32Array.from({ length: n * 64 }, (_, i) => Math.sin(i)), [n, 64]));
      const post = (n: number) => a.inject({ method: 'POST', url: '/v1/topk?k=5', headers: { 'content-type': 'application/x-npy' }, payload: npy(n) });
      const busy = post(4000);
      const t0 = Date.now();
      while (own.pendingTasks === 0 && Date.now() - t0 < 20_000) await sleep(5);
      expect(own.pendingTasks, 'the request reached the pool').toBeGreaterThan(0);
      await Promise.all(own.workerThreads.map((w) => w.terminate()));
      const res = await busy;
      expect(res.statusCode).toBe(500);
      const err = res.json() as { code: string; message: string; requestId: string };
      expect(err.code).toBe('INTERNAL');
      expect(err.message).toMatch(/compute worker stopped/);
      expect(lines.some((l) => l['reqId'] === err.requestId && l['level'] === 50)).toBe(true);
      // The pool has replaced the thread: the same request now succeeds.
      const again = await post(300);
      expect(again.statusCode).toBe(200);
      expect((await a.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    } finally {
      await a.close();
      await own.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM with a request in flight: the request completes, then the process exits 0', async () => {
    const { child, url } = await spawnServe(['--threads', '1', '--data-dir', dataDir(), '--log-level', 'warn'], 60_000);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // A fit that takes a while on one thread (about a second here).
    const inFlight = fetch(`${url}/v1/recommenders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ algo: 'itemknn', synthetic: { users: 40000, items: 4000, interactions: 800000, seed: 1 } }),
    });
    let answered = false;
    void inFlight.then(() => (answered = true), () => undefined);
    await sleep(250);
    expect(answered).toBe(false); // still in flight when the signal comes
    child.kill('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { kind: string }).kind).toBe('itemknn');
    expect(await exited).toBe(0);
  });
});
