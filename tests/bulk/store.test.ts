// The store's block writes (no Redis needed): a finished block is never renamed over, so a worker that wakes up
// after losing its lock (even after the run's _SUCCESS) leaves the finished part and its record as they were.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkCoverage, finishedBlock, writeBlock } from '../../src/distributed/store.js';

const dirs: string[] = [];
function outDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'quiver-store-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rec = (block: number, row0: number, row1: number, model = 'm1') => ({ block, row0, row1, rows: row1 - row0, model, backend: 'js' });

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
});
