// Back-fill from popularity: users who only touched items nobody else has get nothing from item kNN (counted,
// no longer silently), and with backfill 'popular' get the most popular unseen items, after and below the
// model's items and marked; bulk outputs say where each item comes from; bad modes are typed errors.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples } from '../../src/data/ratings.js';
import { fingerprintOf, runBulk } from '../../src/models/bulk.js';
import { evaluateRecommender } from '../../src/models/evaluate.js';
import { fitRecommender, loadRecommender } from '../../src/models/recommenders.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory({ threads: 2 });
const dir = mkdtempSync(join(tmpdir(), 'quiver-backfill-'));

// u0..u3 share a, b, c, d (b is on 4 users, a and c on 3, d on 2, e on 1); loner1 only has x and loner2 only
// has y, items nobody else has, so item kNN finds them no neighbours.
const users = ['u0', 'u0', 'u0', 'u1', 'u1', 'u1', 'u2', 'u2', 'u2', 'u3', 'u3', 'u3', 'loner1', 'loner2'];
const items = ['a', 'b', 'c', 'a', 'b', 'd', 'b', 'c', 'e', 'a', 'b', 'c', 'x', 'y'];
const DATA = interactionsFromTriples(users, items);
// Oracle: items by number of users, ties to the item seen first in the file.
const POPULAR = ['b', 'a', 'c', 'd', 'e', 'x', 'y'];

describe('back-fill', () => {
  it('off (the default): loners get nothing; evaluation counts them', async () => {
    const e = await engine();
    const m = await fitRecommender(e, 'itemknn', DATA, {});
    expect(m.backfill).toBe('none');
    const recs = await m.recommend(['loner1', 'loner2', 'u0'], { n: 3 });
    expect(recs[0]!.items).toEqual([]);
    expect(recs[1]!.items).toEqual([]);
    expect(recs[2]!.items.every((s) => s.source === undefined)).toBe(true);
  });

  it('popular: loners get the most popular unseen items, marked, scored below zero in popularity order', async () => {
    const e = await engine();
    const m = await fitRecommender(e, 'itemknn', DATA, { backfill: 'popular' });
    const [l1] = await m.recommend('loner1', { n: 3 });
    expect(l1!.items.map((s) => s.item)).toEqual(POPULAR.filter((i) => i !== 'x').slice(0, 3));
    expect(l1!.items.map((s) => s.source)).toEqual(['popular', 'popular', 'popular']);
    expect(l1!.items.map((s) => s.score)).toEqual([-1, -2, -3]);
    // include / exclude and seen items hold for back-filled items too.
    const [l2] = await m.recommend('loner2', { n: 3, exclude: ['b'] });
    expect(l2!.items.map((s) => s.item)).toEqual(['a', 'c', 'd']);
    const [l3] = await m.recommend('loner2', { n: 5, include: ['y', 'e', 'x'] });
    expect(l3!.items.map((s) => s.item)).toEqual(['e', 'x']);
    const [l4] = await m.recommend('loner2', { n: 2, filterSeen: false, include: ['y', 'x'] });
    expect(l4!.items.map((s) => s.item)).toEqual(['x', 'y']);
    // Per call: backfill none turns it off for that call.
    expect((await m.recommend('loner1', { n: 3, backfill: 'none' }))[0]!.items).toEqual([]);
  });

  it('a short model list is completed after its items, below every model score', async () => {
    const e = await engine();
    const m = await fitRecommender(e, 'itemknn', DATA, { backfill: 'popular', neighbors: 1 });
    const plain = (await m.recommend('u2', { n: 6, backfill: 'none' }))[0]!.items;
    const [u2] = await m.recommend('u2', { n: 6 });
    expect(plain.length).toBeGreaterThan(0);
    expect(plain.length).toBeLessThan(6);
    expect(u2!.items.slice(0, plain.length)).toEqual(plain);
    const filled = u2!.items.slice(plain.length);
    const seen = new Set(['b', 'c', 'e']);
    const want = POPULAR.filter((i) => !seen.has(i) && !plain.some((p) => p.item === i)).slice(0, 6 - plain.length);
    expect(filled.map((s) => s.item)).toEqual(want);
    const low = Math.min(0, ...plain.map((s) => s.score));
    expect(filled.map((s) => s.score)).toEqual(filled.map((_, t) => low - (t + 1)));
    expect(filled.every((s) => s.source === 'popular')).toBe(true);
  });

  it('baskets are back-filled too; the setting is saved with the model', async () => {
    const e = await engine();
    const m = await fitRecommender(e, 'itemknn', DATA, { backfill: 'popular' });
    const basket = await m.recommendForItems(['x'], { n: 2 });
    expect(basket).toEqual([
      { item: 'b', score: -1, source: 'popular' },
      { item: 'a', score: -2, source: 'popular' },
    ]);
    const path = join(dir, 'm.json');
    await m.save(path);
    const back = await loadRecommender(path, e);
    expect(back.backfill).toBe('popular');
    expect(await back.recommend('loner1', { n: 3 })).toEqual(await m.recommend('loner1', { n: 3 }));
    const off = await fitRecommender(e, 'itemknn', DATA, {});
    expect(off.toBundle().params).not.toHaveProperty('backfill');
  });

  it('bulk runs: counts users without recommendations and back-filled; sources only with back-fill', async () => {
    const e = await engine();
    const off = await fitRecommender(e, 'itemknn', DATA, {});
    const a = join(dir, 'off.csv');
    const s0 = await runBulk(off, { out: a, format: 'csv', n: 3, fingerprint: fingerprintOf({ a }) });
    expect(s0.usersWithout).toBe(2);
    expect(s0.usersBackfilled).toBe(0);
    expect(readFileSync(a, 'utf8').split('\n')[0]).toBe('user,item,rank,score');
    expect(readFileSync(a, 'utf8')).not.toMatch(/loner/);

    const on = await fitRecommender(e, 'itemknn', DATA, { backfill: 'popular' });
    const b = join(dir, 'on.csv');
    const s1 = await runBulk(on, { out: b, format: 'csv', n: 3, fingerprint: fingerprintOf({ b }) });
    expect(s1.usersWithout).toBe(0);
    const lines = readFileSync(b, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('user,item,rank,score,source');
    expect(lines.filter((l) => l.startsWith('loner1,'))).toEqual(['loner1,b,1,-1,popular', 'loner1,a,2,-2,popular', 'loner1,c,3,-3,popular']);
    expect(lines.filter((l) => l.startsWith('u0,')).every((l) => l.endsWith(',model') || l.endsWith(',popular'))).toBe(true);
    // Oracle of the count: users whose model list (no back-fill) is shorter than 3.
    const plain = await on.recommend(undefined, { n: 3, backfill: 'none' });
    expect(s1.usersBackfilled).toBe(plain.filter((r) => r.items.length < 3).length);

    const j = join(dir, 'on.jsonl');
    await runBulk(on, { out: j, format: 'jsonl', n: 2, fingerprint: fingerprintOf({ j }) });
    const loner = readFileSync(j, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { user: string; items: string[]; scores: number[]; sources: string[] })
      .find((r) => r.user === 'loner2')!;
    expect(loner).toEqual({ user: 'loner2', items: ['b', 'a'], scores: [-1, -2], sources: ['popular', 'popular'] });
  });

  it('parquet: a source column only with back-fill', async () => {
    const e = await engine();
    const { parquetReadObjects } = await import('hyparquet');
    const read = async (path: string) => {
      const buf = readFileSync(path);
      return (await parquetReadObjects({ file: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) })) as Record<string, unknown>[];
    };
    const on = await fitRecommender(e, 'itemknn', DATA, { backfill: 'popular' });
    const p = join(dir, 'on.parquet');
    await runBulk(on, { out: p, format: 'parquet', n: 2, fingerprint: fingerprintOf({ p }) });
    const rows = await read(p);
    expect(rows.filter((r) => r.user === 'loner1')).toEqual([
      { user: 'loner1', item: 'b', rank: 1, score: -1, source: 'popular' },
      { user: 'loner1', item: 'a', rank: 2, score: -2, source: 'popular' },
    ]);
    expect(rows.some((r) => r.source === 'model')).toBe(true);
    const off = await fitRecommender(e, 'itemknn', DATA, {});
    const q = join(dir, 'off.parquet');
    await runBulk(off, { out: q, format: 'parquet', n: 2, fingerprint: fingerprintOf({ q }) });
    expect(Object.keys((await read(q))[0]!).sort()).toEqual(['item', 'rank', 'score', 'user']);
  });

  it('evaluation counts users without recommendations and back-filled users', async () => {
    const e = await engine();
    const dup = interactionsFromTriples([...users, 'loner1', 'loner2'], [...items, 'x2', 'y2']);
    const r0 = await evaluateRecommender(e, dup, { algo: 'itemknn', k: 3, split: 0.5, seed: 1 });
    expect(r0.usersWithout).toBeGreaterThanOrEqual(2);
    const r1 = await evaluateRecommender(e, dup, { algo: 'itemknn', k: 3, split: 0.5, seed: 1, backfill: 'popular' });
    expect(r1.usersWithout).toBe(0);
    expect(r1.usersBackfilled).toBeGreaterThanOrEqual(r0.usersWithout);
  });

  it('an unknown mode is a typed error wherever it is given', async () => {
    const e = await engine();
    await expectCode(fitRecommender(e, 'itemknn', DATA, { backfill: 'random' as never }), 'INVALID_ARGUMENT', /backfill must be none or popular/);
    const m = await fitRecommender(e, 'popular', DATA, {});
    await expectCode(m.recommend('u0', { n: 2, backfill: 'everything' as never }), 'INVALID_ARGUMENT', /backfill must be none or popular/);
    await expectCode(runBulk(m, { out: join(dir, 'x.csv'), format: 'csv', n: 2, fingerprint: 'x', backfill: 'top' as never }), 'INVALID_ARGUMENT', /backfill/);
    expect(() => m.withBackfill('maybe' as never)).toThrow(/backfill must be none or popular/);
  });
});
