/**
 * Which layout a ratings file has, from its first non-blank line: MovieLens `u.data` (tab, no header),
 * `ratings.csv` (its header), `ratings.dat` (`::`, no header), or a generic delimited file whose header names
 * the user, item and rating columns. Also how each layout is split by the shared reader, and what counts as
 * a blank line.
 */
import { basename } from 'node:path';
import { QuiverError } from '../errors.js';
import { checkDelimiter, detectDelimiter, type ReaderOptions, splitRecord } from './delimited.js';

/** The ratings options that decide the layout (a subset of RatingsOptions). */
export interface LayoutOptions {
  format?: string;
  delimiter?: string;
  userCol?: string;
  itemCol?: string;
  ratingCol?: string;
  timestampCol?: string;
}

// Column names tried when none is given, compared without regard to case (so `userID` finds `userId`): the
// names MovieLens, Last.fm, retail and clickstream exports use. The error that finds none lists them.
export const USER_COLS = ['user', 'userId', 'user_id', 'customer', 'customerId', 'customer_id', 'visitorId', 'visitor_id', 'member_id', 'account_id'];
export const ITEM_COLS = ['item', 'itemId', 'item_id', 'movieId', 'movie_id', 'product', 'productId', 'product_id', 'artistId', 'artist_id', 'trackId', 'track_id', 'sku', 'article_id'];
const RATING_COLS = ['rating'];
export const TIMESTAMP_COLS = ['timestamp', 'time', 'ts', 'datetime'];
const ML_CSV_HEADER = ['userId', 'movieId', 'rating'];
export const NUMERIC = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A timestamp as a number that orders like the times: a number as it is (epoch seconds or ms), else an ISO date's ms; NaN when neither. */
export function parseTimestamp(text: string): number {
  const t = text.trim();
  if (NUMERIC.test(t)) return Number(t);
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return NaN;
  return Date.parse(t);
}

function bad(msg: string, details?: Record<string, unknown>): QuiverError {
  return new QuiverError('INVALID_ARGUMENT', msg, details);
}

export interface Layout {
  layout: 'u.data' | 'ratings.csv' | 'ratings.dat' | 'delimited';
  delimiter: string;
  /** The first line is a header (skipped). */
  header: boolean;
  userField: number;
  itemField: number;
  /** -1: no rating column. */
  ratingField: number;
  /** The rating column's name (for messages). */
  ratingName: string;
  /** -1: no timestamp column. */
  timestampField: number;
  /** The timestamp column's name (for messages). */
  timestampName: string;
  /**
   * A value that is not a time is an error (MovieLens layouts, or a column named by --timestamp-col); else
   * (a column found by its name) the file's timestamps are dropped with a warning, as the file read before.
   */
  timestampStrict: boolean;
  /** Expected field count (at least this many for MovieLens layouts; exactly for generic files). */
  fields: number;
  exactFields: boolean;
}

/** How generic delimited files are split: quoted fields allowed, on one line, spaces around them ignored. */
const GENERIC = { quoting: true, multiline: false, trim: true } as const;

/** How the reader splits a file of this layout: MovieLens files have no quoting. */
export function readerOptions(L: Layout, source: string): ReaderOptions {
  const split = L.layout === 'delimited' ? GENERIC : { quoting: false, multiline: false };
  return { ...split, delimiter: L.delimiter, source };
}

function isNumeric(s: string): boolean {
  return NUMERIC.test(s.trim());
}

/** Index of a header name: exact first, then the one name equal without regard to case; -1 when none or several. */
function headerIndex(header: string[], name: string): number {
  const exact = header.indexOf(name);
  if (exact >= 0) return exact;
  const low = name.toLowerCase();
  let found = -1;
  for (let i = 0; i < header.length; i++) {
    if (header[i]!.toLowerCase() !== low) continue;
    if (found >= 0) return -1;
    found = i;
  }
  return found;
}

function findColumn(header: string[], wanted: string | undefined, defaults: string[], what: string, flag: string, source: string): number {
  if (wanted !== undefined) {
    const i = headerIndex(header, wanted);
    if (i >= 0) return i;
    throw bad(`${source} has no ${what} column "${wanted}"; its columns are: ${header.join(', ')}`, { column: wanted, columns: header });
  }
  for (const d of defaults) {
    const i = headerIndex(header, d);
    if (i >= 0) return i;
  }
  if (what === 'rating' || what === 'timestamp') return -1;
  throw bad(`${source}: cannot tell which column holds the ${what} ids: none of its columns (${header.join(', ')}) is one of ${defaults.join(', ')} (compared without regard to case); name it with ${flag}`, {
    columns: header,
    tried: defaults,
  });
}

/** Decides the layout from the first non-blank line (line `lineNo` of the file). */
export function detectLayout(first: string, lineNo: number, opts: LayoutOptions, source: string): Layout {
  const format = opts.format ?? 'auto';
  if (format !== 'auto' && format !== 'movielens' && format !== 'csv') {
    throw bad(`unknown ratings format "${String(format)}"; use movielens or csv (or leave it out to detect)`);
  }
  const generic =
    format === 'csv' ||
    (format === 'auto' && (opts.userCol !== undefined || opts.itemCol !== undefined || opts.ratingCol !== undefined || opts.timestampCol !== undefined || opts.delimiter !== undefined));
  if (!generic) {
    const ml = movielensLayout(first, lineNo, source, format === 'movielens');
    if (ml) {
      if (opts.timestampCol !== undefined && ml.timestampField < 0) throw bad(`${source}: --timestamp-col is for delimited files with a header; this ${ml.layout} file has no timestamp field`);
      return ml;
    }
  }
  // A generic delimited file: the first line must be its header.
  const delimiter = checkDelimiter(opts.delimiter ?? detectDelimiter(first));
  const header = splitRecord(first, { ...GENERIC, delimiter, source, line: lineNo }).map((h) => h.trim());
  if (header.length < 2) {
    throw bad(`${source}: cannot tell the layout: the first line has ${header.length} field with delimiter ${JSON.stringify(delimiter)}; use --format movielens for MovieLens files, or --format csv with --delimiter and --user-col/--item-col for other delimited files`);
  }
  if (header.every((h) => isNumeric(h))) {
    throw bad(`${source}: the first line looks like data (${JSON.stringify(first.slice(0, 60))}), not a header; delimited files need a header row naming the columns (MovieLens u.data and ratings.dat have none: use --format movielens)`);
  }
  const userField = findColumn(header, opts.userCol, USER_COLS, 'user', '--user-col', source);
  const itemField = findColumn(header, opts.itemCol, ITEM_COLS, 'item', '--item-col', source);
  const ratingField = findColumn(header, opts.ratingCol, RATING_COLS, 'rating', '--rating-col', source);
  const timestampField = findColumn(header, opts.timestampCol, TIMESTAMP_COLS, 'timestamp', '--timestamp-col', source);
  if (userField === itemField) throw bad(`${source}: the user and item columns are the same column ("${header[userField]}")`);
  return {
    layout: 'delimited',
    delimiter,
    header: true,
    userField,
    itemField,
    ratingField,
    ratingName: ratingField >= 0 ? header[ratingField]! : '',
    timestampField,
    timestampName: timestampField >= 0 ? header[timestampField]! : '',
    timestampStrict: opts.timestampCol !== undefined,
    fields: header.length,
    exactFields: true,
  };
}

/** A MovieLens layout: user, item, rating and (when the first line has it) the timestamp, in this order. */
function mlLayout(layout: 'u.data' | 'ratings.csv' | 'ratings.dat', delimiter: string, header: boolean, timestamps: boolean): Layout {
  return {
    layout,
    delimiter,
    header,
    userField: 0,
    itemField: 1,
    ratingField: 2,
    ratingName: 'rating',
    timestampField: timestamps ? 3 : -1,
    timestampName: 'timestamp',
    timestampStrict: true,
    fields: 3,
    exactFields: false,
  };
}

/** One of the MovieLens layouts, or null when the line matches none (auto) / an error (movielens forced). */
function movielensLayout(first: string, lineNo: number, source: string, forced: boolean): Layout | null {
  const file = basename(source);
  // Ids may be any text; the rating field tells a data line from a header line.
  if (first.includes('::')) {
    const f = first.split('::');
    if (f.length >= 3 && isNumeric(f[2]!)) return mlLayout('ratings.dat', '::', false, f.length >= 4 && isNumeric(f[3]!));
    throw bad(`${source}: ratings.dat has no header, but the first line is ${JSON.stringify(first.slice(0, 60))}; remove the header line (UserID::MovieID::Rating::Timestamp rows only), or read the file with --format csv --delimiter ::`);
  }
  if (first.includes('\t')) {
    const f = first.split('\t');
    if (f.length >= 3 && isNumeric(f[2]!)) return mlLayout('u.data', '\t', false, f.length >= 4 && isNumeric(f[3]!));
    if (forced || file === 'u.data' || /^u\d?\.(base|test)$/.test(file)) {
      throw bad(`${source}: u.data has no header, but the first line is ${JSON.stringify(first.slice(0, 60))}; remove the header line, or read the file with --format csv`);
    }
    return null;
  }
  let f: string[] = [];
  try {
    f = splitRecord(first, { ...GENERIC, delimiter: ',', source, line: lineNo }).map((h) => h.trim());
  } catch {
    // Not a MovieLens header; a generic reading of the line reports what is wrong with it.
  }
  if (f.length >= 3 && ML_CSV_HEADER.every((h, i) => f[i] === h)) return mlLayout('ratings.csv', ',', true, f[3] === 'timestamp');
  if (forced) {
    if (f.length >= 3 && f.slice(0, 3).every(isNumeric)) {
      throw bad(`${source}: a MovieLens ratings.csv starts with the header userId,movieId,rating,timestamp, but the first line is data; add the header or read the file with --format csv`);
    }
    throw bad(`${source}: not a MovieLens ratings file (expected tab-separated u.data, "::"-separated ratings.dat, or ratings.csv with the header userId,movieId,rating,timestamp; the first line is ${JSON.stringify(first.slice(0, 60))}); for other files use --format csv`);
  }
  return null;
}

/** A line of spaces (and whitespace delimiters) is blank, as a line that is empty. */
export function isBlankLine(f: readonly string[], delimiter: string): boolean {
  return (f.length === 1 || delimiter.trim() === '') && f.every((v) => v.trim() === '');
}

/** The first non-blank line of a text and its line number, once the line is complete (or the text final). */
export function firstLine(text: string, final: boolean): { text: string; line: number } | null {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (pos < n) {
    let end = pos;
    while (end < n && text.charCodeAt(end) !== 10 && text.charCodeAt(end) !== 13) end++;
    // A CR at the end of the text may be the first half of a CRLF; the line is complete all the same.
    if (end === n && !final) return null;
    const t = text.slice(pos, end);
    if (t.trim().length > 0) return { text: t, line };
    pos = end + (text.charCodeAt(end) === 13 && text.charCodeAt(end + 1) === 10 ? 2 : 1);
    line++;
  }
  return null;
}
