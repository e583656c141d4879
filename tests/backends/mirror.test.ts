// mirrorStrip on every backend and level against the definition written here: each cell (c, r) below a strip
// takes the value of (r, c), every other cell keeps its own, for strips with and without 8-row/8-column tails.
import { describe, expect, it } from 'vitest';
import { backendCases } from '../helpers/backends.js';
import { expectCode } from '../helpers/errors.js';

const cases = await backendCases();

/** A matrix whose cells all differ (so a misplaced move shows), and the mirrored one the definition gives. */
function problem(n: number, row0: number, row1: number): { start: Float32Array; want: Float32Array } {
  const start = Float32Array.from({ length: n * n }, (_, i) => i + 0.25);
  const want = start.slice();
  for (let r = row0; r < row1; r++) for (let c = row1; c < n; c++) want[c * n + r] = start[r * n + c]!;
  return { start, want };
}

describe.each(cases)('mirrorStrip on $label', ({ backend: b }) => {
  it('moves exactly the cells below the strip, for every mix of whole 8 × 8 blocks and tails', () => {
    const shapes: [number, number, number][] = [
      [1, 0, 1],
      [9, 0, 3],
      [16, 0, 8],
      [16, 8, 16],
      [37, 5, 21],
      [64, 0, 64],
      [70, 13, 45],
      [33, 33, 33],
      [40, 10, 10],
    ];
    for (const [n, row0, row1] of shapes) {
      const { start, want } = problem(n, row0, row1);
      const out = start.slice();
      b.mirrorStrip(out, n, row0, row1);
      expect(out, `n=${n} rows ${row0}..${row1}`).toEqual(want);
    }
  });

  it('all strips of a matrix, one after another, complete it from what the strips computed (columns ≥ their first row)', () => {
    const n = 53;
    const strip = 12;
    const sym = (r: number, c: number) => Math.fround(Math.sin(Math.min(r, c) * 131 + Math.max(r, c) * 7));
    const out = new Float32Array(n * n);
    for (let r = 0; r < n; r++) for (let c = r - (r % strip); c < n; c++) out[r * n + c] = sym(r, c);
    for (let r = 0; r < n; r += strip) b.mirrorStrip(out, n, r, Math.min(n, r + strip));
    for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) expect(out[r * n + c]).toBe(sym(r, c));
  });
});

describe.each(cases.filter((c) => c.backend.info.name === 'native'))('mirrorStrip arguments on $label', ({ backend: b }) => {
  it('refuses a strip outside the matrix or an array too short for it', async () => {
    await expectCode(() => b.mirrorStrip(new Float32Array(16), 4, 0, 5), 'INVALID_ARGUMENT');
    await expectCode(() => b.mirrorStrip(new Float32Array(16), 4, 3, 2), 'INVALID_ARGUMENT');
    await expectCode(() => b.mirrorStrip(new Float32Array(15), 4, 0, 2), 'SHAPE_MISMATCH');
  });
});
