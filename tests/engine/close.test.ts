// Closing an engine (its pool) at any moment, including while its worker threads are still loading: the calls in
// flight end ABORTED or with their answer, and the process survives. Node 20's require(esm), which is how Piscina
// loaded the ES worker module before src/pool/worker-entry.cts, aborted the whole process when a thread was
// terminated in some steps of that load; the first test terminates threads all over the load (in a child
// process, since an abort cannot be caught).
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
  it('terminating threads at points spread over their module load (Piscina loading the worker entry) never aborts the process', async () => {
    // 60 rounds of 4 threads. Loading worker.js itself as the entry (argv[3]), as before worker-entry.cts, aborted
    // 7 runs of 8 here (Node 20.20): the V8 fatal error in instantiation, or the facade's.
    const res = await run(process.execPath, [CHILD, '60'], { env: process.env, timeout: 180_000 }).catch((err: { code?: unknown; signal?: unknown; stderr?: string }) => {
      throw new Error(`the child ended with code ${String(err.code)}, signal ${String(err.signal)}: ${(err.stderr ?? '').slice(0, 600)}`);
    });
    const r = JSON.parse(res.stdout.trim()) as { rounds: number; loadMs: number; midLoad: number };
    expect(r.rounds).toBe(60);
    // Some terminations landed while the threads were still loading (typically half of the 240), not all after.
    expect(r.midLoad).toBeGreaterThan(0);
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
