// Closing an engine (its pool) at any moment, including while its worker threads are still loading: the calls in
// flight end ABORTED or with their answer, and the process survives. Node 20's require(esm), which is how Piscina
// loads the worker module, aborted the whole process when a thread was terminated in the instant after that
// module evaluated; the first test closes exactly there (in a child process, since an abort cannot be caught).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { fitLinearRegression } from '../../src/models/linear.js';
import type { BackendName } from '../../src/types.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../helpers/close-mid-load-child.mjs', import.meta.url));

describe('closing the pool while its threads load', () => {
  it('terminating a thread right after the worker module evaluated (mid require(esm)) does not abort the process', async () => {
    // 40 rounds: without `__esModule` in worker.ts every run of 20 rounds aborted here (Node 20.20).
    const res = await run(process.execPath, [CHILD, '40'], { env: process.env, timeout: 120_000 }).catch((err: { code?: unknown; signal?: unknown; stderr?: string }) => {
      throw new Error(`the child ended with code ${String(err.code)}, signal ${String(err.signal)}: ${(err.stderr ?? '').slice(0, 600)}`);
    });
    const r = JSON.parse(res.stdout.trim()) as { rounds: number; flagged: number };
    expect(r.rounds).toBe(40);
    // Every round closed after the flag rose, i.e. inside the load rather than before it started.
    expect(r.flagged).toBe(40);
  });
});

describe.each(['native', 'wasm', 'js'] as BackendName[])('closing an engine during a fit on %s', (backend) => {
  it('at five points from the first pooled call on, the fit ends ABORTED or done; a borrowed array may be reused right after', async () => {
    const probe = await Engine.create({ backend, threads: 2, inlineWork: 0 }).catch(() => null);
    if (!probe) {
      if (backend === 'native' && process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw new Error('QUIVER_REQUIRE_NATIVE=1 but native did not load');
      return;
    }
    await probe.close();
    const n = 200_000;
    const p = 16; // 12.8 MB: borrowed on native, copied elsewhere
    const outcomes: string[] = [];
    for (const delay of [0, 20, 40, 60, 80]) {
      const e = await Engine.create({ backend, threads: 2, inlineWork: 0 });
      let data: Float32Array | null = Float32Array.from({ length: n * p }, (_, i) => (i % 97) * 0.01 + (i % p));
      const fit = fitLinearRegression(e, { rows: n, cols: p, data }, new Float64Array(n).fill(1)).then(
        () => 'done',
        (err: unknown) => (err as { code?: string }).code ?? String(err),
      );
      await new Promise((r) => setTimeout(r, delay));
      await e.close();
      outcomes.push(await fit);
      // The workers are gone once close has settled: the array's pages may serve the next allocation.
      data = null;
      new Float32Array(n * p).fill(1);
    }
    expect(outcomes.filter((o) => o !== 'done' && o !== 'ABORTED')).toEqual([]);
  });
});
