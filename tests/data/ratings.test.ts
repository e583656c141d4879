// Ratings loaders and the synthetic generator: layouts, id order, CSR structure, feedback modes, duplicate
// policies, bad input, and the shared MovieLens files against the publisher's own figures.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nnz, transposeCsr } from '../../src/data/csr.js';
import { interactionsFromTriples, parseRatings, readRatings, type Interactions, type RatingsOptions } from '../../src/data/ratings.js';
import { parseSyntheticSpec, SyntheticInteractions } from '../../src/data/synthetic.js';
import { QuiverError } from '../../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-ratings-'));
const DATASETS = join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');

/** Dense users × items table of a CSR matrix (0 = no entry), for small exact comparisons. */
function dense(d: Interactions): number[][] {
  const m = d.matrix;
  const out = Array.from({ length: m.rows }, () => new Array<number>(m.cols).fill(0));
  for (let r = 0; r < m.rows; r++) for (let p = m.indptr[r]!; p < m.indptr[r + 1]!; p++) out[r]![m.indices[p]!] = m.data[p]!;
  return out;
}

function expectError(f: () => unknown, code: string, message: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    expect((e as QuiverError).code).toBe(code);
    expect((e as QuiverError).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code} ${message}`);
}

// The same five ratings in every layout: users 7, 3, 7, 9 and items 50, 20, 20, 50, 99.
const UDATA = '7\t50\t4\t881250949\n3\t20\t5\t891717742\n7\t20\t3\t878887116\n9\t50\t1\t880606923\n3\t99\t2\t886397596\n';
// Oracle (by hand): users in first-seen order 7, 3, 9; items 50, 20, 99.
const EXPECTED = [
  [4, 3, 0],
  [0, 5, 2],
  [1, 0, 0],
];

describe('ratings layouts', () => {
  it('u.data: tab-separated, no header; ids keep first-seen order; rows sorted by item index', () => {
    const d = parseRatings(UDATA);
    expect(d.layout).toBe('u.data');
    expect(d.userIds).toEqual(['7', '3', '9']);
    expect(d.itemIds).toEqual(['50', '20', '99']);
    expect(dense(d)).toEqual(EXPECTED);
    expect(Array.from(d.matrix.indices)).toEqual([0, 1, 1, 2, 0]);
    expect(d.rowsRead).toBe(5);
  });

  it('ratings.csv with CRLF and ratings.dat give the same matrix', () => {
    const csv = 'userId,movieId,rating,timestamp\r\n' + UDATA.replaceAll('\t', ',').replaceAll('\n', '\r\n');
    const dat = UDATA.replaceAll('\t', '::');
    const a = parseRatings(csv);
    const b = parseRatings(dat);
    expect(a.layout).toBe('ratings.csv');
    expect(b.layout).toBe('ratings.dat');
    for (const d of [a, b]) {
      expect(d.userIds).toEqual(['7', '3', '9']);
      expect(dense(d)).toEqual(EXPECTED);
    }
  });

  it('tolerates a BOM, blank lines and a missing final newline', () => {
    const d = parseRatings('\ufeff' + UDATA.trimEnd().replace('\n', '\n\n\n'));
    expect(dense(d)).toEqual(EXPECTED);
  });

  it('generic delimited files: named columns, any delimiter, quoted fields', () => {
    const text = 'ts;rating;"customer";sku\n1;4;"7";50\n2;5;3;"20"\n3;3;7;20\n4;1;9;50\n5;2;3;99\n';
    const d = parseRatings(text, { format: 'csv', delimiter: ';', userCol: 'customer', itemCol: 'sku', ratingCol: 'rating' });
    expect(d.layout).toBe('delimited');
    expect(d.userIds).toEqual(['7', '3', '9']);
    expect(dense(d)).toEqual(EXPECTED);
    // Default column names are recognised without options; a quoted id may contain the delimiter.
    const e = parseRatings('user_id,item_id,rating\n"a,1",x,2\nb,x,3\n');
    expect(e.userIds).toEqual(['a,1', 'b']);
    expect(dense(e)).toEqual([[2], [3]]);
  });

  it('readRatings streams files across chunk boundaries like parseRatings on the whole text', async () => {
    // 300,000 lines (~5 MB) > the 4 MiB read chunk; CRLF so a chunk may end between \r and \n.
    const lines: string[] = ['userId,movieId,rating,timestamp'];
    for (let i = 0; i < 300_000; i++) lines.push(`${(i * 7919) % 5003},${(i * 104729) % 3001},${(i % 5) + 1},${1_000_000_000 + i}`);
    const text = lines.join('\r\n') + '\r\n';
    const path = join(dir, 'big.csv');
    writeFileSync(path, text);
    const a = await readRatings(path);
    const b = parseRatings(text);
    expect(a.matrix.rows).toBe(b.matrix.rows);
    expect(Array.from(a.matrix.indptr)).toEqual(Array.from(b.matrix.indptr));
    expect(Array.from(a.matrix.indices)).toEqual(Array.from(b.matrix.indices));
    expect(Array.from(a.matrix.data)).toEqual(Array.from(b.matrix.data));
    expect(a.userIds).toEqual(b.userIds);
    expect(a.rowsRead).toBe(300_000);
  });
});

describe('feedback and duplicates', () => {
  const DUP = 'u\ti\t4\t1\nu\tj\t2\t2\nu\ti\t1\t3\nv\ti\t5\t4\n';
  it('explicit ratings keep the last of a repeated pair by default', () => {
    const d = parseRatings(DUP);
    expect(dense(d)).toEqual([
      [1, 2],
      [5, 0],
    ]);
    expect(d.duplicates).toBe(1);
  });

  it('sum adds, reject names both lines', () => {
    expect(dense(parseRatings(DUP, { duplicates: 'sum' }))).toEqual([
      [5, 2],
      [5, 0],
    ]);
    expectError(() => parseRatings(DUP, { duplicates: 'reject' }), 'INVALID_ARGUMENT', /user u rated item i twice \(lines 1 and 3\)/);
  });

  it('binary gives 1 per pair, counts counts occurrences, minRating filters before ids are registered', () => {
    expect(dense(parseRatings(DUP, { feedback: 'binary' }))).toEqual([
      [1, 1],
      [1, 0],
    ]);
    // counts with a rating column sums that column (play counts); the duplicate pair (u, i) sums 4 + 1.
    expect(dense(parseRatings(DUP, { feedback: 'counts' }))).toEqual([
      [5, 2],
      [5, 0],
    ]);
    const noRating = parseRatings('user,item\na,x\na,x\nb,y\na,x\n', { feedback: 'counts' });
    expect(dense(noRating)).toEqual([
      [3, 0],
      [0, 1],
    ]);
    const f = parseRatings(DUP, { feedback: 'binary', minRating: 4 });
    // Only (u,i,4) and (v,i,5) survive; (u,j,2) is dropped so item j is never registered.
    expect(f.itemIds).toEqual(['i']);
    expect(f.rowsDropped).toBe(2);
    expect(dense(f)).toEqual([[1], [1]]);
  });

  it('interactionsFromTriples applies the same rules', () => {
    const d = interactionsFromTriples([7, 3, 7], ['a', 'b', 'a'], [1, 2, 3], { duplicates: 'sum' });
    expect(d.userIds).toEqual(['7', '3']);
    expect(dense(d)).toEqual([
      [4, 0],
      [0, 2],
    ]);
    expect(dense(interactionsFromTriples(['x', 'y'], ['p', 'p']))).toEqual([[1], [1]]);
  });
});

describe('bad input is refused with what to fix', () => {
  const cases: [string, string, RatingsOptions, string, RegExp][] = [
    ['empty file', '', {}, 'INVALID_ARGUMENT', /is empty; it needs at least one rating row/],
    ['only blank lines', '\n\r\n\n', {}, 'INVALID_ARGUMENT', /is empty/],
    ['header only', 'userId,movieId,rating,timestamp\n', {}, 'INVALID_ARGUMENT', /has a header but no rating rows/],
    ['u.data with a header', 'user\titem\trating\tts\n1\t2\t3\t4\n', { format: 'movielens' }, 'INVALID_ARGUMENT', /u\.data has no header.*remove the header line/],
    ['ratings.dat with a header', 'UserID::MovieID::Rating::Timestamp\n1::2::3::4\n', {}, 'INVALID_ARGUMENT', /ratings\.dat has no header/],
    ['ratings.csv without its header', '1,2,3,4\n', { format: 'movielens' }, 'INVALID_ARGUMENT', /starts with the header userId,movieId,rating,timestamp/],
    ['a delimited file without a header', '1,2,3\n4,5,6\n', {}, 'INVALID_ARGUMENT', /looks like data .* not a header/],
    ['a non-numeric rating', '1\t2\t3\t4\n1\t3\tfive\t5\n', {}, 'INVALID_ARGUMENT', /line 2: the rating "five" is not a number/],
    ['an empty rating', 'user,item,rating\na,b,\n', {}, 'INVALID_ARGUMENT', /line 2: the rating "" is not a number/],
    ['too few fields', '1\t2\t3\t4\n1\t3\n', {}, 'INVALID_ARGUMENT', /line 2: expected at least 3 fields/],
    ['a ragged delimited row', 'user,item,rating\na,b,1,9\n', {}, 'INVALID_ARGUMENT', /line 2: expected 3 fields/],
    ['an unknown format', UDATA, { format: 'xlsx' as RatingsOptions['format'] }, 'INVALID_ARGUMENT', /unknown ratings format "xlsx"/],
    ['an unknown layout', 'just some text\n', {}, 'INVALID_ARGUMENT', /cannot tell the layout/],
    ['a missing named column', 'a,b,c\n1,2,3\n', { userCol: 'a', itemCol: 'zz' }, 'INVALID_ARGUMENT', /no item column "zz"; its columns are: a, b, c/],
    ['explicit feedback without ratings', 'user,item\na,b\n', {}, 'INVALID_ARGUMENT', /has no rating column; name it with --rating-col, or use implicit feedback/],
    ['an unclosed quote', 'user,item,rating\n"a,b,1\n', {}, 'INVALID_ARGUMENT', /line 2: a quoted field is not closed/],
    ['everything filtered out', UDATA, { minRating: 6 }, 'INVALID_ARGUMENT', /no rows left after --min-rating 6 \(5 dropped\)/],
  ];
  for (const [what, text, opts, code, msg] of cases) {
    it(what, () => expectError(() => parseRatings(text, opts), code, msg));
  }

  it('a missing file is NOT_FOUND', async () => {
    await expect(readRatings(join(dir, 'nope.data'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('the shared MovieLens files', () => {
  const ml100k = join(DATASETS, 'movielens-100k', 'u.data');
  const small = join(DATASETS, 'ml-latest-small', 'ratings.csv');

  it.skipIf(!existsSync(ml100k))('u.data: 943 users × 1682 items × 100,000 ratings and the published histogram', async () => {
    const d = await readRatings(ml100k);
    // Oracle: GroupLens u.info (943 users, 1682 items, 100000 ratings) and the rating histogram in
    // shared/datasets/README.md (1:6,110 2:11,370 3:27,145 4:34,174 5:21,201).
    expect([d.matrix.rows, d.matrix.cols, nnz(d.matrix)]).toEqual([943, 1682, 100_000]);
    const hist = [0, 0, 0, 0, 0, 0];
    for (const v of d.matrix.data) hist[v]!++;
    expect(hist.slice(1)).toEqual([6110, 11370, 27145, 34174, 21201]);
    expect(d.duplicates).toBe(0);
    // The first line of u.data is "196 242 3 881250949": user 196 and item 242 get index 0.
    expect(d.userIds[0]).toBe('196');
    expect(d.itemIds[0]).toBe('242');
    // Every user has at least 20 ratings (GroupLens README).
    for (let u = 0; u < d.matrix.rows; u++) expect(d.matrix.indptr[u + 1]! - d.matrix.indptr[u]!).toBeGreaterThanOrEqual(20);
  });

  it.skipIf(!existsSync(small))('ml-latest-small ratings.csv (CRLF): 610 users × 9,724 items × 100,836 ratings', async () => {
    const d = await readRatings(small, { feedback: 'binary', minRating: 4 });
    const all = await readRatings(small);
    // Oracle: shared/datasets/README.md (100,836 rows, 610 users, 9,724 rated movies).
    expect([all.matrix.rows, all.matrix.cols, nnz(all.matrix)]).toEqual([610, 9724, 100_836]);
    expect(all.layout).toBe('ratings.csv');
    // Half-star ratings survive as values.
    expect(new Set(all.matrix.data).has(3.5)).toBe(true);
    expect(nnz(d.matrix) + d.rowsDropped).toBe(100_836);
    expect(Array.from(d.matrix.data).every((v) => v === 1)).toBe(true);
  });
});

describe('synthetic interactions', () => {
  it('parses specs with suffixes and seeds', () => {
    expect(parseSyntheticSpec('200kx50kx10M:7')).toEqual({ users: 200_000, items: 50_000, interactions: 10_000_000, seed: 7 });
    expect(parseSyntheticSpec('10x5x30')).toEqual({ users: 10, items: 5, interactions: 30, seed: 42 });
    expectError(() => parseSyntheticSpec('10x5'), 'INVALID_ARGUMENT', /USERSxITEMSxINTERACTIONS/);
    expectError(() => new SyntheticInteractions({ users: 10, items: 5, interactions: 5 }), 'INVALID_ARGUMENT', /must be ≥ users/);
  });

  it('is deterministic, exact in size, with distinct sorted items per user and a power-law head', () => {
    const opts = { users: 2000, items: 5000, interactions: 60_000, seed: 5 };
    const a = new SyntheticInteractions(opts).toInteractions();
    const b = new SyntheticInteractions(opts).toInteractions();
    expect(Array.from(a.matrix.indices)).toEqual(Array.from(b.matrix.indices));
    expect(nnz(a.matrix)).toBe(60_000);
    for (let u = 0; u < a.matrix.rows; u++) {
      const row = a.matrix.indices.subarray(a.matrix.indptr[u]!, a.matrix.indptr[u + 1]!);
      expect(row.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < row.length; i++) expect(row[i]!).toBeGreaterThan(row[i - 1]!);
    }
    // Power law: the 1% most popular items hold far more than 1% of the interactions (Zipf with exponent 1
    // and offset 10 puts ~29% of the draws on the top 50 of 5,000 ranks); the heaviest user gets about
    // 58,000 · (1/50) / Σ_r 1/(r + 50) ≈ 313, ten times the mean of 30.
    const t = transposeCsr(a.matrix);
    const pop = Array.from({ length: t.rows }, (_, j) => t.indptr[j + 1]! - t.indptr[j]!).sort((x, y) => y - x);
    const head = pop.slice(0, 50).reduce((s, v) => s + v, 0);
    expect(head / 60_000).toBeGreaterThan(0.15);
    const counts = Array.from(new SyntheticInteractions(opts).counts).sort((x, y) => y - x);
    expect(counts[0]!).toBeGreaterThan(5 * 30);
    expect(counts[1999]!).toBeLessThan(30);
    const other = new SyntheticInteractions({ ...opts, seed: 6 }).toInteractions();
    expect(Array.from(other.matrix.indices)).not.toEqual(Array.from(a.matrix.indices));
  });

  it('a block of users equals the same rows of the full set (streaming and shards)', () => {
    const s = new SyntheticInteractions({ users: 500, items: 300, interactions: 9000, seed: 11 });
    const full = s.rows(0, 500);
    const block = s.rows(123, 321);
    const p0 = full.indptr[123]!;
    expect(Array.from(block.indices)).toEqual(Array.from(full.indices.subarray(p0, full.indptr[321]!)));
    expect(Array.from(block.indptr)).toEqual(Array.from(full.indptr.subarray(123, 322), (v) => v - p0));
  });
});
