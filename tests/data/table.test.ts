// Tables to design matrices: numeric and one-hot columns, saved levels, standardisation, targets, and
// the errors for missing columns and bad cells.
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { TableEncoder, constantColumns, tableToDesign } from '../../src/data/table.js';
import { QuiverError } from '../../src/errors.js';

function expectCode(fn: () => unknown, code: string, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    expect((e as QuiverError).code).toBe(code);
    expect((e as QuiverError).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${code}`);
}

const train = parseCsv(
  ['id;age;plan;city;bought', '1;30;"gold";Oslo;yes', '2;45;"basic";Bergen;no', '3;22;"silver";Oslo;no', '4;51;"gold";Tromsø;YES', ''].join('\n'),
  { source: 'train.csv' },
);

describe('TableEncoder', () => {
  it('numeric columns as they are; text one-hot over sorted levels, the first dropped', () => {
    const { encoder, x, y } = tableToDesign(train, { target: 'bought', targetKind: 'binary', exclude: ['id'] });
    // levels sorted: plan basic|gold|silver (basic dropped), city Bergen|Oslo|Tromsø (Bergen dropped)
    expect(encoder.features).toEqual(['age', 'plan=gold', 'plan=silver', 'city=Oslo', 'city=Tromsø']);
    expect(x.rows).toBe(4);
    // oracle: hand encoding of the four rows
    expect(Array.from(x.data)).toEqual([30, 1, 0, 1, 0, 45, 0, 0, 0, 0, 22, 0, 1, 1, 0, 51, 1, 0, 0, 1]);
    expect(Array.from(y!)).toEqual([1, 0, 0, 1]);
  });

  it('saved levels rebuild the same columns; an unseen level is an all-zero row; column order does not matter', () => {
    const enc = TableEncoder.fromJSON(JSON.parse(JSON.stringify(TableEncoder.fit(train, { target: 'bought', targetKind: 'binary', exclude: ['id'] }))));
    const fresh = parseCsv('city,age,plan,extra\nOslo,40,platinum,z\nBergen,41,silver,z\n');
    const x = enc.encode(fresh);
    expect(Array.from(x.data)).toEqual([40, 0, 0, 1, 0, 41, 0, 1, 0, 0]);
  });

  it('standardisation: mean 0 and population std 1 on the training rows, the same shift on new rows', () => {
    const enc = TableEncoder.fit(train, { columns: ['age'], standardize: true });
    const x = enc.encode(train);
    const ages = [30, 45, 22, 51];
    const mean = ages.reduce((a, b) => a + b) / 4;
    const sd = Math.sqrt(ages.reduce((a, b) => a + (b - mean) ** 2, 0) / 4);
    // oracle: the definition (x − mean) / std with ddof 0
    for (const [i, a] of ages.entries()) expect(x.data[i]).toBeCloseTo((a - mean) / sd, 6);
    const saved = TableEncoder.fromJSON(enc.toJSON());
    expect(saved.encode(parseCsv('age\n37\n')).data[0]).toBeCloseTo((37 - mean) / sd, 6);
    // a .npy input with the design columns gets the same standardisation
    expect(saved.encodeMatrix({ rows: 1, cols: 1, data: new Float32Array([37]) }).data[0]).toBeCloseTo((37 - mean) / sd, 6);
  });

  it('binary targets: yes/no, true/false, 0/1, any case; one class or mixed spellings are refused', () => {
    const t = parseCsv('x,a,b,c,one,mixed\n1,Yes,true,1,no,yes\n2,no,FALSE,0,no,1\n');
    expect(Array.from(TableEncoder.fit(t, { columns: ['x'], target: 'a', targetKind: 'binary' }).target(t))).toEqual([1, 0]);
    expect(Array.from(TableEncoder.fit(t, { columns: ['x'], target: 'b', targetKind: 'binary' }).target(t))).toEqual([1, 0]);
    expect(Array.from(TableEncoder.fit(t, { columns: ['x'], target: 'c', targetKind: 'binary' }).target(t))).toEqual([1, 0]);
    expectCode(() => TableEncoder.fit(t, { columns: ['x'], target: 'one', targetKind: 'binary' }), 'INVALID_ARGUMENT', /one class only \("no" on all 2 rows\)/);
    expectCode(() => TableEncoder.fit(t, { columns: ['x'], target: 'mixed', targetKind: 'binary' }), 'INVALID_ARGUMENT', /mixes spellings/);
    const bad = parseCsv('x,y\n1,yes\n2,maybe\n', { source: 'b.csv' });
    expectCode(() => TableEncoder.fit(bad, { columns: ['x'], target: 'y', targetKind: 'binary' }), 'INVALID_ARGUMENT', /b\.csv, line 3: the target "y" must be yes\/no, true\/false or 0\/1 \(got "maybe"\)/);
  });

  it('a missing or NaN numeric cell is NON_FINITE with its line; text in a numeric column at scoring is named', () => {
    const enc = TableEncoder.fit(parseCsv('a,b\n1,2\n3,4\n'));
    expectCode(() => enc.encode(parseCsv('a,b\n1,2\n5,\n', { source: 'n.csv' })), 'NON_FINITE', /n\.csv, line 3: column "b" is missing or not finite \(""\); remove the row, or fill missing cells \(--impute/);
    expectCode(() => enc.encode(parseCsv('a,b\nNaN,2\n', { source: 'n.csv' })), 'NON_FINITE', /line 2: column "a"/);
    expectCode(() => enc.encode(parseCsv('a,b\n1,two\n', { source: 'n.csv' })), 'INVALID_ARGUMENT', /line 2: column "b" must be numeric \(the model was fitted on numbers\) but has "two"/);
  });

  it('a table without the fitted columns, or a matrix of the wrong width, is a SHAPE_MISMATCH naming them', () => {
    const enc = TableEncoder.fit(train, { target: 'bought', targetKind: 'binary', exclude: ['id'] });
    expectCode(() => enc.encode(parseCsv('age,plan\n1,gold\n', { source: 'new.csv' })), 'SHAPE_MISMATCH', /new\.csv lacks column "city" that the model was fitted on \(age, plan, city\)/);
    expectCode(() => enc.encodeMatrix({ rows: 1, cols: 3, data: new Float32Array(3) }), 'SHAPE_MISMATCH', /expects 5 columns \(age, plan=gold, plan=silver, city=Oslo, city=Tromsø\) but the input has 3/);
  });

  it('an id-like text column with too many levels is refused with the fix', () => {
    const rows = ['name,v', ...Array.from({ length: 30 }, (_, i) => `n${i},${i}`)].join('\n');
    expectCode(() => TableEncoder.fit(parseCsv(rows), { maxLevels: 20 }), 'INVALID_ARGUMENT', /column "name" has 30 distinct text values.*Exclude it/);
  });

  it('constantColumns finds columns with a single value', () => {
    expect(constantColumns({ rows: 3, cols: 3, data: new Float32Array([1, 5, 0, 2, 5, 0, 3, 5, 1]) })).toEqual([1]);
  });
});
