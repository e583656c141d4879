// The store's block writes (no Redis needed): a finished block is never renamed over, so a worker that wakes up
// after losing its lock (even after the run's _SUCCESS) leaves the finished part and its record as they were.
// And the parts of a run with back-fill: the source column or field, the merge, the counts of each block.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blockCounts, checkCoverage, countedBlock, finishedBlock, mergeParts, partBytes, sumCounts, writeBlock } from '../../src/distributed/store.js';
import type { FilledTopK } from '../../src/models/backfill.js';

const dirs: string[] = [];
function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'quiver-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (block: number, row0: number, row1: number, model = 'm1') => ({ block, row0, row1, rows: row1 - row0, model, backend: 'js', usersShort: 0, usersWithout: 0, usersBackfilled: 0 });

describe('writeBlock', () => {
  it('writes the part and its record, and the coverage check accepts them', async () => {
    const out = outDir();
    const r = await writeBlock(out, 'csv', rec(0, 0, 3), Buffer.from('user,item,rank,score\na,x,1,0.5\n'));
    expect(r.part).toBe('part-00000.csv');
    expect(readFileSync(join(out, r.part), 'utf8')).toBe('user,item,rank,score\na,x,1,0.5\n');
    expect(await finishedBlock(out, 0, 'm1')).toEqual(r);
    const cov = await checkCoverage({ out, format: 'csv', users: 3, blockUsers: 3, model: 'm1' });
    expect(cov.map((c) => c.part)).toEqual(['part-00000.csv']);
  });

  it('leaves a finished block alone: same inode, same bytes, the first record returned', async () => {
    const out = outDir();
    const first = await writeBlock(out, 'csv', rec(0, 0, 2), Buffer.from('one\n'));
    const ino = statSync(join(out, first.part)).ino;
    // A late writer of the same block (a woken worker) with other bytes must not replace the recorded part.
    const again = await writeBlock(out, 'csv', rec(0, 0, 2), Buffer.from('two\n'));
    expect(again).toEqual(first);
    expect(statSync(join(out, first.part)).ino).toBe(ino);
    expect(readFileSync(join(out, first.part), 'utf8')).toBe('one\n');
  });

  it('rewrites a block whose record belongs to another model', async () => {
    const out = outDir();
    await writeBlock(out, 'csv', rec(0, 0, 2, 'old'), Buffer.from('old\n'));
    const r = await writeBlock(out, 'csv', rec(0, 0, 2, 'new'), Buffer.from('new\n'));
    expect(r.model).toBe('new');
    expect(readFileSync(join(out, r.part), 'utf8')).toBe('new\n');
    expect(await finishedBlock(out, 0, 'old')).toBeNull();
  });

  it('completes a record written before the counts existed, once, and keeps its part', async () => {
    const out = outDir();
    const r = await writeBlock(out, 'csv', rec(0, 0, 2), Buffer.from('part\n'));
    // The record an older version wrote: no usersShort / usersWithout / usersBackfilled.
    const { usersShort: _s, usersWithout: _w, usersBackfilled: _b, ...old } = r;
    writeFileSync(join(out, '_blocks', 'part-00000.json'), `${JSON.stringify(old)}\n`);
    const found = await finishedBlock(out, 0, 'm1');
    let calls = 0;
    const count = async () => {
      calls++;
      return { usersShort: 2, usersWithout: 1, usersBackfilled: 0 };
    };
    const done = await countedBlock(out, found!, count);
    expect(done).toEqual({ ...r, usersShort: 2, usersWithout: 1, usersBackfilled: 0 });
    expect(calls).toBe(1);
    // Persisted: the next resume reads the counts and does not recompute them.
    const again = await countedBlock(out, (await finishedBlock(out, 0, 'm1'))!, count);
    expect(again).toEqual(done);
    expect(calls).toBe(1);
    expect(readFileSync(join(out, r.part), 'utf8')).toBe('part\n');
    expect(sumCounts([again, rec(1, 2, 4)])).toEqual({ usersShort: 2, usersWithout: 1, usersBackfilled: 0 });
  });
});

describe('parts of a run with back-fill', () => {
  // Four users, k = 3: u0 has two model items then one back-filled, u1 only back-filled items (a user whose items
  // have no neighbour), u2 three model items, u3 nothing at all (every item seen). Back-filled scores follow
  // backfill.ts: the t-th filler scores min(0, the lowest model score) − t.
  const ids = { userIds: ['u0', 'u1', 'u2', 'u3'], itemIds: ['a', 'b', 'c', 'd'] };
  const block = (rows: [number, number][][], backfilled: number[]): FilledTopK => ({
    rows: rows.length,
    k: 3,
    requestedK: 3,
    indices: Int32Array.from(rows.flatMap((r) => [0, 1, 2].map((t) => r[t]?.[0] ?? -1))),
    scores: Float32Array.from(rows.flatMap((r) => [0, 1, 2].map((t) => r[t]?.[1] ?? Number.NEGATIVE_INFINITY))),
    backfilled: Int32Array.from(backfilled),
  });
  const first = block(
    [
      [
        [0, 0.9],
        [1, 0.5],
        [3, -1],
      ],
      [
        [2, -1],
        [3, -2],
        [0, -3],
      ],
    ],
    [1, 3],
  );
  const second = block(
    [
      [
        [1, 0.75],
        [2, 0.625],
        [3, 0.25],
      ],
      [],
    ],
    [0, 0],
  );
  const csvLines = ['u0,a,1,0.9,model', 'u0,b,2,0.5,model', 'u0,d,3,-1,popular', 'u1,c,1,-1,popular', 'u1,d,2,-2,popular', 'u1,a,3,-3,popular', 'u2,b,1,0.75,model', 'u2,c,2,0.625,model', 'u2,d,3,0.25,model'];

  it('csv and jsonl parts carry the source; the csv merge has one header; the counts are per block and summed', async () => {
    const out = outDir();
    const p0 = await partBytes('csv', first, ids, 0, true);
    const p1 = await partBytes('csv', second, ids, 2, true);
    expect(Buffer.from(p0.data).toString()).toBe(`user,item,rank,score,source\n${csvLines.slice(0, 6).join('\n')}\n`);
    expect(p0.rows).toBe(6);
    expect(blockCounts(first, 3)).toEqual({ usersShort: 0, usersWithout: 0, usersBackfilled: 2 });
    expect(blockCounts(second, 3)).toEqual({ usersShort: 1, usersWithout: 1, usersBackfilled: 0 });
    // n larger than what the model gave: every user is short of it.
    expect(blockCounts(first, 4).usersShort).toBe(2);
    const r0 = await writeBlock(out, 'csv', { ...rec(0, 0, 2), rows: p0.rows, ...blockCounts(first, 3) }, p0.data);
    const r1 = await writeBlock(out, 'csv', { ...rec(1, 2, 4), rows: p1.rows, ...blockCounts(second, 3) }, p1.data);
    expect(await finishedBlock(out, 1, 'm1')).toMatchObject({ usersWithout: 1, usersShort: 1, usersBackfilled: 0 });
    expect(sumCounts([r0, r1])).toEqual({ usersShort: 1, usersWithout: 1, usersBackfilled: 2 });
    // A record written before the counts were kept adds nothing.
    expect(sumCounts([r0, { block: 9 } as never])).toEqual({ usersShort: 0, usersWithout: 0, usersBackfilled: 2 });
    const records = await checkCoverage({ out, format: 'csv', users: 4, blockUsers: 2, model: 'm1' });
    const merged = join(out, 'all.csv');
    await mergeParts(out, 'csv', records, merged, true);
    expect(readFileSync(merged, 'utf8')).toBe(`user,item,rank,score,source\n${csvLines.join('\n')}\n`);

    const j = await partBytes('jsonl', first, ids, 0, true);
    expect(Buffer.from(j.data).toString()).toBe(
      '{"user":"u0","items":["a","b","d"],"scores":[0.9,0.5,-1],"sources":["model","model","popular"]}\n' +
        '{"user":"u1","items":["c","d","a"],"scores":[-1,-2,-3],"sources":["popular","popular","popular"]}\n',
    );
    const j1 = await partBytes('jsonl', second, ids, 2, true);
    expect(Buffer.from(j1.data).toString()).toBe('{"user":"u2","items":["b","c","d"],"scores":[0.75,0.625,0.25],"sources":["model","model","model"]}\n{"user":"u3","items":[],"scores":[],"sources":[]}\n');
    // Without back-fill the parts are as they always were.
    expect(Buffer.from((await partBytes('csv', second, ids, 2)).data).toString()).toBe('user,item,rank,score\nu2,b,1,0.75\nu2,c,2,0.625\nu2,d,3,0.25\n');
  });

  it('parquet parts and their merge hold the source column', async () => {
    const { parquetReadObjects } = await import('hyparquet');
    const read = async (b: Uint8Array) => parquetReadObjects({ file: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer });
    const expected = csvLines.map((l) => {
      const [user, item, rank, score, source] = l.split(',');
      // FLOAT: the f32 value of the printed score.
      return { user, item, rank: Number(rank), score: Math.fround(Number(score)), source };
    });
    const out = outDir();
    const p0 = await partBytes('parquet', first, ids, 0, true);
    const p1 = await partBytes('parquet', second, ids, 2, true);
    expect(await read(p0.data)).toEqual(expected.slice(0, 6));
    await writeBlock(out, 'parquet', { ...rec(0, 0, 2), rows: p0.rows }, p0.data);
    await writeBlock(out, 'parquet', { ...rec(1, 2, 4), rows: p1.rows }, p1.data);
    const records = await checkCoverage({ out, format: 'parquet', users: 4, blockUsers: 2, model: 'm1' });
    const merged = join(out, 'all.parquet');
    await mergeParts(out, 'parquet', records, merged, true);
    expect(await read(readFileSync(merged))).toEqual(expected);
    // No source column without back-fill.
    expect(Object.keys((await read((await partBytes('parquet', second, ids, 2)).data))[0]!)).toEqual(['user', 'item', 'rank', 'score']);
  });
});
