/**
 * The cell- and column-level helpers of table encoding (src/data/table.ts): missing cells and imputation specs,
 * numeric and binary cell parsing, target fitting (numeric, binary, classes), standardisation, and small table
 * utilities. Plain functions over a parsed `CsvTable`, shared by the encoder and the model workflows.
 */
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { CsvTable } from './csv.js';
/** How to fill a column's missing cells: mean and median apply to numeric columns (text columns take their most frequent level). */
export type ImputeStrategy = 'mean' | 'median' | 'most-frequent' | { constant: string };

export interface ImputeSpec {
  /** For every feature column not named in `columns`. */
  all?: ImputeStrategy;
  /** Per column by name. */
  columns?: Record<string, ImputeStrategy>;
}

export interface Standardization {
  mean: number[];
  scale: number[];
}

export type TargetSpec =
  | { name: string; kind: 'numeric' }
  /** The raw spellings (lower-cased) of the two classes: `negative` is 0, `positive` is 1. */
  | { name: string; kind: 'binary'; negative: string; positive: string }
  /** Any number of classes: the distinct trimmed values, sorted; a row's target is the index of its value. */
  | { name: string; kind: 'classes'; classes: string[] };

/** Everything needed to rebuild a design matrix from a table; plain JSON, saved with the model. */

/**
 * Parses an imputation spec: a strategy for every column (`mean`, `median`, `most-frequent`, `constant:V`), and/or
 * `COLUMN=STRATEGY` entries, comma-separated: `median,job=constant:unknown`.
 */
export function parseImputeSpec(text: string, what = 'impute'): ImputeSpec {
  const spec: ImputeSpec = {};
  const one = (s: string): ImputeStrategy => {
    if (s === 'mean' || s === 'median' || s === 'most-frequent') return s;
    if (s.startsWith('constant:')) return { constant: s.slice('constant:'.length) };
    throw new QuiverError('INVALID_ARGUMENT', `${what}: "${s}" is not a strategy; use mean, median, most-frequent or constant:VALUE, for all columns or as COLUMN=STRATEGY`, {
      strategy: s,
    });
  };
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.startsWith('constant:')) {
      if (spec.all !== undefined) throw new QuiverError('INVALID_ARGUMENT', `${what}: two strategies for all columns ("${text}"); give one, and COLUMN=STRATEGY for the others`);
      spec.all = one(part);
    } else {
      spec.columns ??= {};
      spec.columns[part.slice(0, eq).trim()] = one(part.slice(eq + 1).trim());
    }
  }
  if (spec.all === undefined && spec.columns === undefined) throw new QuiverError('INVALID_ARGUMENT', `${what} is empty; give a strategy such as median`);
  return spec;
}

/** Parses `COL=LEVEL,COL2=LEVEL2`. */
export function parseDropLevels(text: string, what = 'dropLevel'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter((p) => p.trim().length > 0)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new QuiverError('INVALID_ARGUMENT', `${what} takes COLUMN=LEVEL (got "${part}")`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1);
  }
  return out;
}

export function isMissing(raw: string): boolean {
  return MISSING.has(raw.trim().toLowerCase());
}

export function strategyName(s: ImputeStrategy): string {
  return typeof s === 'string' ? s : `constant:${s.constant}`;
}

/** Most frequent of the values; ties to the smallest (numbers by value, text by code units), as scikit-learn. */
export function mostFrequent<T extends number | string>(values: Iterable<T>): T | undefined {
  const counts = new Map<T, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: T | undefined;
  let bestCount = 0;
  for (const [v, c] of counts) {
    if (c > bestCount || (c === bestCount && best !== undefined && v < best)) {
      best = v;
      bestCount = c;
    }
  }
  return best;
}

export function numericFill(name: string, values: number[], s: ImputeStrategy, what: string, source: string): number {
  if (values.length === 0) {
    throw new QuiverError('INVALID_ARGUMENT', `${what}: column "${name}" of ${source} has no values to learn a fill from; exclude it or give ${name}=constant:VALUE`, { column: name });
  }
  if (s === 'mean') {
    let sum = 0;
    for (const v of values) sum += v;
    return sum / values.length;
  }
  if (s === 'median') {
    const sorted = Float64Array.from(values).sort();
    const m = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
  }
  if (s === 'most-frequent') return mostFrequent(values)!;
  const c = s.constant.trim();
  const v = c === '' ? Number.NaN : Number(c);
  if (!Number.isFinite(v)) {
    throw new QuiverError(
      'INVALID_ARGUMENT',
      `${what}: column "${name}" is numeric, so its constant must be a number (got "${s.constant}"); give ${name}=constant:0 (or another number), or declare the column categorical`,
      { column: name, constant: s.constant },
    );
  }
  return v;
}

const MISSING = new Set(['', 'na', 'nan', 'null', 'n/a']);
const BINARY_PAIRS: readonly (readonly [string, string])[] = [
  ['no', 'yes'],
  ['false', 'true'],
  ['0', '1'],
];

/** A number from a cell: NaN for a missing marker, undefined for text. */
export function parseCell(raw: string): number | undefined {
  const c = raw.charCodeAt(0);
  // Fast path for the common case: a plain number (digit, sign or point first).
  if ((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 43) {
    const v = Number(raw);
    if (!Number.isNaN(v)) return v;
  }
  const s = raw.trim();
  if (MISSING.has(s.toLowerCase())) return Number.NaN;
  const v = Number(s);
  return Number.isNaN(v) ? undefined : v;
}

export function isNumericColumn(values: readonly string[]): boolean {
  for (const v of values) if (parseCell(v) === undefined) return false;
  return true;
}

/** The canonical spelling of a binary class value, or undefined. */
export function binaryKey(raw: string): string | undefined {
  const s = raw.trim().toLowerCase();
  if (s === 'yes' || s === 'no' || s === 'true' || s === 'false') return s;
  const v = Number(s);
  if (s !== '' && (v === 0 || v === 1)) return String(v);
  return undefined;
}

export function fitClassTarget(table: CsvTable, name: string): TargetSpec {
  const values = table.column(name);
  const seen = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!.trim();
    if (MISSING.has(v.toLowerCase())) {
      throw new QuiverError('NON_FINITE', `${table.where(i)}: the target "${name}" is missing; remove the row or fill it in`, { line: table.lines[i] });
    }
    seen.add(v);
  }
  const classes = [...seen].sort();
  if (classes.length < 2) throw new QuiverError('INVALID_ARGUMENT', `the target "${name}" has one class only; a classifier needs at least two`, { column: name });
  return { name, kind: 'classes', classes };
}

/** The distinct values of a column, trimmed (to choose between a binary and a multiclass target). */
export function distinctValues(table: CsvTable, name: string, max = 1001): number {
  const seen = new Set<string>();
  for (const v of table.column(name)) {
    seen.add(v.trim());
    if (seen.size >= max) break;
  }
  return seen.size;
}

export function fitBinaryTarget(table: CsvTable, name: string): TargetSpec {
  const values = table.column(name);
  const seen = new Map<string, number>();
  for (let i = 0; i < values.length; i++) {
    const k = binaryKey(values[i]!);
    if (k === undefined) {
      throw new QuiverError(
        'INVALID_ARGUMENT',
        `${table.where(i)}: the target "${name}" must be yes/no, true/false or 0/1 (got ${JSON.stringify(values[i])})`,
        { line: table.lines[i] },
      );
    }
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  const keys = [...seen.keys()];
  if (keys.length === 1) {
    throw new QuiverError(
      'INVALID_ARGUMENT',
      `the target "${name}" has one class only ("${keys[0]}" on all ${values.length} rows); a binary model needs rows of both classes`,
      { column: name, class: keys[0] },
    );
  }
  const pair = BINARY_PAIRS.find(([a, b]) => keys.every((k) => k === a || k === b));
  if (!pair || keys.length !== 2) {
    throw new QuiverError('INVALID_ARGUMENT', `the target "${name}" mixes spellings (${keys.join(', ')}); use one of yes/no, true/false or 0/1`, {
      column: name,
    });
  }
  return { name, kind: 'binary', negative: pair[0], positive: pair[1] };
}

export function standardizationOf(x: Float64Array, n: number, p: number): Standardization {
  const mean = new Array<number>(p).fill(0);
  const scale = new Array<number>(p).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) mean[j]! += x[i * p + j]!;
  for (let j = 0; j < p; j++) mean[j]! /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const d = x[i * p + j]! - mean[j]!;
      scale[j]! += d * d;
    }
  }
  for (let j = 0; j < p; j++) {
    const sd = Math.sqrt(scale[j]! / n);
    scale[j] = sd > 0 ? sd : 1;
  }
  return { mean, scale };
}

/** Column indices whose values are all equal (including NaN-free checks only: call after validation). */
export function constantColumns(x: Matrix): number[] {
  const out: number[] = [];
  const { rows, cols, data } = x;
  for (let j = 0; j < cols; j++) {
    const v0 = data[j]!;
    let constant = true;
    for (let i = 1; i < rows; i++) {
      if (data[i * cols + j] !== v0) {
        constant = false;
        break;
      }
    }
    if (constant) out.push(j);
  }
  return out;
}

/** A design matrix and target from a table in one call: the encoder is returned to be saved with the model. */

export function preview(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length} in all)`;
}

/** The given data rows of a table (same header and source; line numbers kept for messages). */
export function tableRows(table: CsvTable, rows: ArrayLike<number>): CsvTable {
  const idx = Array.from(rows);
  const columns = table.columns.map((c) => idx.map((i) => c[i]!));
  return new CsvTable(table.source, table.delimiter, table.header, columns, Int32Array.from(idx, (i) => table.lines[i]!));
}
