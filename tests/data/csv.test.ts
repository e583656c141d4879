// The CSV reader: delimiters, quoting, line ends, header handling, ragged rows, and the shared datasets.
import { describe, expect, it } from 'vitest';
import { detectDelimiter, formatCsv, parseCsv, readCsv } from '../../src/data/csv.js';
import { QuiverError } from '../../src/errors.js';
import { bankFull, haveDatasets, mallCustomers } from '../models/helpers.js';

function expectInvalid(fn: () => unknown, message: RegExp): QuiverError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    expect((e as QuiverError).code).toBe('INVALID_ARGUMENT');
    expect((e as QuiverError).message).toMatch(message);
    return e as QuiverError;
  }
  throw new Error('expected INVALID_ARGUMENT');
}

describe('parseCsv', () => {
  it('quoted fields with doubled quotes, delimiters and line breaks inside; CRLF; final newline', () => {
    const t = parseCsv('id,name,note\r\n1,"Smith, J.","said ""hi""\r\nthen left"\r\n2,Lee,\r\n', { source: 'a.csv' });
    expect(t.header).toEqual(['id', 'name', 'note']);
    expect(t.rowCount).toBe(2);
    expect(t.column('name')).toEqual(['Smith, J.', 'Lee']);
    expect(t.column('note')).toEqual(['said "hi"\r\nthen left', '']);
    // the second record starts on line 4 because the quoted note spans two lines
    expect(Array.from(t.lines)).toEqual([2, 4]);
    expect(t.delimiter).toBe(',');
  });

  it('detects ; and tab from the header line, outside quotes', () => {
    expect(detectDelimiter('"a;b",c,d\n1,2,3\n')).toBe(',');
    expect(detectDelimiter('"age";"job"\n58;"management"\n')).toBe(';');
    expect(detectDelimiter('user\titem\trating\n')).toBe('\t');
    expect(detectDelimiter('single\n1\n')).toBe(',');
    const t = parseCsv('a\tb\n1\t2\n3\t4');
    expect(t.columns).toEqual([
      ['1', '3'],
      ['2', '4'],
    ]);
  });

  it('LF, CR and CRLF line ends, a BOM, blank lines skipped, no final newline', () => {
    const t = parseCsv('\ufeffx,y\n\n1,2\r3,4\r\n\r\n5,6');
    expect(t.header).toEqual(['x', 'y']);
    expect(t.column('x')).toEqual(['1', '3', '5']);
    expect(Array.from(t.lines)).toEqual([3, 4, 6]);
  });

  it('without a header; with a given multi-character delimiter', () => {
    const t = parseCsv('1::10::5\n2::20::3\n', { delimiter: '::', header: false });
    expect(t.header).toEqual(['col1', 'col2', 'col3']);
    expect(t.column('col2')).toEqual(['10', '20']);
    expect(Array.from(t.lines)).toEqual([1, 2]);
  });

  it('a ragged row is refused with its line number and what to check', () => {
    expectInvalid(() => parseCsv('a,b,c\n1,2,3\n4,5\n', { source: 'r.csv' }), /^r\.csv, line 3: this row has 2 fields but the header has 3; check the delimiter/);
    expectInvalid(() => parseCsv('a,b\n1,2\n"x\ny",2,3\n', { source: 'r.csv' }), /^r\.csv, line 3: this row has more than the 2 fields/);
  });

  it('an unclosed quote, text after a closing quote, a duplicate header, an empty file', () => {
    expectInvalid(() => parseCsv('a,b\n1,"open\n2,3\n'), /line 2: a quoted field is never closed/);
    expectInvalid(() => parseCsv('a,b\n"x"y,2\n'), /line 2: unexpected text after a closing quote in field 1/);
    expectInvalid(() => parseCsv('a,b,a\n1,2,3\n'), /names column "a" twice \(columns 1 and 3\)/);
    expectInvalid(() => parseCsv(''), /empty/);
    expectInvalid(() => parseCsv('a,b\n', { delimiter: '"' }), /delimiter must be/);
  });

  it('an unknown column name lists the columns there are', () => {
    const t = parseCsv('a,b\n1,2\n', { source: 't.csv' });
    expectInvalid(() => t.column('c'), /t\.csv has no column "c"; its columns are: a, b/);
  });

  it('formatCsv quotes what needs quoting and reads back the same', () => {
    const text = formatCsv(['id', 'text', 'score'], [[1, 2], ['plain', 'with, comma and "quote"'], [0.1, -2.5e-7]]);
    expect(text).toBe('id,text,score\n1,plain,0.1\n2,"with, comma and ""quote""",-2.5e-7\n');
    const t = parseCsv(text);
    expect(t.column('text')).toEqual(['plain', 'with, comma and "quote"']);
    expect(Number(t.column('score')[1])).toBe(-2.5e-7);
  });
});

describe.skipIf(!haveDatasets)('the shared datasets (needs ../shared/datasets)', () => {
  it('Mall_Customers.csv: CRLF, 200 rows, 5 columns', async () => {
    const t = await readCsv(mallCustomers);
    // oracle: datasets/README.md (200 rows: 112 Female, 88 Male)
    expect(t.header).toEqual(['CustomerID', 'Gender', 'Age', 'Annual Income (k$)', 'Spending Score (1-100)']);
    expect(t.rowCount).toBe(200);
    expect(t.column('Gender').filter((g) => g === 'Female').length).toBe(112);
    expect(t.column('Spending Score (1-100)')[0]).toBe('39');
  });

  it('bank-full.csv: ";" detected, quoted strings, 45,211 rows, y = yes on 5,289', async () => {
    const t = await readCsv(bankFull);
    // oracle: datasets/README.md (45,211 rows, y=yes 5,289; no 39,922)
    expect(t.delimiter).toBe(';');
    expect(t.header.length).toBe(17);
    expect(t.rowCount).toBe(45211);
    expect(t.column('y').filter((v) => v === 'yes').length).toBe(5289);
    expect(t.column('job')[0]).toBe('management');
    expect(t.lines[45210]).toBe(45212);
  });
});
