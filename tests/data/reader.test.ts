// The one reader of delimited text under tables and ratings: quoting, a BOM, CRLF/CR line ends, chunked input,
// its quote-free fast path held to csv-parse itself, the messages with line numbers, and the delimiter names.
import { parse as csvParse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { DelimitedReader, delimiterFromName, type ReaderOptions } from '../../src/data/delimited.js';
import { parseRatings } from '../../src/data/ratings.js';
import { QuiverError } from '../../src/errors.js';
import { mulberry32 } from '../helpers/rng.js';

interface Rec {
  fields: string[];
  line: number;
}

/** Every record the reader gives for `text`, pushed whole or in pieces cut at `cuts`. */
function read(text: string, opts: ReaderOptions, cuts: number[] = []): Rec[] {
  const out: Rec[] = [];
  const r = new DelimitedReader(opts, (fields, line) => out.push({ fields, line }));
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    r.push(text.slice(at, c));
    at = c;
  }
  r.push(text.slice(at), true);
  return out;
}

function expectInvalid(fn: () => unknown, message: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    expect((e as QuiverError).code).toBe('INVALID_ARGUMENT');
    expect((e as QuiverError).message).toMatch(message);
    return;
  }
  throw new Error(`expected INVALID_ARGUMENT ${message}`);
}

/** Quote-free delimited text with empty fields, spaces, blank lines and mixed line ends. */
function quoteFree(seed: number, delimiter: string, rows: number, cols: number): string {
  const rnd = mulberry32(seed);
  const ends = ['\n', '\r\n', '\r'];
  const words = ['a', 'bb', '', ' c ', '12', '-3.5', 'x y', 'é', 'z'];
  let s = '';
  for (let r = 0; r < rows; r++) {
    if (rnd() < 0.1) s += ends[Math.floor(rnd() * 3)]!;
    const f: string[] = [];
    for (let c = 0; c < cols; c++) f.push(`${words[Math.floor(rnd() * words.length)]!}${r}`);
    s += f.join(delimiter) + ends[Math.floor(rnd() * 3)]!;
  }
  return s;
}

describe('DelimitedReader', () => {
  it('the quote-free fast path gives what csv-parse gives, with the lines csv-parse counts', () => {
    for (const [seed, delimiter] of [
      [1, ','],
      [2, '\t'],
      [3, '::'],
      [4, ';'],
    ] as const) {
      const text = quoteFree(seed, delimiter, 400, 4);
      // oracle: csv-parse on the same text; a quote-free record is one line, so info.lines is where it starts
      const oracle = (csvParse(text, { delimiter, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[])
        .filter((r) => !(r.record.length === 1 && r.record[0] === ''))
        .map((r) => ({ fields: r.record, line: r.info.lines }));
      expect(read(text, { delimiter })).toEqual(oracle);
      // The same text with every field quoted goes through csv-parse and gives the same records and lines.
      const quoted = text.replace(/[^\r\n]+/g, (line) => line.split(delimiter).map((f) => `"${f}"`).join(delimiter));
      expect(read(quoted, { delimiter })).toEqual(oracle);
    }
  });

  it('trim drops spaces around fields on both paths, so a quote may follow them', () => {
    const text = quoteFree(5, ',', 200, 3);
    const oracle = (csvParse(text, { record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, ltrim: true, rtrim: true, info: true }) as unknown as { record: string[]; info: { lines: number } }[])
      .filter((r) => !(r.record.length === 1 && r.record[0] === ''))
      .map((r) => ({ fields: r.record, line: r.info.lines }));
    expect(read(text, { delimiter: ',', trim: true })).toEqual(oracle);
    expect(read(' "a" , b ,"c"\n', { delimiter: ',', trim: true })).toEqual([{ fields: ['a', 'b', 'c'], line: 1 }]);
  });

  it('chunks cut anywhere (between \\r and \\n, inside quotes) give what one push gives', () => {
    const text = '\ufeffid,note\r\n1,"a, b\r\nc"\r\n\r\n2,"say ""hi"""\r3,plain\n4,"x"\n';
    const whole = read(text, { delimiter: ',' });
    expect(whole).toEqual([
      { fields: ['id', 'note'], line: 1 },
      { fields: ['1', 'a, b\r\nc'], line: 2 },
      { fields: ['2', 'say "hi"'], line: 5 },
      { fields: ['3', 'plain'], line: 6 },
      { fields: ['4', 'x'], line: 7 },
    ]);
    for (let c = 1; c < text.length; c++) expect(read(text, { delimiter: ',' }, [c])).toEqual(whole);
    // One record per line (ratings): every cut of a CRLF/CR text, and many cuts at once.
    const lines = 'u,i,r\r\n"a",x,1\r\rb,"y",2\r\nc,z,3';
    const one = read(lines, { delimiter: ',', multiline: false });
    expect(one.map((r) => r.line)).toEqual([1, 2, 4, 5]);
    for (let c = 1; c < lines.length; c++) expect(read(lines, { delimiter: ',', multiline: false }, [c])).toEqual(one);
    expect(read(lines, { delimiter: ',', multiline: false }, [...Array(lines.length).keys()].slice(1))).toEqual(one);
  });

  it('line numbers hold across the 1 MiB slices, where only some slices have quotes', () => {
    const rows: string[] = [];
    for (let i = 0; i < 120_000; i++) rows.push(i === 100_000 ? `"q${i}",${i}` : `p${i},${i}`);
    const text = `${rows.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(1 << 20);
    const got = read(text, { delimiter: ',', multiline: false });
    expect(got.length).toBe(120_000);
    expect(got[100_000]).toEqual({ fields: ['q100000', '100000'], line: 100_001 });
    expect(got[119_999]).toEqual({ fields: ['p119999', '119999'], line: 120_000 });
  });

  it('without quoting a quote is an ordinary character', () => {
    expect(read('5\'10"\t"x\n', { delimiter: '\t', quoting: false })).toEqual([{ fields: ['5\'10"', '"x'], line: 1 }]);
  });

  it('quote errors name the line in the whole input', () => {
    expectInvalid(() => read('a,b\n"x\ny",1\n2,"open\n3,4\n', { delimiter: ',', source: 'q.csv' }), /^q\.csv, line 4: a quoted field is never closed/);
    expectInvalid(() => read('a,b\n1,"x\ny"z\n', { delimiter: ',' }), /^input, line 3: unexpected text after a closing quote in field 2/);
    expectInvalid(() => read('a,b\n1,5\'10"\n', { delimiter: ',' }), /^input, line 2: a quote in the middle of field 2; quote the whole field and double the quotes inside it/);
    expectInvalid(() => read('a,b\n"x\ny",1\n', { delimiter: ',', multiline: false }), /^input, line 2: a quoted field is not closed \(fields spanning lines are not supported\)/);
    expectInvalid(() => read('a\n', { delimiter: '"' }), /the delimiter must be a non-empty string without quotes or line breaks/);
  });
});

describe('tables through the reader', () => {
  it('quoted fields with delimiters and line breaks, a BOM, CRLF, a multi-character delimiter', () => {
    const t = parseCsv('\ufeff"id","note"\r\n1,"x, y\r\nz"\r\n2,"a ""b"""\r\n', { source: 't.csv' });
    expect(t.header).toEqual(['id', 'note']);
    expect(t.column('note')).toEqual(['x, y\r\nz', 'a "b"']);
    expect(Array.from(t.lines)).toEqual([2, 4]);
    const d = parseCsv('a::b\n"x::y"::"1\n2"\nz::3\n', { delimiter: '::' });
    expect(d.columns).toEqual([
      ['x::y', 'z'],
      ['1\n2', '3'],
    ]);
    expect(Array.from(d.lines)).toEqual([2, 4]);
  });

  it('a ragged row after a multi-line field names its own line', () => {
    expectInvalid(() => parseCsv('a,b\n"x\ny",1\n2\n', { source: 'r.csv' }), /^r\.csv, line 4: this row has 1 field but the header has 2/);
  });
});

describe('ratings through the reader', () => {
  it('a BOM, CRLF, quoted ids holding the delimiter, spaces around quotes', () => {
    const d = parseRatings('\ufeffuser, item, rating\r\n "u1" , i1 , 4\r\nu2,"i,2",5\r\n');
    expect(d.layout).toBe('delimited');
    expect(d.userIds).toEqual(['u1', 'u2']);
    expect(d.itemIds).toEqual(['i1', 'i,2']);
    const dat = parseRatings('user::item::rating\n"a::1"::x::2\n', { format: 'csv', delimiter: '::' });
    expect(dat.userIds).toEqual(['a::1']);
  });

  it('CR line ends, and a quoted header', () => {
    const d = parseRatings('"user","item","rating"\ra,x,1\rb,y,2\r');
    expect(d.rowsRead).toBe(2);
    expect(d.itemIds).toEqual(['x', 'y']);
  });

  it('MovieLens layouts keep quotes as they are', () => {
    const d = parseRatings('7\t"50\t4\t1\n');
    expect(d.layout).toBe('u.data');
    expect(d.itemIds).toEqual(['"50']);
  });

  it('quote errors keep their line numbers', () => {
    const rows = ['user,item,rating'];
    for (let i = 0; i < 50_000; i++) rows.push(i === 40_000 ? '"a,b,1' : `u${i},i${i},1`);
    expectInvalid(() => parseRatings(`${rows.join('\n')}\n`, { source: 'r.csv' }), /^r\.csv, line 40002: a quoted field is not closed/);
    expectInvalid(() => parseRatings('user,item,rating\nu,"a\nb",1\n'), /line 2: a quoted field is not closed \(fields spanning lines are not supported\)/);
    expectInvalid(() => parseRatings('user,item,rating\n\n"a"x,b,1\n'), /line 3: unexpected text after a closing quote in field 1/);
  });
});

describe('delimiterFromName', () => {
  it('names and single characters', () => {
    for (const [name, d] of [
      ['tab', '\t'],
      ['TAB', '\t'],
      ['\\t', '\t'],
      ['\t', '\t'],
      ['comma', ','],
      ['semicolon', ';'],
      ['pipe', '|'],
      ['space', ' '],
      ['::', '::'],
      [',', ','],
      ['|', '|'],
      ['§', '§'],
    ]) {
      expect(delimiterFromName(name!)).toBe(d);
      // A name's delimiter reads back as itself, so parsing twice is harmless.
      expect(delimiterFromName(d!)).toBe(d);
    }
  });

  it('anything else is INVALID_ARGUMENT naming the option and what it accepts', () => {
    for (const bad of ['xx', '', '"', '||', 'tabs', '\n']) {
      expectInvalid(
        () => delimiterFromName(bad),
        /^--delimiter must be a single character, tab \(or \\t\), comma, semicolon, pipe, space or :: \(got ".*"\)$/,
      );
    }
    expectInvalid(() => delimiterFromName('xx', 'delimiter'), /^delimiter must be/);
  });
});
