// Lift and cumulative gain by decile: a hand-worked table (ties across a decile boundary, n not a multiple of
// 10), and a reference written here (rank by score, stable; bin ⌊10·r/n⌋) on random scores.
import { describe, expect, it } from 'vitest';
import { formatLiftTable, gainChartSvg, liftTable } from '../../src/models/lift.js';
import { expectCode } from '../helpers/errors.js';
import { mulberry32 } from '../helpers/rng.js';

describe('liftTable', () => {
  it('hand-worked: 12 rows, ties straddling the first boundary split in input order', () => {
    // Ranks: scores 0.9 (rows 0, 1, 2, all tied), then 0.8, 0.7, … Rank r of 12 goes to bin ⌊10r/12⌋ + 1.
    const p = [0.9, 0.9, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    const y = [1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0];
    const t = liftTable(y, p);
    const sizes = t.deciles.map((d) => d.rows);
    // oracle: ⌊10r/12⌋ for r = 0..11 → 0,0,1,2,3,4,5,5,6,7,8,9
    expect(sizes).toEqual([2, 1, 1, 1, 1, 2, 1, 1, 1, 1]);
    // Bin 1 holds rows 0 and 1 (input order among the tied 0.9s): one positive; bin 2 holds row 2.
    expect(t.deciles[0]).toMatchObject({ positives: 1, rate: 0.5, lift: 0.5 / (4 / 12), cumulativeGain: 1 / 4 });
    expect(t.deciles[1]).toMatchObject({ positives: 1, cumulativeRows: 3, cumulativePositives: 2, cumulativeGain: 2 / 4 });
    expect(t.deciles[9]).toMatchObject({ cumulativeRows: 12, cumulativeGain: 1, cumulativeLift: 1 });
    expect(t.baseRate).toBe(4 / 12);
    expect(formatLiftTable(t).split('\n')).toHaveLength(13);
    expect(gainChartSvg(t)).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
  });

  it('random scores: per-decile counts match a reference written here', () => {
    const r = mulberry32(3);
    const n = 1237;
    const p = Array.from({ length: n }, () => Math.round(r() * 50) / 50); // many ties
    const y = p.map((v) => (r() < v ? 1 : 0));
    const t = liftTable(y, p);
    const order = p.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const pos = new Array<number>(10).fill(0);
    const rows = new Array<number>(10).fill(0);
    order.forEach(([, i], rank) => {
      const d = Math.floor((10 * rank) / n);
      rows[d]!++;
      pos[d]! += y[i]!;
    });
    expect(t.deciles.map((d) => d.rows)).toEqual(rows);
    expect(t.deciles.map((d) => d.positives)).toEqual(pos);
    const total = pos.reduce((a, b) => a + b);
    let cum = 0;
    t.deciles.forEach((d, k) => {
      cum += pos[k]!;
      expect(d.cumulativeGain).toBeCloseTo(cum / total, 14);
      expect(d.lift).toBeCloseTo(pos[k]! / rows[k]! / (total / n), 12);
    });
  });

  it('bad input', async () => {
    await expectCode(() => liftTable([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], new Array(10).fill(0.5)), 'INVALID_ARGUMENT', /without positive rows/);
    await expectCode(() => liftTable([0, 1, 2], [0.1, 0.2, 0.3], 2), 'INVALID_ARGUMENT', /0\/1 targets/);
    await expectCode(() => liftTable([0, 1], [0.1, 0.2]), 'INVALID_ARGUMENT', /at least 10 rows/);
  });
});
