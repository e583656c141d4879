// The bench's report writer on a fixed result object: which anchor is the best, the ratios, and what the
// Markdown and the SVG say. The expected ratios are worked out by hand below, not by the writer.
import { describe, expect, it } from 'vitest';
import { isEngineRow, ratiosToBestAnchor, renderMarkdown, renderSvg } from '../lib/report-md.mjs';

const row = (workload, impl, seconds, rate, unit = 'GFLOP/s', more = {}) => ({ workload, impl, seconds, rate, unit, timer: 'hrtime', notes: [], scaled: null, comparable: true, ...more });

const payload = {
  suite: 'models',
  startedAt: '2026-12-06T05:00:00.000Z',
  quick: false,
  threads: 2,
  machine: {
    cpu: 'AMD EPYC 9R14',
    cores: 2,
    memoryGiB: 7.6,
    node: '22.1.0',
    cpuFlags: ['avx2', 'fma', 'avx512f'],
    loadAverageAtStart: [0.12, 0.3, 0.25],
    backends: { native: { ok: true, simd: 'avx512' }, wasm: { ok: true, simd: 'simd128' }, js: { ok: false, reason: 'x' } },
    python: { version: '3.11.7' },
  },
  roof: { gflops: 206 },
  loadAverageAtEnd: [1.5, 0.8, 0.4],
  targets: { W4: { impl: 'numpy f64', text: 'OLS 1,000,000 × 64' } },
  rows: [
    row('W4', 'native plain', 0.2, 40, 'GFLOP/s', { peakRssDelta: 300 * 2 ** 20, extra: { rssRatio: 1.13 } }),
    row('W4', 'native avx2 plain', 0.25, 32),
    row('W4', 'numpy f32', 0.1, 80),
    row('W4', 'aoclda LinearRegression', 0.05, 160, 'GFLOP/s', { notes: ['verified: aoclda.sklearn._linear_model.LinearRegression (aocl=True)'] }),
    row('W4', 'ml-regression-multivariate-linear', 5, 1, 'GFLOP/s', { comparable: false }),
    { workload: 'W4', impl: 'sklearnex LinearRegression', skipped: 'skipped: scikit-learn-intelex not installed' },
    row('W5', 'native plain', 0.01, 2e7, 'rows/s'),
    row('W5', 'sklearn newton-cholesky', 0.04, 5e6, 'rows/s'),
    { workload: 'W5', impl: 'aoclda LogisticRegression lbfgs', failed: 'AOCL-DA fell back | stock' },
  ],
};

describe('bench report writer', () => {
  it('tells engine rows from anchors by their implementation name', () => {
    expect(['native', 'native plain', 'native avx2 shared', 'wasm shared', 'js plain'].map((impl) => isEngineRow({ impl }))).toEqual([true, true, true, true, true]);
    expect(['numpy f32', 'aoclda KMeans lloyd', 'sklearnex LinearRegression', 'faiss IndexFlatIP', 'javascript'].map((impl) => isEngineRow({ impl }))).toEqual([false, false, false, false, false]);
  });

  it('takes the fastest comparable measured anchor as the reference and divides every rate by it', () => {
    const r = ratiosToBestAnchor(payload.rows);
    // W4: aoclda at 160 GFLOP/s beats numpy f32 (80); ml-* is not comparable, sklearnex skipped.
    expect(r.W4.best).toBe('aoclda LinearRegression');
    const w4 = Object.fromEntries(r.W4.rows.map((x) => [x.impl, x.ratio]));
    expect(w4['native plain']).toBeCloseTo(0.25, 12);
    expect(w4['native avx2 plain']).toBeCloseTo(0.2, 12);
    expect(w4['numpy f32']).toBeCloseTo(0.5, 12);
    expect(w4['aoclda LinearRegression']).toBe(1);
    expect(w4['ml-regression-multivariate-linear']).toBeNull();
    expect(w4['sklearnex LinearRegression']).toBeNull();
    // W5: the failed anchor does not count; sklearn is the best one left.
    expect(r.W5.best).toBe('sklearn newton-cholesky');
    expect(r.W5.rows.find((x) => x.impl === 'native plain').ratio).toBeCloseTo(4, 12);
  });

  it('uses the rows marked as reference instead of the anchors when a workload has them (the isa suite)', () => {
    const rows = [row('ISA-gram', 'native avx512 kernel', 0.1, 30), { ...row('ISA-gram', 'native avx2 kernel', 0.12, 25), reference: true }, row('ISA-gram', 'numpy f64', 0.05, 60)];
    const r = ratiosToBestAnchor(rows)['ISA-gram'];
    expect(r.best).toBe('native avx2 kernel');
    expect(r.rows.map((x) => x.ratio)).toEqual([1.2, 1, 2.4]);
  });

  it('writes the machine, ISA, date, load and one table per workload in Markdown', () => {
    const md = renderMarkdown(payload);
    expect(md).toContain('- CPU: AMD EPYC 9R14, 2 cores');
    expect(md).toContain('- ISA: avx2 fma avx512f; backends: native=avx512, wasm=simd128, js=unavailable');
    expect(md).toContain('- date: 2026-12-06T05:00:00.000Z');
    expect(md).toContain('0.12, 0.3, 0.25 at start, 1.5, 0.8, 0.4 at end');
    expect(md).toContain('## W4');
    expect(md).toContain('Best anchor: aoclda LinearRegression');
    expect(md).toMatch(/\| native plain \| 200 ms \| 40\.0 GFLOP\/s \| 0\.25× \| 300 MiB \| 1\.13× \|/);
    expect(md).toContain('| sklearnex LinearRegression | | | | | | skipped: scikit-learn-intelex not installed |');
    // A pipe inside a cell would break the table: it is escaped.
    expect(md).toContain('FAILED: AOCL-DA fell back \\| stock');
  });

  it('draws one bar per row with a ratio, scaled to the largest ratio, and a line at 1×', () => {
    const svg = renderSvg(payload);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const widths = [...svg.matchAll(/<rect x="300" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
    // W4: 0.25, 0.2, 0.5, 1; W5: 4, 1 → six bars; the largest ratio (4) fills the 420-pixel plot.
    expect(widths).toEqual([26.3, 21, 52.5, 105, 420, 105]);
    expect(svg).toContain('W4 (best anchor: aoclda LinearRegression)');
    expect(svg).toContain('<line x1="405.0"');
    expect(svg).not.toContain('ml-regression-multivariate-linear');
  });
});
