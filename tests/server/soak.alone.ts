// The soak test (bounded: SOAK_SECONDS of load, loopback only): a server in its own process (2 pool threads,
// maxActive 4, maxQueued 8, so 12 requests admitted at once) gets twice that concurrency (24 clients, from a
// load process of their own) of mixed routes: /v1/topk with small and large JSON bodies and with small and large
// .npy bodies, /v1/similarity and /v1/models/:id/predict. Asserted: only 2xx, 413 and 503 answers; /health,
// probed every 20 ms from this process, within HEALTH_P99_MS at p99; the server's RSS after the run within
// RSS_BOUND_MB of before. The figures are printed (`soak:` lines). SOAK_SECONDS is 15 for CI; set
// QUIVER_SOAK_SECONDS (at most 60) for a longer run.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/data/npy.js';
import { mulberry32 } from '../helpers/rng.js';

const SOAK_SECONDS = Math.min(60, Number(process.env['QUIVER_SOAK_SECONDS'] ?? 15));
const MAX_ACTIVE = 4;
const MAX_QUEUED = 8;
const CLIENTS = 2 * (MAX_ACTIVE + MAX_QUEUED);
/**
 * The target: 50 ms. On the 2-core AMD EPYC (Zen 4, avx512f) this was tuned on, with the compute and
 * JSON-parse threads at nice +5 and the load process at +10, three quiet runs measured p99 22.4, 27.4 and 28.2 ms
 * (max 34–58 ms); with another engineer's benchmark on the same 2 cores, 28–49 ms. The test runs in npm test's
 * alone pass, with nothing beside it. QUIVER_SOAK_P99_MS overrides the bound (e.g. on a machine shared with
 * other work).
 */
const HEALTH_P99_MS = Number(process.env['QUIVER_SOAK_P99_MS'] ?? 50);
/**
 * RSS growth over the run that counts as bounded: the server reads at most maxActive (4) bodies at once; the
 * rest is the heaps of the pool threads and V8 growing to their working size (measured +190 MB in 15 s).
 */
const RSS_BOUND_MB = 300;

let child: ChildProcess;
let url: string;

function rssMb(pid: number): number | undefined {
  const status = `/proc/${pid}/status`;
  if (!existsSync(status)) return undefined;
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(status, 'utf8'));
  return m ? Number(m[1]) / 1024 : undefined;
}

function rows(n: number, cols: number, seed: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Array.from({ length: cols }, () => Math.round((r() * 2 - 1) * 1000) / 1000));
}

beforeAll(async () => {
  const script = join(import.meta.dirname, '..', 'helpers', 'serve-child.mjs');
  const opts = { threads: 2, maxActive: MAX_ACTIVE, maxQueued: MAX_QUEUED, logLevel: 'error' };
  // QUIVER_SOAK_NODE_ARGS (e.g. --cpu-prof) goes to the server's node: how to see where its event loop goes.
  const nodeArgs = (process.env['QUIVER_SOAK_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  child = spawn(process.execPath, [...nodeArgs, script, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server printed no URL')), 30_000);
    child.stdout!.once('data', (d: Buffer) => {
      clearTimeout(timer);
      resolve(d.toString().trim());
    });
  });
});

afterAll(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
});

describe('soak', () => {
  it(`${CLIENTS} clients of mixed routes for ${SOAK_SECONDS} s: only 2xx/413/503, /health p99 < ${HEALTH_P99_MS} ms, RSS bounded`, async () => {
    // A model to score, fitted before the load.
    const fit = await fetch(`${url}/v1/linear`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: rows(200, 16, 1), target: rows(200, 1, 2).map((r) => r[0]), l2: 1 }),
    });
    expect(fit.status).toBe(200);
    const modelId = ((await fit.json()) as { id: string }).id;

    const dir = mkdtempSync(join(tmpdir(), 'quiver-soak-'));
    let files = 0;
    const file = (body: Uint8Array | string) => {
      const f = join(dir, `body${files++}`);
      writeFileSync(f, body);
      return f;
    };
    const json = (o: unknown) => ({ type: 'application/json', file: file(JSON.stringify(o)) });
    const npy = (n: number, cols: number, seed: number) => {
      const r = mulberry32(seed);
      return { type: 'application/x-npy', file: file(encodeNpy(Float32Array.from({ length: n * cols }, () => r() * 2 - 1), [n, cols])) };
    };
    // The large JSON body is the shape: 200 queries × 3,000 base rows × 64 columns.
    const requests = [
      { path: '/v1/topk', ...json({ queries: rows(20, 8, 3), k: 5 }) },
      { path: '/v1/topk', ...json({ queries: rows(200, 64, 4), base: rows(3000, 64, 5), k: 10 }) },
      { path: '/v1/topk?k=5', ...npy(100, 32, 6) },
      // A large binary body asks for a binary answer (4,000 × 10 neighbours as JSON would be its own load).
      { path: '/v1/topk?k=10', ...npy(4000, 64, 7), accept: 'application/vnd.apache.arrow.stream' },
      { path: '/v1/similarity', ...json({ a: rows(50, 16, 8) }) },
      { path: `/v1/models/${modelId}/predict`, ...json({ rows: rows(500, 16, 9) }) },
    ];
    const largeJsonMb = (statSync(requests[1]!.file).size / 2 ** 20).toFixed(1);

    const pid = child.pid!;
    const rssBefore = rssMb(pid);
    const healthMs: number[] = [];
    const script = join(import.meta.dirname, '..', 'helpers', 'load-child.mjs');
    const load = spawn(process.execPath, [script, JSON.stringify({ url, seconds: SOAK_SECONDS, clients: CLIENTS, requests })], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Real clients run on other machines: the load process runs at nice +10 here, so that on a 2-core machine the
    // clients' own JSON encoding does not take the server's CPU (the server's compute threads are at +5 already).
    setPriority(load.pid!, 10);
    let loadOut = '';
    load.stdout.on('data', (d: Buffer) => (loadOut += d.toString()));
    const loadDone = new Promise<number | null>((r) => load.once('exit', r));
    const deadline = performance.now() + SOAK_SECONDS * 1000;
    await new Promise((r) => setTimeout(r, 500)); // the load is under way
    while (performance.now() < deadline) {
      const t0 = performance.now();
      const h = await fetch(`${url}/health`);
      await h.arrayBuffer();
      healthMs.push(performance.now() - t0);
      expect(h.status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await loadDone).toBe(0);
    const { sent, statuses: counts } = JSON.parse(loadOut) as { sent: number; statuses: Record<string, number> };
    const statuses = new Map(Object.entries(counts).map(([s, n]) => [s, n]));
    // Let the last answers' buffers go before measuring.
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = rssMb(pid);

    healthMs.sort((a, b) => a - b);
    const p = (q: number) => healthMs[Math.min(healthMs.length - 1, Math.floor(q * healthMs.length))]!;
    const byStatus = [...statuses.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}: ${n}`).join(', ');
    console.log(`soak: ${SOAK_SECONDS} s, ${CLIENTS} clients, ${sent} requests (large JSON body ${largeJsonMb} MB); statuses ${byStatus}`);
    console.log(`soak: /health ${healthMs.length} probes, p50 ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms, max ${p(1).toFixed(1)} ms`);
    console.log(`soak: server RSS before ${rssBefore?.toFixed(0) ?? '?'} MB, after ${rssAfter?.toFixed(0) ?? '?'} MB (bound: +${RSS_BOUND_MB} MB)`);

    // A request refused at admission is answered 503 with `Connection: close` before its body is read; a client
    // still writing a large body then sees the socket close (EPIPE or ECONNRESET) instead of the 503. Those count
    // as shed requests, as long as they stay rare; any other status or error fails.
    const cut = (statuses.get('error: EPIPE') ?? 0) + (statuses.get('error: ECONNRESET') ?? 0);
    for (const s of statuses.keys()) expect(['200', '413', '503', 'error: EPIPE', 'error: ECONNRESET'], `status ${s}`).toContain(s);
    expect(cut, 'requests cut while sending their body').toBeLessThanOrEqual(Math.max(5, sent * 0.01));
    expect(statuses.get('200') ?? 0).toBeGreaterThan(0);
    expect(p(0.99)).toBeLessThan(HEALTH_P99_MS);
    // The memory bound is part of the contract: an unreadable RSS (no /proc) fails rather than skips it.
    expect(rssBefore, 'server RSS before').toBeDefined();
    expect(rssAfter, 'server RSS after').toBeDefined();
    expect(rssAfter! - rssBefore!).toBeLessThan(RSS_BOUND_MB);
  });
});
