/**
 * A small CSV reader and writer for tables and ratings: one header row (or none), a delimiter among `,` `;`
 * and tab detected from the header line (or given: any string without quotes or line breaks, e.g. `::`),
 * fields optionally double-quoted with `""` for a literal quote, CRLF, LF or CR line ends, a UTF-8 BOM
 * and a final newline. Blank lines are skipped. Values are kept as strings, column by column; a row
 * whose field count differs from the header's is an INVALID_ARGUMENT naming its line.
 */
import { readFile } from 'node:fs/promises';
import { QuiverError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export interface CsvOptions {
  /** Field delimiter; detected from the first line when omitted. */
  delimiter?: string;
  /** Whether the first record names the columns (default true); without one, columns are col1, col2, … */
  header?: boolean;
  /** Name used in error messages (a file path). */
  source?: string;
}

/** A parsed CSV file, stored column by column. */
export class CsvTable {
  readonly #index: Map<string, number>;

  constructor(
    /** Where the table came from, for error messages. */
    readonly source: string,
    /** The delimiter that was used (detected or given). */
    readonly delimiter: string,
    /** Column names, in file order. */
    readonly header: readonly string[],
    /** columns[c][r]: the raw text of row r in column c (quotes removed). */
    readonly columns: readonly string[][],
    /** lines[r]: the 1-based line number of the file where data row r starts. */
    readonly lines: Int32Array,
  ) {
    this.#index = new Map(header.map((h, i) => [h, i]));
  }

  get rowCount(): number {
    return this.lines.length;
  }

  has(name: string): boolean {
    return this.#index.has(name);
  }

  indexOf(name: string): number {
    const i = this.#index.get(name);
    if (i === undefined) {
      throw new QuiverError('INVALID_ARGUMENT', `${this.source} has no column "${name}"; its columns are: ${this.header.join(', ')}`, {
        column: name,
        columns: [...this.header],
      });
    }
    return i;
  }

  /** The raw values of a column by name; an unknown name lists the columns there are. */
  column(name: string): string[] {
    return this.columns[this.indexOf(name)]!;
  }

  /** "line 12" for data row r (for error messages). */
  where(row: number): string {
    return `${this.source}, line ${this.lines[row] ?? '?'}`;
  }
}

const QUOTE = 34;
const CR = 13;
const LF = 10;
const CANDIDATES = [',', ';', '\t'] as const;

/**
 * The delimiter of a CSV text: whichever of `,` `;` tab occurs most often outside quotes on the first
 * non-blank line (ties in that order; none at all means a single column, reported as `,`).
 */
export function detectDelimiter(text: string): string {
  const counts = [0, 0, 0];
  let inQuotes = false;
  let seen = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) inQuotes = !inQuotes;
    else if (!inQuotes && (c === LF || c === CR)) {
      if (seen) break;
      continue;
    } else if (!inQuotes) {
      seen = true;
      const k = CANDIDATES.indexOf(text[i] as (typeof CANDIDATES)[number]);
      if (k >= 0) counts[k]!++;
    }
  }
  let best = 0;
  for (let k = 1; k < counts.length; k++) if (counts[k]! > counts[best]!) best = k;
  return counts[best]! > 0 ? CANDIDATES[best]! : ',';
}

function checkDelimiter(d: string): string {
  if (typeof d !== 'string' || d.length === 0 || /["\r\n]/.test(d)) {
    throw new QuiverError('INVALID_ARGUMENT', `the delimiter must be a non-empty string without quotes or line breaks (got ${JSON.stringify(d)})`);
  }
  return d;
}

/** Parses CSV text into a column-wise table. */
export function parseCsv(input: string, opts: CsvOptions = {}): CsvTable {
  const source = opts.source ?? 'input';
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const delimiter = checkDelimiter(opts.delimiter ?? detectDelimiter(text));
  const hasHeader = opts.header !== false;
  const d0 = delimiter.charCodeAt(0);
  const dLen = delimiter.length;
  const n = text.length;
  const bad = (msg: string, line: number): QuiverError =>
    new QuiverError('INVALID_ARGUMENT', `${source}, line ${line}: ${msg}`, { source, line });

  let pos = 0;
  let line = 1;
  let header: string[] | null = null;
  let columns: string[][] = [];
  const lines: number[] = [];
  let record: string[] = []; // fields of the header record, or of the first record without a header

  const atDelimiter = (p: number): boolean => text.charCodeAt(p) === d0 && (dLen === 1 || text.startsWith(delimiter, p));

  while (pos < n) {
    const c0 = text.charCodeAt(pos);
    if (c0 === LF || c0 === CR) {
      // A blank line.
      pos += c0 === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
      line++;
      continue;
    }
    const recordLine = line;
    const collecting = header === null;
    let field = 0;
    for (;;) {
      let value: string;
      if (text.charCodeAt(pos) === QUOTE) {
        const openLine = line;
        let start = pos + 1;
        value = '';
        for (;;) {
          const q = text.indexOf('"', start);
          if (q < 0) throw bad('a quoted field is never closed; check for a stray " character', openLine);
          for (let i = start; i < q; i++) {
            const c = text.charCodeAt(i);
            if (c === LF || (c === CR && text.charCodeAt(i + 1) !== LF)) line++;
          }
          if (text.charCodeAt(q + 1) === QUOTE) {
            value += text.slice(start, q + 1);
            start = q + 2;
            continue;
          }
          value += text.slice(start, q);
          pos = q + 1;
          break;
        }
        if (pos < n && !atDelimiter(pos) && text.charCodeAt(pos) !== LF && text.charCodeAt(pos) !== CR) {
          throw bad(`unexpected text after a closing quote in field ${field + 1}; a quote inside a quoted field must be doubled ("")`, line);
        }
      } else {
        const start = pos;
        while (pos < n) {
          const c = text.charCodeAt(pos);
          if (c === LF || c === CR || (c === d0 && (dLen === 1 || text.startsWith(delimiter, pos)))) break;
          pos++;
        }
        value = text.slice(start, pos);
      }
      if (collecting) record.push(value);
      else {
        const col = columns[field];
        if (col === undefined) {
          throw bad(`this row has more than the ${columns.length} fields of the header; check the delimiter (${JSON.stringify(delimiter)}) and quoting`, recordLine);
        }
        col.push(value);
      }
      field++;
      if (pos < n && atDelimiter(pos)) {
        pos += dLen;
        continue;
      }
      if (pos < n) {
        pos += text.charCodeAt(pos) === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
        line++;
      }
      break;
    }
    if (collecting) {
      if (hasHeader) {
        header = record.map((h) => h.trim());
        const seen = new Map<string, number>();
        header.forEach((h, i) => {
          const prev = seen.get(h);
          if (prev !== undefined) {
            throw bad(`the header names column "${h}" twice (columns ${prev + 1} and ${i + 1}); rename one`, recordLine);
          }
          seen.set(h, i);
        });
        columns = header.map(() => []);
      } else {
        header = record.map((_, i) => `col${i + 1}`);
        columns = record.map((v) => [v]);
        lines.push(recordLine);
      }
      record = [];
    } else {
      if (field !== columns.length) {
        throw bad(`this row has ${field} field${field === 1 ? '' : 's'} but the header has ${columns.length}; check the delimiter (${JSON.stringify(delimiter)}) and quoting`, recordLine);
      }
      lines.push(recordLine);
    }
  }
  if (header === null) throw new QuiverError('INVALID_ARGUMENT', `${source} is empty: it needs ${hasHeader ? 'a header row' : 'at least one row'}`, { source });
  return new CsvTable(source, delimiter, header, columns, Int32Array.from(lines));
}

/** Reads and parses a CSV file (UTF-8). */
export async function readCsv(path: string, opts: Omit<CsvOptions, 'source'> = {}): Promise<CsvTable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new QuiverError('NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { path });
  }
  return parseCsv(text, { ...opts, source: path });
}

function quoteField(v: string, delimiter: string): string {
  return v.includes(delimiter) || /["\r\n]/.test(v) || v !== v.trim() ? `"${v.replaceAll('"', '""')}"` : v;
}

/**
 * CSV text from named columns of equal length (LF line ends, a final newline). Numbers are written in
 * the shortest form that reads back to the same value.
 */
export function formatCsv(header: readonly string[], columns: readonly ArrayLike<number | string>[], delimiter = ','): string {
  checkDelimiter(delimiter);
  if (header.length !== columns.length) {
    throw new QuiverError('SHAPE_MISMATCH', `${header.length} column names for ${columns.length} columns`);
  }
  const rows = columns[0]?.length ?? 0;
  for (const [i, c] of columns.entries()) {
    if (c.length !== rows) throw new QuiverError('SHAPE_MISMATCH', `column "${header[i]}" has ${c.length} values but "${header[0]}" has ${rows}`);
  }
  const parts: string[] = [header.map((h) => quoteField(h, delimiter)).join(delimiter)];
  for (let r = 0; r < rows; r++) {
    let s = '';
    for (let c = 0; c < columns.length; c++) {
      if (c > 0) s += delimiter;
      const v = columns[c]![r]!;
      s += typeof v === 'number' ? String(v) : quoteField(v, delimiter);
    }
    parts.push(s);
  }
  return `${parts.join('\n')}\n`;
}

/** Writes a CSV file atomically. */
export async function writeCsv(path: string, header: readonly string[], columns: readonly ArrayLike<number | string>[], delimiter = ','): Promise<void> {
  await writeFileAtomic(path, formatCsv(header, columns, delimiter));
}
