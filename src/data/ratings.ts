/**
 * Ratings and interaction loaders: MovieLens `u.data` (tab-separated `user item rating timestamp`, no header),
 * `ratings.csv` (`userId,movieId,rating,timestamp` with its header, CRLF or LF), `ratings.dat`
 * (`UserID::MovieID::Rating::Timestamp`, no header), and generic delimited files with a header row whose user,
 * item and (optional) rating columns are named by options.
 *
 * The result is a users × items CSR matrix plus the external ids:
 * - Ids are kept as the strings of the file (after trimming and removing surrounding double quotes) and mapped
 *   to dense indices in order of FIRST APPEARANCE among the kept rows: user 0 is the user of the first kept
 *   row, and so on. Outputs map indices back to these strings, so users come out in input order.
 * - Rows of the CSR matrix are sorted by item index.
 * - Feedback: `explicit` stores the rating; `binary` stores 1 for every (user, item) that occurs; `counts`
 *   stores the number of occurrences (or the sum of the rating column when one is named, e.g. play counts).
 * - Timestamps, when the file has them (u.data, ratings.dat and ratings.csv carry them; generic files name the
 *   column or have one called timestamp, time, ts or datetime), are kept beside the matrix for time splits.
 * - Explicit ratings that look like counts (whole numbers ≥ 0 above 10) add a warning suggesting implicit feedback.
 * - `minRating` drops rows whose rating is below it before anything else (their ids are not registered).
 * - Duplicate (user, item) pairs: `duplicates: 'last'` keeps the value of the later line, `'sum'` adds the
 *   values, `'reject'` raises INVALID_ARGUMENT naming both lines. Defaults: `last` for explicit ratings (a
 *   re-rating replaces the earlier one), `sum` for counts (that is what a count is), and any policy but
 *   `reject` gives 1 for binary feedback.
 *
 * Files are streamed in chunks, so a file larger than the biggest JavaScript string still loads; memory is
 * a few typed arrays of the kept rows plus the id maps. Lines are split by the shared `DelimitedReader`:
 * generic files may quote fields (a quoted field stays on its line); the MovieLens layouts have no quoting.
 * The layout is told from the first non-blank line (ratings-layout.ts).
 */
import { type FileHandle, open } from 'node:fs/promises';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import { DelimitedReader } from './delimited.js';
import { detectLayout, firstLine, isBlankLine, type Layout, NUMERIC, parseTimestamp, readerOptions } from './ratings-layout.js';

export type RatingsFormat = 'auto' | 'movielens' | 'csv';
import { buildCsr, countsWarning, type DuplicatePolicy, type Feedback, IdMap, Triples } from './ratings-build.js';

export type { DuplicatePolicy, Feedback } from './ratings-build.js';
export { COUNT_LIKE_ABOVE, countsWarning } from './ratings-build.js';

export interface RatingsOptions {
  /** 'auto' (default) recognises the MovieLens layouts, else reads a generic delimited file with a header. */
  format?: RatingsFormat;
  /** Generic files only: the delimiter (default: detected among `,` `;` tab from the header line). */
  delimiter?: string;
  /** Generic files only: user column name (default: the first of user, userId, user_id, customer_id present). */
  userCol?: string;
  /** Generic files only: item column name (default: the first of item, itemId, item_id, movieId, product_id present). */
  itemCol?: string;
  /** Generic files only: rating column name (default: `rating` when present). */
  ratingCol?: string;
  /**
   * Generic files only: timestamp column name (default: the first of timestamp, time, ts, datetime present).
   * Numbers (epoch seconds or ms) or ISO dates. A named column must hold times on every row; a column found by
   * its name that does not is left out with a warning.
   */
  timestampCol?: string;
  /** explicit (default), binary or counts. */
  feedback?: Feedback;
  /** Keep only rows with rating ≥ minRating (needs a rating column). */
  minRating?: number;
  /** What to do with a repeated (user, item) pair; see the module comment for the defaults. */
  duplicates?: DuplicatePolicy;
  /** Name used in error messages (the file path). */
  source?: string;
}

/** Which layout a file was read as ('memory': built from arrays; 'synthetic': the seeded generator). */
export type RatingsLayout = 'u.data' | 'ratings.csv' | 'ratings.dat' | 'delimited' | 'memory' | 'synthetic';

export interface Interactions {
  /** users × items; row u holds the items of user u, sorted by item index. */
  matrix: CsrMatrix;
  /** External user id of each dense user index (first-seen order). */
  userIds: string[];
  /** External item id of each dense item index (first-seen order). */
  itemIds: string[];
  feedback: Feedback;
  layout: RatingsLayout;
  /** Data rows read (blank lines excluded). */
  rowsRead: number;
  /** Rows dropped by minRating. */
  rowsDropped: number;
  /** Rows that repeated an earlier (user, item) pair and were merged by the duplicates policy. */
  duplicates: number;
  /**
   * When the input has them: the time of each stored interaction, aligned with `matrix.data` (a merged
   * duplicate keeps the latest time). MovieLens files have them; `--split-by time` needs them.
   */
  timestamps?: Float64Array;
  /** What the reader noticed that may mislead (e.g. counts read as explicit ratings); the CLI prints these. */
  warnings?: string[];
}

/** Dense index of each external id, built once from an id list. */
export function indexIds(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) if (!m.has(ids[i]!)) m.set(ids[i]!, i);
  return m;
}

function bad(msg: string, details?: Record<string, unknown>): QuiverError {
  return new QuiverError('INVALID_ARGUMENT', msg, details);
}

/** Parses ratings text (a whole file in memory); see `readRatings` for files. */
export function parseRatings(text: string, opts: RatingsOptions = {}): Interactions {
  const p = new RatingsParser(opts, opts.source ?? 'input');
  p.push(text, true);
  return p.finish();
}

/** Reads a ratings file, streaming it in chunks. */
export async function readRatings(path: string, opts: RatingsOptions = {}): Promise<Interactions> {
  const source = opts.source ?? path;
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new QuiverError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', `cannot read ratings file ${path}: ${(err as Error).message}`, { path });
  }
  try {
    const p = new RatingsParser(opts, source);
    const decoder = new TextDecoder('utf-8');
    const buf = Buffer.allocUnsafe(1 << 22);
    let carry = new Uint8Array(0);
    while (true) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      let chunk: Uint8Array = buf.subarray(0, bytesRead);
      if (carry.length > 0) {
        const joined = new Uint8Array(carry.length + chunk.length);
        joined.set(carry);
        joined.set(chunk, carry.length);
        chunk = joined;
      }
      // Cut after the last LF (a UTF-8 multi-byte sequence never contains the byte 0x0A): the reader then
      // gets whole lines and has no partial line to join to the next chunk.
      const cut = chunk.lastIndexOf(10);
      if (cut < 0) {
        carry = Uint8Array.from(chunk);
        continue;
      }
      p.push(decoder.decode(chunk.subarray(0, cut + 1)), false);
      carry = Uint8Array.from(chunk.subarray(cut + 1));
    }
    p.push(decoder.decode(carry), true);
    return p.finish();
  } finally {
    await fh.close();
  }
}

class RatingsParser {
  readonly #opts: RatingsOptions;
  readonly #source: string;
  readonly #feedback: Feedback;
  readonly #minRating: number | undefined;
  #layout: Layout | null = null;
  #reader: DelimitedReader | null = null;
  /** Text held until the first non-blank line is complete. */
  #head = '';
  #skipHeader = false;
  #rowsRead = 0;
  #dropped = 0;
  readonly #warnings: string[] = [];
  readonly #users = new IdMap();
  readonly #items = new IdMap();
  readonly #t = new Triples();

  constructor(opts: RatingsOptions, source: string) {
    this.#opts = opts;
    this.#source = source;
    const fb = opts.feedback ?? 'explicit';
    if (fb !== 'explicit' && fb !== 'binary' && fb !== 'counts') throw bad(`feedback must be explicit, binary or counts (got ${JSON.stringify(fb)})`);
    this.#feedback = fb;
    if (opts.minRating !== undefined && !Number.isFinite(opts.minRating)) throw bad(`minRating must be a finite number (got ${opts.minRating})`);
    this.#minRating = opts.minRating;
    const d = opts.duplicates;
    if (d !== undefined && d !== 'sum' && d !== 'last' && d !== 'reject') throw bad(`duplicates must be sum, last or reject (got ${JSON.stringify(d)})`);
  }

  /** Feeds text in chunks of any size (`final` on the last one). */
  push(text: string, final: boolean): void {
    if (this.#reader === null) {
      // The layout, and so the delimiter and quoting, come from the first non-blank line: wait for it whole.
      this.#head += text;
      const first = firstLine(this.#head, final);
      if (first === null) {
        if (!final) return;
        this.#head = '';
        return;
      }
      this.#start(first.text, first.line);
      const head = this.#head;
      this.#head = '';
      this.#reader!.push(head, final);
      return;
    }
    this.#reader.push(text, final);
  }

  #start(first: string, lineNo: number): void {
    const L = detectLayout(first, lineNo, this.#opts, this.#source);
    this.#layout = L;
    if (L.ratingField < 0 && (this.#feedback === 'explicit' || this.#minRating !== undefined)) {
      throw bad(
        `${this.#source} has no rating column${this.#minRating !== undefined ? ' to compare with --min-rating' : ''}; name it with --rating-col, or use implicit feedback (--implicit) without --min-rating`,
      );
    }
    this.#skipHeader = L.header;
    if (L.timestampField >= 0) this.#t.times = new Float64Array(this.#t.users.length);
    this.#reader = new DelimitedReader(readerOptions(L, this.#source), (f, line) => this.#onRecord(f, line));
  }

  #where(line: number): string {
    return `${this.#source}, line ${line}`;
  }

  #onRecord(f: string[], line: number): void {
    const L = this.#layout!;
    const f0 = f[0]!;
    if ((f0.length === 0 || f0.charCodeAt(0) <= 32) && isBlankLine(f, L.delimiter)) return;
    if (this.#skipHeader) {
      this.#skipHeader = false;
      return;
    }
    if (L.exactFields ? f.length !== L.fields : f.length < L.fields) {
      throw bad(`${this.#where(line)}: expected ${L.exactFields ? '' : 'at least '}${L.fields} fields separated by ${JSON.stringify(L.delimiter)}, found ${f.length}`, { line });
    }
    const userId = f[L.userField]!.trim();
    const itemId = f[L.itemField]!.trim();
    if (userId.length === 0 || itemId.length === 0) throw bad(`${this.#where(line)}: empty ${userId.length === 0 ? 'user' : 'item'} id`, { line });
    this.#rowsRead++;
    let rating = 1;
    if (L.ratingField >= 0) {
      const text = f[L.ratingField]!.trim();
      rating = NUMERIC.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(rating)) {
        throw bad(`${this.#where(line)}: the rating ${JSON.stringify(text)} is not a number`, { line, value: text });
      }
    }
    if (this.#minRating !== undefined && rating < this.#minRating) {
      this.#dropped++;
      return;
    }
    const value = this.#feedback === 'binary' ? 1 : this.#feedback === 'counts' && L.ratingField < 0 ? 1 : rating;
    let time = NaN;
    if (this.#t.times) {
      const text = f[L.timestampField];
      if (text === undefined) {
        throw bad(`${this.#where(line)}: no timestamp (field ${L.timestampField + 1}), though the first line has one; give every row its time, or drop the field from every row`, { line });
      }
      time = parseTimestamp(text);
      if (Number.isNaN(time)) {
        if (L.timestampStrict) {
          throw bad(`${this.#where(line)}: the timestamp ${JSON.stringify(text.trim())} in column "${L.timestampName}" is neither a number nor an ISO date`, { line, value: text });
        }
        // A column found only by its name: the file reads as it did before, without times.
        this.#t.times = null;
        this.#warnings.push(
          `${this.#where(line)}: column "${L.timestampName}" holds ${JSON.stringify(text.trim())}, not a time (a number or an ISO date), so no timestamps were kept; name the column with --timestamp-col to make this an error`,
        );
      }
    }
    this.#t.push(this.#users.get(userId), this.#items.get(itemId), value, line, time);
  }

  finish(): Interactions {
    if (this.#layout === null) throw bad(`${this.#source} is empty; it needs at least one rating row`);
    if (this.#t.length === 0) {
      const why = this.#rowsRead === 0 ? 'has a header but no rating rows' : `has no rows left after --min-rating ${this.#minRating} (${this.#dropped} dropped)`;
      throw bad(`${this.#source} ${why}`);
    }
    const policy = this.#opts.duplicates ?? (this.#feedback === 'explicit' ? 'last' : 'sum');
    const L = this.#layout;
    const { matrix, duplicates, timestamps } = buildCsr(this.#t, this.#users.ids.length, this.#items.ids.length, policy, this.#feedback, this.#source, this.#users.ids, this.#items.ids);
    const warnings = [...this.#warnings];
    if (this.#feedback === 'explicit' && L.ratingField >= 0) {
      const w = countsWarning(this.#t.values, this.#t.length, `${this.#source}: the rating column "${L.ratingName}"`);
      if (w) warnings.push(w);
    }
    return {
      matrix,
      userIds: this.#users.ids,
      itemIds: this.#items.ids,
      feedback: this.#feedback,
      layout: L.layout,
      rowsRead: this.#rowsRead,
      rowsDropped: this.#dropped,
      duplicates,
      ...(timestamps ? { timestamps } : {}),
      warnings,
    };
  }
}

/**
 * Interactions from parallel arrays of external ids (library use and tests); values default to 1. The same
 * id order, duplicate and feedback rules as the file loaders apply.
 */
export function interactionsFromTriples(
  users: ArrayLike<string | number>,
  items: ArrayLike<string | number>,
  values?: ArrayLike<number> | null,
  opts: Pick<RatingsOptions, 'feedback' | 'minRating' | 'duplicates'> & { timestamps?: ArrayLike<number> } = {},
): Interactions {
  const times = opts.timestamps;
  if (users.length !== items.length || (values && values.length !== users.length) || (times && times.length !== users.length)) {
    throw new QuiverError(
      'SHAPE_MISMATCH',
      `users, items, values and timestamps need the same length (got ${users.length}, ${items.length}, ${values?.length ?? '-'}, ${times?.length ?? '-'})`,
    );
  }
  const feedback = opts.feedback ?? (values ? 'explicit' : 'binary');
  if (feedback === 'explicit' && !values) throw bad('explicit feedback needs values (ratings)');
  const u = new IdMap();
  const it = new IdMap();
  const t = new Triples();
  if (times) t.times = new Float64Array(t.users.length);
  let dropped = 0;
  for (let r = 0; r < users.length; r++) {
    const v = values ? values[r]! : 1;
    if (!Number.isFinite(v)) throw new QuiverError('NON_FINITE', `the value at position ${r} is not finite (${v})`, { row: r });
    if (opts.minRating !== undefined && v < opts.minRating) {
      dropped++;
      continue;
    }
    const time = times ? times[r]! : NaN;
    if (times && !Number.isFinite(time)) throw new QuiverError('NON_FINITE', `the timestamp at position ${r} is not finite (${time})`, { row: r });
    t.push(u.get(String(users[r])), it.get(String(items[r])), feedback === 'binary' ? 1 : v, r + 1, time);
  }
  if (t.length === 0) throw bad(users.length === 0 ? 'no interactions given' : 'no interactions left after minRating');
  const policy = opts.duplicates ?? (feedback === 'explicit' ? 'last' : 'sum');
  const { matrix, duplicates, timestamps } = buildCsr(t, u.ids.length, it.ids.length, policy, feedback, 'input', u.ids, it.ids);
  const warnings: string[] = [];
  if (feedback === 'explicit') {
    const w = countsWarning(t.values, t.length, 'the values');
    if (w) warnings.push(w);
  }
  return { matrix, userIds: u.ids, itemIds: it.ids, feedback, layout: 'memory', rowsRead: users.length, rowsDropped: dropped, duplicates, ...(timestamps ? { timestamps } : {}), warnings };
}
