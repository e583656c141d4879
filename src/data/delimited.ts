/**
 * The one tokenizer of delimited text, for tables and ratings alike, and the delimiter names users may type.
 *
 * `DelimitedReader` turns text into records (arrays of field strings, each with the 1-based line where it
 * starts) for a given delimiter (any string without quotes or line breaks, e.g. `::`): CRLF, LF or CR line
 * ends, a UTF-8 BOM, blank lines skipped, fields optionally double-quoted with `""` for a literal quote. The
 * quoting is csv-parse's; the reader adds line numbers, Quiver's error messages, streaming in chunks and a
 * quote-free fast path.
 */
import { CsvError, parse as csvParse } from 'csv-parse/sync';
import { QuiverError } from '../errors.js';

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

/** A delimiter the reader can use: a non-empty string without quotes or line breaks. */
export function checkDelimiter(d: string): string {
  if (typeof d !== 'string' || d.length === 0 || /["\r\n]/.test(d)) {
    throw new QuiverError('INVALID_ARGUMENT', `the delimiter must be a non-empty string without quotes or line breaks (got ${JSON.stringify(d)})`);
  }
  return d;
}

/** The names a delimiter option accepts, besides any single character. */
const DELIMITER_NAMES: Readonly<Record<string, string>> = {
  tab: '\t',
  '\\t': '\t',
  comma: ',',
  semicolon: ';',
  pipe: '|',
  space: ' ',
  '::': '::',
};

/** The accepted spellings of a delimiter option, for help texts and error messages. */
export const DELIMITER_CHOICES = 'a single character, tab (or \\t), comma, semicolon, pipe, space or ::';

/**
 * A delimiter from what a user typed (a command-line flag, a request field): one character, or one of the
 * names tab (or the two characters \t), comma, semicolon, pipe, space and `::` (ratings.dat). `what` names the
 * option in the error.
 */
export function delimiterFromName(value: string, what = '--delimiter'): string {
  const named = DELIMITER_NAMES[value.toLowerCase()];
  if (named !== undefined) return named;
  if ([...value].length === 1 && !/["\r\n]/.test(value)) return value;
  throw new QuiverError('INVALID_ARGUMENT', `${what} must be ${DELIMITER_CHOICES} (got ${JSON.stringify(value)})`, { option: what, value });
}

export interface ReaderOptions {
  /** The field delimiter (see `checkDelimiter`). */
  delimiter: string;
  /** Fields may be double-quoted (default true); off, a quote is an ordinary character (MovieLens files). */
  quoting?: boolean;
  /**
   * A quoted field may hold line breaks (default true, tables). Off (ratings: one record per line), such a
   * field is an error, and the reader keeps no more than a chunk of text at a time.
   */
  multiline?: boolean;
  /** Spaces around a field, outside its quotes, are not part of it (default false): `a, "b"` reads b. */
  trim?: boolean;
  /** Name used in error messages (a file path). */
  source?: string;
  /** The line number of the text's first line (default 1), when the text starts inside a file. */
  line?: number;
}

/** Receives a record: its fields and the 1-based line where it starts. */
export type RecordHandler = (fields: string[], line: number) => void;

/**
 * The most text (one record per line) tokenized in one pass: csv-parse costs about three times the fast path
 * per byte, so one quote sends no more than this much text its way.
 */
const SLICE = 1 << 20;

/**
 * The tokenizer for every delimited input. Push text in chunks of any size (`final` on the last one); each
 * non-blank record goes to the handler in order with its starting line. A chunk without a double quote
 * (or any chunk, with quoting off) is split on line breaks and the delimiter directly, which is exactly
 * what csv-parse makes of such text; the rest goes through csv-parse.
 */
export class DelimitedReader {
  readonly #delimiter: string;
  readonly #quoting: boolean;
  readonly #multiline: boolean;
  readonly #trim: boolean;
  readonly #source: string;
  readonly #onRecord: RecordHandler;
  /** The line number of the first line of text not yet tokenized. */
  #line = 1;
  /** Text received but not yet tokenized: an unfinished line, or (multiline) everything so far. */
  #carry = '';
  #started = false;
  #done = false;

  constructor(opts: ReaderOptions, onRecord: RecordHandler) {
    this.#delimiter = checkDelimiter(opts.delimiter);
    this.#quoting = opts.quoting ?? true;
    this.#multiline = opts.multiline ?? true;
    this.#trim = opts.trim ?? false;
    this.#source = opts.source ?? 'input';
    this.#line = opts.line ?? 1;
    this.#onRecord = onRecord;
  }

  /** Tokenizes what `text` completes; `final` marks the end of the input. */
  push(text: string, final = false): void {
    if (this.#done) throw new QuiverError('INTERNAL', 'DelimitedReader: text pushed after the final chunk');
    let t = text;
    if (!this.#started && t.length > 0) {
      this.#started = true;
      if (t.charCodeAt(0) === 0xfeff) t = t.slice(1);
    }
    if (this.#carry.length > 0) t = this.#carry + t;
    this.#carry = '';
    if (final) {
      this.#done = true;
      this.#tokenize(t);
      return;
    }
    // With multiline fields a line break may sit inside quotes, so only the end of the input is a safe cut.
    const cut = this.#multiline ? -1 : lastLineEnd(t);
    this.#carry = cut < 0 ? t : t.slice(cut);
    if (cut > 0) this.#tokenize(t.slice(0, cut));
  }

  /** Whole lines (or the rest of the input), sliced so that one quote does not slow down everything. */
  #tokenize(text: string): void {
    let start = 0;
    while (start < text.length) {
      let end = text.length;
      if (!this.#multiline && end - start > SLICE) {
        const lf = text.indexOf('\n', start + SLICE);
        if (lf >= 0) end = lf + 1;
      }
      const part = start === 0 && end === text.length ? text : text.slice(start, end);
      if (this.#quoting && part.includes('"')) this.#slow(part);
      else this.#fast(part);
      start = end;
    }
  }

  #emit(fields: string[], line: number): void {
    if (fields.length === 1 && fields[0] === '') return;
    this.#onRecord(fields, line);
  }

  /**
   * Text without quotes: every line break ends a record, every delimiter a field. The next line break and
   * delimiter are searched once each and reused while they lie ahead, so the scan stays linear.
   */
  #fast(text: string): void {
    const n = text.length;
    const d = this.#delimiter;
    const dl = d.length;
    const trim = this.#trim;
    let line = this.#line;
    let pos = 0;
    let lf = -1;
    let cr = -1;
    let nd = -1;
    while (pos < n) {
      if (lf < pos) {
        lf = text.indexOf('\n', pos);
        if (lf < 0) lf = n;
      }
      if (cr < pos) {
        cr = text.indexOf('\r', pos);
        if (cr < 0) cr = n;
      }
      const end = Math.min(cr, lf);
      if (end > pos) {
        const fields: string[] = [];
        let s = pos;
        for (;;) {
          if (nd < s) {
            nd = text.indexOf(d, s);
            if (nd < 0) nd = n;
          }
          const e = Math.min(nd, end);
          fields.push(trim ? text.slice(s, e).trim() : text.slice(s, e));
          if (e === end) break;
          s = e + dl;
        }
        this.#emit(fields, line);
      }
      if (end === n) break;
      line++;
      pos = end === cr && cr + 1 === lf ? lf + 1 : end + 1;
    }
    this.#line = line;
  }

  /** Text with quotes, through csv-parse; lines are counted from the line breaks inside quoted fields. */
  #slow(text: string): void {
    let records: string[][];
    try {
      records = csvParse(text, this.#csvOptions());
    } catch (err) {
      throw this.#translate(err, text);
    }
    let line = this.#line;
    for (const rec of records) {
      const breaks = lineBreaksIn(rec);
      if (breaks > 0 && !this.#multiline) throw this.#bad('a quoted field is not closed (fields spanning lines are not supported)', line);
      this.#emit(rec, line);
      line += breaks + 1;
    }
    // The text ends with a line break (or the input), so the next text starts on the next line.
    this.#line = line;
  }

  #csvOptions(to?: number) {
    return {
      delimiter: this.#delimiter,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      // Blank lines come out as one empty field and are dropped by #emit, after they are counted.
      skip_empty_lines: false,
      ltrim: this.#trim,
      rtrim: this.#trim,
      ...(to === undefined ? {} : { to }),
    };
  }

  /** csv-parse's errors in today's words, with the line in the whole input. */
  #translate(err: unknown, text: string): unknown {
    if (!(err instanceof CsvError)) return err;
    const at = typeof err.lines === 'number' ? this.#line + err.lines - 1 : this.#line;
    const field = typeof err.column === 'number' ? err.column + 1 : 0;
    switch (err.code) {
      case 'CSV_QUOTE_NOT_CLOSED':
        return this.#bad(
          this.#multiline ? 'a quoted field is never closed; check for a stray " character' : 'a quoted field is not closed (fields spanning lines are not supported)',
          this.#recordStart(text, typeof err.records === 'number' ? err.records : 0),
        );
      case 'CSV_INVALID_CLOSING_QUOTE':
      case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
        return this.#bad(`unexpected text after a closing quote in field ${field}; a quote inside a quoted field must be doubled ("")`, at);
      case 'INVALID_OPENING_QUOTE':
        return this.#bad(`a quote in the middle of field ${field}; quote the whole field and double the quotes inside it ("")`, at);
      default:
        return this.#bad(err.message, at);
    }
  }

  /** The line where record `index` of `text` starts (an error path: parses the records before it again). */
  #recordStart(text: string, index: number): number {
    let line = this.#line;
    if (index > 0) for (const rec of csvParse(text, this.#csvOptions(index))) line += lineBreaksIn(rec) + 1;
    return line;
  }

  #bad(msg: string, line: number): QuiverError {
    return new QuiverError('INVALID_ARGUMENT', `${this.#source}, line ${line}: ${msg}`, { source: this.#source, line });
  }
}

/**
 * Just past the last LF of `text`, or else its last CR that is not the final character (that one may be half
 * of a CRLF); -1 if neither. Text after it waits for the next chunk.
 */
function lastLineEnd(text: string): number {
  const lf = text.lastIndexOf('\n');
  if (lf >= 0) return lf + 1;
  const cr = text.lastIndexOf('\r', text.length - 2);
  return cr < 0 ? -1 : cr + 1;
}

/** Line breaks (CRLF, LF or CR) inside the fields of a record. */
function lineBreaksIn(fields: readonly string[]): number {
  let n = 0;
  for (const f of fields) {
    if (f.indexOf('\n') < 0 && f.indexOf('\r') < 0) continue;
    for (let i = 0; i < f.length; i++) {
      const c = f.charCodeAt(i);
      if (c === LF || (c === CR && f.charCodeAt(i + 1) !== LF)) n++;
    }
  }
  return n;
}

/** The fields of one line of text (a header line, say), with the reader's rules. */
export function splitRecord(line: string, opts: ReaderOptions): string[] {
  let out: string[] = [];
  new DelimitedReader({ ...opts, multiline: false }, (f) => {
    if (out.length === 0) out = f;
  }).push(line, true);
  return out;
}
