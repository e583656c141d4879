/**
 * CSV tables and a small CSV writer. `parseCsv` builds a column-wise table with the shared `DelimitedReader`
 * (delimited.ts: quoting, line ends, a BOM, blank lines): one header row (or none), a delimiter among `,` `;`
 * and tab detected from the header line (or given: any string without quotes or line breaks, e.g. `::`), and
 * a row whose field count differs from the header's is an INVALID_ARGUMENT naming its line. Values are kept
 * as strings, column by column.
 */
import { readFile } from 'node:fs/promises';
import { QuiverError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { checkDelimiter, DelimitedReader, detectDelimiter } from './delimited.js';

// Part of the library API (src/index.ts) since before the reader had its own file.
export { detectDelimiter };

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

/** Parses CSV text into a column-wise table. */
export function parseCsv(input: string, opts: CsvOptions = {}): CsvTable {
  const source = opts.source ?? 'input';
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const delimiter = checkDelimiter(opts.delimiter ?? detectDelimiter(text));
  const hasHeader = opts.header !== false;
  const bad = (msg: string, line: number): QuiverError =>
    new QuiverError('INVALID_ARGUMENT', `${source}, line ${line}: ${msg}`, { source, line });

  let header: string[] | null = null;
  let columns: string[][] = [];
  const lines: number[] = [];
  const reader = new DelimitedReader({ delimiter, source }, (fields, line) => {
    if (header === null) {
      if (hasHeader) {
        header = fields.map((h) => h.trim());
        const seen = new Map<string, number>();
        header.forEach((h, i) => {
          const prev = seen.get(h);
          if (prev !== undefined) {
            throw bad(`the header names column "${h}" twice (columns ${prev + 1} and ${i + 1}); rename one`, line);
          }
          seen.set(h, i);
        });
        columns = header.map(() => []);
        return;
      }
      header = fields.map((_, i) => `col${i + 1}`);
      columns = fields.map(() => []);
    }
    if (fields.length !== columns.length) {
      const check = `check the delimiter (${JSON.stringify(delimiter)}) and quoting`;
      throw bad(
        fields.length > columns.length
          ? `this row has more than the ${columns.length} fields of the header; ${check}`
          : `this row has ${fields.length} field${fields.length === 1 ? '' : 's'} but the header has ${columns.length}; ${check}`,
        line,
      );
    }
    for (let c = 0; c < fields.length; c++) columns[c]!.push(fields[c]!);
    lines.push(line);
  });
  reader.push(text, true);
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
