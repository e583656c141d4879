// Fit progress: the kNN and EASE fits report their phases through onProgress (done rising to total), and the
// CLI's renderer draws them on a TTY only (a stand-in stream and clock here), with a per-phase ETA.
import { describe, expect, it } from 'vitest';
import { SyntheticInteractions } from '../../src/data/synthetic.js';
import { FitProgressLine } from '../../src/cli/common.js';
import { fitRecommender } from '../../src/models/recommenders.js';
import { engineFactory } from '../helpers/engines.js';

const engine = engineFactory({ threads: 2 });
const DATA = new SyntheticInteractions({ users: 700, items: 300, interactions: 9000, seed: 7 }).toInteractions();

type Report = { phase: string; done: number; total: number };

/** Each phase's reports in order: done never falls, starts at 0 and ends at total. */
function expectPhases(reports: Report[], want: { phase: string; total: number }[]): void {
  expect([...new Set(reports.map((r) => r.phase))]).toEqual(want.map((w) => w.phase));
  for (const w of want) {
    const rs = reports.filter((r) => r.phase === w.phase);
    expect(rs.every((r) => r.total === w.total)).toBe(true);
    expect(rs[0]!.done).toBe(0);
    expect(rs[rs.length - 1]!.done).toBe(w.total);
    for (let i = 1; i < rs.length; i++) expect(rs[i]!.done).toBeGreaterThanOrEqual(rs[i - 1]!.done);
  }
}

describe('fit progress reports', () => {
  it('item and user kNN: the similarity rows in blocks (sparse), or all at once (dense)', async () => {
    const e = await engine();
    const items: Report[] = [];
    await fitRecommender(e, 'itemknn', DATA, { kernel: 'sparse', onProgress: (p) => items.push(p) });
    expectPhases(items, [{ phase: 'similarity', total: 300 }]);
    // Several blocks: progress moves between 0 and the end.
    expect(items.some((r) => r.done > 0 && r.done < 300)).toBe(true);
    const users: Report[] = [];
    await fitRecommender(e, 'userknn', DATA, { weighting: undefined, onProgress: (p) => users.push(p) });
    expectPhases(users, [{ phase: 'similarity', total: 700 }]);
    const dense: Report[] = [];
    await fitRecommender(e, 'itemknn', DATA, { kernel: 'dense', onProgress: (p) => dense.push(p) });
    expect(dense).toEqual([
      { phase: 'similarity', done: 0, total: 300 },
      { phase: 'similarity', done: 300, total: 300 },
    ]);
  });

  it('EASE: the Gram blocks over users, then the tile columns of the factor, inverse and product', async () => {
    const e = await engine();
    const reports: Report[] = [];
    await fitRecommender(e, 'ease', DATA, { onProgress: (p) => reports.push(p) });
    // The Gram matrix over blocks of users, then the tile columns of the blocked Cholesky, the inverse of the
    // factor and the product: each phase counts up to its total, in this order.
    expect([...new Set(reports.map((r) => r.phase))]).toEqual(['gram', 'factor', 'invert', 'multiply']);
    for (const phase of ['gram', 'factor', 'invert', 'multiply']) {
      const rs = reports.filter((r) => r.phase === phase);
      expect(rs.every((r) => r.total === rs[0]!.total && r.total >= 1)).toBe(true);
      expect(rs[rs.length - 1]!.done).toBe(rs[0]!.total);
      for (let i = 1; i < rs.length; i++) expect(rs[i]!.done).toBeGreaterThanOrEqual(rs[i - 1]!.done);
    }
  });
});

describe('the fit progress line', () => {
  function fake(tty: boolean) {
    const out: string[] = [];
    let t = 1000;
    return { out, stream: { isTTY: tty, write: (s: string) => out.push(s) }, clock: () => t, advance: (ms: number) => (t += ms) };
  }

  it('draws nothing when stderr is not a TTY', () => {
    const f = fake(false);
    const line = new FitProgressLine('recommend itemknn', { similarity: 'items' }, f.stream, f.clock);
    line.note('reading x.csv');
    line.update({ phase: 'similarity', done: 0, total: 10 });
    line.update({ phase: 'similarity', done: 10, total: 10 });
    line.done();
    expect(f.out).toEqual([]);
  });

  it('on a TTY: the note at once, each new phase at once, a per-phase ETA, updates throttled, cleared at the end', () => {
    const f = fake(true);
    const line = new FitProgressLine('recommend ease', { gram: 'users', solve: 'columns' }, f.stream, f.clock);
    line.note('reading ratings.csv');
    expect(f.out).toEqual(['\r\x1b[2Krecommend ease: reading ratings.csv']);
    f.advance(2000);
    line.update({ phase: 'gram', done: 0, total: 4000 });
    expect(f.out[1]).toBe('\r\x1b[2Krecommend ease: gram 0/4,000 users (0%), 2.0 s');
    f.advance(1000);
    line.update({ phase: 'gram', done: 1000, total: 4000 });
    // 1,000 users in 1 s: 3,000 left take 3 s.
    expect(f.out[2]).toBe('\r\x1b[2Krecommend ease: gram 1,000/4,000 users (25%), ETA 3.0 s, 3.0 s');
    f.advance(50);
    line.update({ phase: 'gram', done: 1100, total: 4000 });
    expect(f.out).toHaveLength(3);
    f.advance(10);
    line.update({ phase: 'gram', done: 4000, total: 4000 });
    expect(f.out[3]).toBe('\r\x1b[2Krecommend ease: gram 4,000/4,000 users (100%), 3.1 s');
    f.advance(10);
    line.update({ phase: 'solve', done: 0, total: 300 });
    expect(f.out[4]).toBe('\r\x1b[2Krecommend ease: solve 0/300 columns (0%), 3.1 s');
    // A phase without a unit (another model's) is drawn without one.
    f.advance(500);
    line.update({ phase: 'users', done: 5, total: 10 });
    expect(f.out[5]).toBe('\r\x1b[2Krecommend ease: users 5/10 (50%), 3.6 s');
    line.done();
    expect(f.out[6]).toBe('\r\x1b[2K');
    line.done();
    expect(f.out).toHaveLength(7);
  });
});
