// The CLI as a user runs it: a child process on the compiled dist/ (npm test builds it first).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/data/npy.js';
import { quiver } from '../helpers/cli.js';
import { randomF32 } from '../helpers/rng.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-'));

describe('quiver CLI', () => {
  it('info reports the backend this pass selected', async () => {
    const r = await quiver('info');
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as { backend: string; simd: string; threads: number };
    expect(info.threads).toBe(2);
    if (process.env['QUIVER_BACKEND']) expect(info.backend).toBe(process.env['QUIVER_BACKEND']);
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') expect(info.backend).toBe('native');
    expect(info.simd.length).toBeGreaterThan(0);
    // The machine-dependent EASE default, with where it comes from (oracle: 75% of os.totalmem() here, no cgroup limit below it).
    const d = (JSON.parse(r.stdout) as { defaults: { easeMemoryBudget: { bytes: number; source: string } } }).defaults.easeMemoryBudget;
    expect(d.bytes).toBeLessThanOrEqual(Math.floor(0.75 * totalmem()));
    expect(d.source).toMatch(/^75% of the (machine memory \(os\.totalmem\(\)\)|cgroup memory limit), /);
  });

  it('evaluate takes the EASE options --min-item-support and --ease-precision', async () => {
    const r = await quiver('evaluate', '--synthetic', '300x400x6000:5', '--algo', 'ease', '--min-item-support', '5', '--ease-precision', 'f32');
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { users: number }).users).toBe(300);
    const bad = await quiver('evaluate', '--synthetic', '300x400x6000:5', '--algo', 'ease', '--ease-precision', 'f16');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--ease-precision.*f64, f32/);
  });

  it('topk and similarity write .npy outputs that agree with each other', async () => {
    const x = randomF32(50 * 8, 3);
    writeFileSync(join(dir, 'x.npy'), encodeNpy(x, [50, 8]));
    const t = await quiver('topk', '--queries', join(dir, 'x.npy'), '--base', join(dir, 'x.npy'), '--k', '5', '--exclude-self', '--out', join(dir, 'nn'));
    expect(t.code).toBe(0);
    const idx = parseNpy(readFileSync(join(dir, 'nn.indices.npy')));
    const sc = parseNpy(readFileSync(join(dir, 'nn.scores.npy')));
    expect(idx.dtype).toBe('i32');
    expect(idx.shape).toEqual([50, 5]);
    expect(sc.shape).toEqual([50, 5]);
    const s = await quiver('similarity', '--a', join(dir, 'x.npy'), '--out', join(dir, 's.npy'));
    expect(s.code).toBe(0);
    const sim = parseNpy(readFileSync(join(dir, 's.npy')));
    expect(sim.shape).toEqual([50, 50]);
    // The best neighbour of row 0 is the argmax of row 0 of the similarity matrix (without the diagonal).
    const row = Array.from(sim.data.subarray(0, 50));
    row[0] = -Infinity;
    expect(idx.data[0]).toBe(row.indexOf(Math.max(...row)));
  });

  it('bad input exits non-zero with the code and what to fix', async () => {
    writeFileSync(join(dir, 'bad.npy'), 'not numpy');
    const r = await quiver('topk', '--queries', join(dir, 'bad.npy'), '--base', join(dir, 'bad.npy'), '--k', '3', '--out', join(dir, 'o'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/INVALID_ARGUMENT: .*bad\.npy: not a \.npy file/);
    const k = await quiver('topk', '--queries', 'a', '--base', 'b', '--k', '0', '--out', 'o');
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/--k must be a whole number ≥ 1/);
    const b = await quiver('info', '--backend', 'nope');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/INVALID_ARGUMENT: the backend \(QUIVER_BACKEND or --backend\) must be auto, native, wasm or js \(got "nope"\)/);
    const m = await quiver('similarity', '--a', join(dir, 'missing.npy'), '--out', join(dir, 'o.npy'));
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/NOT_FOUND: cannot read .*missing\.npy/);
  });
});
