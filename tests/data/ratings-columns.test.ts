// Data that does not mislead: column names matched without regard to case (and the names tried listed when none
// matches), counts read as explicit ratings warned about, and timestamps kept from the files that have them.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interactionsFromTriples, parseRatings, readRatings } from '../../src/data/ratings.js';
import { expectCode } from '../helpers/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cols-'));
// Listening counts as Last.fm's hetrec export lays them out.
const LASTFM = 'userID\tartistID\tweight\n2\t51\t13883\n2\t52\t11690\n3\t51\t228\n3\t53\t7\n4\t52\t1\n';

describe('column names', () => {
  it('userID / artistID are found without regard to case', async () => {
    const path = join(dir, 'user_artists.dat');
    writeFileSync(path, LASTFM);
    const d = await readRatings(path, { feedback: 'binary' });
    expect(d.layout).toBe('delimited');
    expect(d.userIds).toEqual(['2', '3', '4']);
    expect(d.itemIds).toEqual(['51', '52', '53']);
    // A named column also matches without regard to case.
    const w = parseRatings(LASTFM, { ratingCol: 'WEIGHT', feedback: 'counts' });
    expect(Array.from(w.matrix.data)).toEqual([13883, 11690, 228, 7, 1]);
  });
  it('no user column: the error lists the columns and the names tried', async () => {
    const e = await expectCode(() => parseRatings('uid,thing\n1,2\n', { feedback: 'binary' }), 'INVALID_ARGUMENT', /none of its columns \(uid, thing\) is one of user, userId, .*customer_id.*--user-col/);
    expect(e.details?.['tried']).toContain('userId');
  });
});

describe('counts read as explicit ratings', () => {
  it('warn, suggesting --implicit', () => {
    const d = parseRatings(LASTFM, { ratingCol: 'weight', source: 'user_artists.dat' });
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings![0]).toMatch(/user_artists\.dat: the rating column "weight" holds non-negative whole numbers up to 13883.*--implicit/);
  });
  it('no warning for ratings on a scale, fractional values, or implicit feedback', () => {
    expect(parseRatings('user,item,rating\na,x,5\nb,x,1\nc,y,10\n').warnings).toEqual([]);
    expect(parseRatings('user,item,rating\na,x,4.5\nb,x,12.5\n').warnings).toEqual([]);
    expect(parseRatings('user,item,rating\na,x,-3\nb,x,40\n').warnings).toEqual([]);
    expect(parseRatings(LASTFM, { ratingCol: 'weight', feedback: 'counts' }).warnings).toEqual([]);
    expect(parseRatings(LASTFM, { feedback: 'binary' }).warnings).toEqual([]);
    // The rule at its edge: a maximum of 10 is a scale, 11 a count.
    expect(parseRatings('user,item,rating\na,x,11\n').warnings).toHaveLength(1);
    expect(interactionsFromTriples(['a', 'b'], ['x', 'y'], [3, 250]).warnings).toHaveLength(1);
  });
});

describe('timestamps', () => {
  it('kept from u.data, ratings.dat and ratings.csv, aligned with the matrix', () => {
    // Items are indexed in order of first appearance (20 → 0, 10 → 1) and rows stored by item index.
    const u = parseRatings('1\t20\t4\t100\n1\t10\t3\t300\n2\t20\t5\t200\n', { source: 'u.data' });
    expect(u.layout).toBe('u.data');
    expect(Array.from(u.matrix.indices)).toEqual([0, 1, 0]);
    expect(Array.from(u.timestamps!)).toEqual([100, 300, 200]);
    const dat = parseRatings('1::20::4::100\n1::10::3::300\n');
    expect(dat.timestamps).toBeDefined();
    const csv = parseRatings('userId,movieId,rating,timestamp\n1,20,4,100\n2,20,5,200\n');
    expect(Array.from(csv.timestamps!)).toEqual([100, 200]);
    // Three fields only: no timestamps.
    expect(parseRatings('1\t20\t4\n2\t20\t5\n').timestamps).toBeUndefined();
  });
  it('a row without the time the first line has is an error naming the line', async () => {
    await expectCode(() => parseRatings('1\t20\t4\t100\n1\t10\t3\n'), 'INVALID_ARGUMENT', /line 2: no timestamp \(field 4\)/);
  });
  it('generic files: --timestamp-col (numbers or ISO dates); a bad value is an error naming the line', async () => {
    const text = 'customer,sku,when\nc1,p1,2024-01-02T00:00:00Z\nc1,p2,2024-01-01\n';
    const d = parseRatings(text, { feedback: 'binary', timestampCol: 'When' });
    expect(Array.from(d.timestamps!)).toEqual([Date.parse('2024-01-02T00:00:00Z'), Date.parse('2024-01-01')]);
    await expectCode(() => parseRatings('customer,sku,when\nc1,p1,yesterday\n', { feedback: 'binary', timestampCol: 'when' }), 'INVALID_ARGUMENT', /line 2: the timestamp "yesterday"/);
    await expectCode(() => parseRatings('customer,sku\nc1,p1\n', { feedback: 'binary', timestampCol: 'when' }), 'INVALID_ARGUMENT', /no timestamp column "when"/);
  });
  it('a column found by its name that holds no times is left out with a warning', () => {
    const d = parseRatings('user,item,time\na,x,morning\nb,y,evening\n', { feedback: 'binary' });
    expect(d.timestamps).toBeUndefined();
    expect(d.warnings![0]).toMatch(/column "time" holds "morning", not a time/);
    expect(parseRatings('user,item,Timestamp\na,x,5\nb,y,6\n', { feedback: 'binary' }).timestamps).toBeDefined();
  });
});
