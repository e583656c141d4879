// Large engine buffers: the native addon's huge-page advice (aligned, unaligned and small views; the advice
// leaves contents alone), QUIVER_HUGEPAGES switching it on for the engine's fresh buffers without changing any
// result, and the copy that stages a plain matrix (native: streaming stores over several threads above
// 32 MiB, fused with the finite-value check): the copy holds the source's values, and a NaN or ±Infinity is
// refused with its row and column named, on every backend.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { nativeAddonPath } from '../../src/backends/native.js';
import { Engine } from '../../src/engine/engine.js';
import type { BackendName, Matrix } from '../../src/types.js';
import { expectCode } from '../helpers/errors.js';

type Addon = typeof import('../../native/index.js');

function addon(): Addon | null {
  try {
    return createRequire(import.meta.url)(nativeAddonPath()) as Addon;
  } catch {
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw new Error('QUIVER_REQUIRE_NATIVE=1 but native did not load');
    return null;
  }
}
const native = addon();
/** THP built into this kernel (madvise(MADV_HUGEPAGE) then succeeds whatever the mode). */
const thp = process.platform === 'linux' && existsSync('/sys/kernel/mm/transparent_hugepage/enabled');
const MiB = 1 << 20;

/** Address ranges of this process's mappings that carry the huge-page advice (VmFlags `hg` in /proc/self/smaps). */
function advisedMappings(): Set<string> {
  const out = new Set<string>();
  let range = '';
  for (const l of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(l)) range = l.slice(0, l.indexOf(' '));
    else if (l.startsWith('VmFlags:') && / hg( |$)/.test(l)) out.add(range);
  }
  return out;
}

describe.skipIf(!native)('adviseHugepages (native addon)', () => {
  it('advises only the whole 2 MiB pages inside a view, and leaves the contents alone', () => {
    const a = native!;
    const sab = new SharedArrayBuffer(8 * MiB);
    const bytes = new Uint8Array(sab);
    for (let i = 0; i < bytes.length; i += 4099) bytes[i] = (i % 251) + 1;
    const before = bytes.slice();
    // 8 MiB holds at least three whole aligned 2 MiB pages wherever it starts.
    expect(a.adviseHugepages(bytes)).toBe(thp);
    // An unaligned view (odd offset and length) still holds whole pages.
    expect(a.adviseHugepages(new Uint8Array(sab, 4097, 6 * MiB + 3))).toBe(thp);
    // Under 2 MiB there is no whole huge page: never advised, on any system.
    expect(a.adviseHugepages(new Uint8Array(sab, 1, 2 * MiB - 2))).toBe(false);
    expect(a.adviseHugepages(new Uint8Array(64))).toBe(false);
    expect(a.adviseHugepages(new Uint8Array(0))).toBe(false);
    // An ordinary ArrayBuffer is advised like a shared one.
    expect(a.adviseHugepages(new Uint8Array(new ArrayBuffer(8 * MiB)))).toBe(thp);
    let same = true;
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== before[i]) same = false;
    expect(same).toBe(true);
  });
});

const engines: Engine[] = [];
afterAll(async () => {
  for (const e of engines) await e.close();
});
async function engineOf(backend: BackendName): Promise<Engine | null> {
  try {
    const e = await Engine.create({ backend, threads: 2, inlineWork: 0 });
    engines.push(e);
    return e;
  } catch {
    if (backend === 'native' && process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw new Error('QUIVER_REQUIRE_NATIVE=1 but native did not load');
    return null;
  }
}

/** Seeded values with a spread of magnitudes and signs. */
function matrix(rows: number, cols: number, seed: number): Matrix {
  let s = seed >>> 0;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32 - 0.5) * (1 + (i % 7));
  }
  return { rows, cols, data };
}

describe.skipIf(!native)('QUIVER_HUGEPAGES', () => {
  it('advises the fresh large buffers when 1, none when 0, with the same results, which match an f64 oracle', async () => {
    const e = await engineOf('native');
    const saved = process.env['QUIVER_HUGEPAGES'];
    // 1,100 rows: a 4.8 MB answer, over the 4 MiB threshold.
    const a = matrix(1100, 24, 7);
    const results: Float32Array[] = [];
    try {
      for (const value of ['0', '1']) {
        process.env['QUIVER_HUGEPAGES'] = value;
        const before = thp ? advisedMappings() : new Set<string>();
        results.push((await e!.cosineSimilarity(a)).data);
        if (thp) {
          // Mappings freed meanwhile (garbage collected) do not matter: only new ones are counted.
          const added = [...advisedMappings()].filter((r) => !before.has(r));
          expect(added.length > 0).toBe(value === '1');
        }
      }
    } finally {
      if (saved === undefined) delete process.env['QUIVER_HUGEPAGES'];
      else process.env['QUIVER_HUGEPAGES'] = saved;
    }
    expect(Buffer.compare(Buffer.from(results[1]!.buffer, results[1]!.byteOffset, results[1]!.byteLength), Buffer.from(results[0]!.buffer, results[0]!.byteOffset, results[0]!.byteLength))).toBe(0);
    const norm = (i: number) => {
      let s = 0;
      for (let k = 0; k < a.cols; k++) s += a.data[i * a.cols + k]! ** 2;
      return Math.sqrt(s);
    };
    for (const [i, j] of [[0, 0], [0, 1099], [517, 3], [1099, 640]] as const) {
      let dot = 0;
      for (let k = 0; k < a.cols; k++) dot += a.data[i * a.cols + k]! * a.data[j * a.cols + k]!;
      expect(results[0]![i * 1100 + j]).toBeCloseTo(dot / (norm(i) * norm(j)), 5);
    }
  });
});

describe.each(['native', 'wasm', 'js'] as const)('staging a plain matrix on %s', (backend) => {
  // 9 Mi values (36 MiB): over the 32 MiB at which the native copy streams and splits; 1,000 values: under.
  for (const [rows, cols] of [[147_456, 64], [40, 25]] as const) {
    it(`copies ${rows} × ${cols} exactly and refuses NaN and ±Infinity with the cell named`, async () => {
      const e = await engineOf(backend);
      if (!e) return;
      const m = matrix(rows, cols, 3);
      const copiesBefore = e.inputCopies.count;
      const staged = e.stage(m);
      expect(e.inputCopies.count).toBe(copiesBefore + 1);
      const copy = e.backend.view(staged.region);
      expect(copy.length).toBe(m.data.length);
      let same = true;
      for (let i = 0; i < copy.length; i++) if (copy[i] !== m.data[i]) same = false;
      expect(same).toBe(true);
      staged.release();
      const last = rows * cols - 1;
      for (const [at, v] of [[last, Number.NaN], [cols + 2, Number.POSITIVE_INFINITY], [(rows >> 1) * cols + 5, Number.NEGATIVE_INFINITY]] as const) {
        const bad = { rows, cols, data: m.data.slice() };
        bad.data[at] = v;
        // A later bad value must not be named instead of the first.
        if (at !== last) bad.data[last] = Number.NaN;
        const err = await expectCode(() => e.stage(bad), 'NON_FINITE');
        expect(err.details).toMatchObject({ name: 'x', row: Math.floor(at / cols), col: at % cols });
        // The same through a call's own copy (Scope.input), and unchecked staging copies the value as it is.
        await expectCode(e.normalizeRows(bad), 'NON_FINITE');
        const unchecked = e.stage(bad, 'x', { checkValues: false });
        expect(Object.is(e.backend.view(unchecked.region)[at], v)).toBe(true);
        unchecked.release();
      }
    });
  }
});
