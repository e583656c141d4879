// `quiver recommend` / `quiver evaluate` with the issue-13 options as a user runs them: --backfill popular (a
// source column, the summary's counts), --weighting, and bad values answered with exit 2 and a typed message.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quiver } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-recopt-'));
// l1 and l2 only touched items nobody else has: item kNN has nothing for them.
const file = join(dir, 'loners.csv');
writeFileSync(file, 'user,item\nu0,a\nu0,b\nu1,a\nu1,b\nu1,c\nu2,b\nu2,c\nl1,x\nl2,y\n');

describe('quiver recommend and evaluate: weighting and back-fill', () => {
  it('without --backfill the summary counts the users left without recommendations; with it they are topped up', async () => {
    const off = join(dir, 'off.csv');
    const r0 = await quiver('recommend', '--ratings', file, '--implicit', '--algo', 'itemknn', '--n', '2', '--out', off);
    expect(r0.code, r0.stderr).toBe(0);
    // u1 has a, b and c: nothing left with a score. l1 and l2 have no neighbours.
    expect(r0.stderr).toMatch(/; 3 users without recommendations \(--backfill popular tops them up\)\n$/);
    expect(readFileSync(off, 'utf8').split('\n')[0]).toBe('user,item,rank,score');
    const on = join(dir, 'on.csv');
    const r1 = await quiver('recommend', '--ratings', file, '--implicit', '--algo', 'itemknn', '--n', '2', '--out', on, '--backfill', 'popular', '--weighting', 'tfidf');
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/; 5 users back-filled from popularity, 0 without recommendations\n$/);
    const lines = readFileSync(on, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('user,item,rank,score,source');
    // Oracle: b has 3 users, a 2, c 2 (a seen first).
    expect(lines.filter((l) => l.startsWith('l1,'))).toEqual(['l1,b,1,-1,popular', 'l1,a,2,-2,popular']);
  });

  it('bad values: exit 2 with the option named', async () => {
    const out = join(dir, 'bad.csv');
    const base = ['recommend', '--ratings', file, '--implicit', '--algo', 'itemknn', '--out', out];
    const cases: [string[], RegExp][] = [
      [['--weighting', 'bm26'], /--weighting/],
      [['--weighting', 'bm25', '--bm25-k1', '0'], /--bm25-k1 must be a number > 0/],
      [['--weighting', 'bm25', '--bm25-b', '1.5'], /--bm25-b must be a number in \[0, 1\]/],
      [['--weighting', 'bm25', '--bm25-b', 'x'], /--bm25-b must be a number in \[0, 1\]/],
      [['--backfill', 'random'], /--backfill/],
    ];
    for (const [args, msg] of cases) {
      const r = await quiver(...base, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/INVALID_ARGUMENT/);
      expect(r.stderr).toMatch(msg);
    }
    const ev = await quiver('evaluate', '--ratings', file, '--implicit', '--algo', 'userknn', '--weighting', 'tfidf');
    expect(ev.code).toBe(2);
    expect(ev.stderr).toMatch(/item kNN option/);
  });
});
