/**
 * Tables to design matrices. A `TableEncoder` is fitted on a CSV table once and saved with the model, so
 * scoring new rows builds exactly the same columns:
 * - numeric columns are used as they are (an empty, NA or NaN cell is a NON_FINITE error naming its line);
 * - text columns are one-hot encoded over their sorted distinct values, the first value dropped (it is the
 *   all-zero row); a value not seen when fitting is also an all-zero row;
 * - optional standardisation: (x − mean) / std per design column, population std (ddof 0), computed in
 *   f64 before the values are stored as f32; a column with std 0 keeps scale 1 (it stays constant);
 * - a target is numeric, or binary: yes/no, true/false or 0/1 (case and surrounding spaces ignored).
 */
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { CsvTable } from './csv.js';

export type ColumnSpec =
  /** `fill`: the value a missing cell takes (imputation), learned when fitting; absent: a missing cell is an error. */
  | { name: string; kind: 'numeric'; fill?: number; strategy?: string }
  /**
   * `levels[0]` is the dropped reference level (the first sorted level, or the one `dropLevel` names); the others
   * sorted. `fill`: the level a missing cell takes when the column is imputed.
   */
  | { name: string; kind: 'categorical'; levels: string[]; fill?: string; strategy?: string };

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
export interface TableSchema {
  columns: ColumnSpec[];
  /** Names of the design-matrix columns: numeric columns by name, one-hot columns as `name=level`. */
  features: string[];
  standardize: Standardization | null;
  target: TargetSpec | null;
}

export interface EncoderOptions {
  /** The target column (left out of the features). */
  target?: string;
  /** How to read the target: a number (regression) or one of two classes. Default 'numeric'. */
  targetKind?: 'numeric' | 'binary' | 'classes';
  /** Use only these feature columns, in this order (default: all but the target and `exclude`). */
  columns?: string[];
  /** Leave these columns out (ids, free text). */
  exclude?: string[];
  /** One-hot encode these columns even if their values are numbers (codes, days of the week). */
  categorical?: string[];
  /** Standardise every design column (saved with the model). Default false. */
  standardize?: boolean;
  /** Refuse a text column with more distinct values than this (default 1000): it is probably an id. */
  maxLevels?: number;
  /** Fill missing cells (empty, NA, NaN, null, n/a) with values learned here and saved with the model. */
  impute?: ImputeSpec | null;
  /** One-hot columns: drop this level (the all-zero reference) instead of the first sorted one. */
  dropLevel?: Record<string, string> | null;
  /** How the options are spelled in messages (the CLI passes its flags). Default: the option names. */
  names?: { impute?: string; dropLevel?: string; categorical?: string };
}

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

function isMissing(raw: string): boolean {
  return MISSING.has(raw.trim().toLowerCase());
}

function strategyName(s: ImputeStrategy): string {
  return typeof s === 'string' ? s : `constant:${s.constant}`;
}

/** Most frequent of the values; ties to the smallest (numbers by value, text by code units), as scikit-learn. */
function mostFrequent<T extends number | string>(values: Iterable<T>): T | undefined {
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

function numericFill(name: string, values: number[], s: ImputeStrategy, what: string, source: string): number {
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
function parseCell(raw: string): number | undefined {
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

function isNumericColumn(values: readonly string[]): boolean {
  for (const v of values) if (parseCell(v) === undefined) return false;
  return true;
}

/** The canonical spelling of a binary class value, or undefined. */
function binaryKey(raw: string): string | undefined {
  const s = raw.trim().toLowerCase();
  if (s === 'yes' || s === 'no' || s === 'true' || s === 'false') return s;
  const v = Number(s);
  if (s !== '' && (v === 0 || v === 1)) return String(v);
  return undefined;
}

export class TableEncoder {
  /** The design of the table the encoder was fitted on, kept for the `encode` call that usually follows. */
  #fitted: { table: CsvTable; x: Float64Array } | null = null;

  private constructor(readonly schema: TableSchema) {}

  get features(): string[] {
    return this.schema.features;
  }

  /** Learns the columns, levels, standardisation and target spelling from a table. */
  static fit(table: CsvTable, opts: EncoderOptions = {}): TableEncoder {
    const maxLevels = opts.maxLevels ?? 1000;
    const target = opts.target;
    if (target !== undefined) table.indexOf(target);
    for (const name of [...(opts.exclude ?? []), ...(opts.categorical ?? []), ...(opts.columns ?? [])]) table.indexOf(name);
    const exclude = new Set(opts.exclude ?? []);
    const names = opts.columns ?? table.header.filter((h) => h !== target && !exclude.has(h));
    if (target !== undefined && names.includes(target)) {
      throw new QuiverError('INVALID_ARGUMENT', `the target column "${target}" cannot also be a feature column`);
    }
    if (names.length === 0) throw new QuiverError('INVALID_ARGUMENT', `${table.source} has no feature columns left (only the target or excluded ones)`);
    if (table.rowCount === 0) throw new QuiverError('INVALID_ARGUMENT', `${table.source} has a header but no data rows`);
    const forced = new Set(opts.categorical ?? []);
    const what = { impute: opts.names?.impute ?? 'impute', dropLevel: opts.names?.dropLevel ?? 'dropLevel' };
    const perColumn = opts.impute?.columns ?? {};
    for (const name of Object.keys(perColumn)) {
      if (!table.has(name)) {
        throw new QuiverError('INVALID_ARGUMENT', `${what.impute} names column "${name}", which ${table.source} does not have; its columns are: ${table.header.join(', ')}`, {
          column: name,
        });
      }
      if (name === target) throw new QuiverError('INVALID_ARGUMENT', `${what.impute} names the target "${name}"; a missing target cannot be imputed: remove those rows`, { column: name });
      if (!names.includes(name)) throw new QuiverError('INVALID_ARGUMENT', `${what.impute} names column "${name}", which is not a feature (excluded, or not in the columns)`, { column: name });
    }
    const drops = opts.dropLevel ?? {};
    for (const name of Object.keys(drops)) {
      if (!table.has(name)) {
        throw new QuiverError('INVALID_ARGUMENT', `${what.dropLevel} names column "${name}", which ${table.source} does not have; its columns are: ${table.header.join(', ')}`, {
          column: name,
        });
      }
      if (!names.includes(name)) throw new QuiverError('INVALID_ARGUMENT', `${what.dropLevel} names column "${name}", which is not a feature (the target, excluded, or not in the columns)`, { column: name });
    }
    const columns: ColumnSpec[] = [];
    const features: string[] = [];
    for (const name of names) {
      const values = table.column(name);
      const strategy = perColumn[name] ?? opts.impute?.all;
      if (!forced.has(name) && isNumericColumn(values)) {
        if (drops[name] !== undefined) {
          throw new QuiverError('INVALID_ARGUMENT', `${what.dropLevel}: column "${name}" is numeric, so it has no levels to drop; declare it categorical (${opts.names?.categorical ?? 'categorical'}) to one-hot encode it`, {
            column: name,
          });
        }
        if (strategy === undefined) {
          columns.push({ name, kind: 'numeric' });
        } else {
          const present: number[] = [];
          for (const raw of values) {
            const v = parseCell(raw)!;
            if (!Number.isNaN(v)) present.push(v);
          }
          columns.push({ name, kind: 'numeric', fill: numericFill(name, present, strategy, what.impute, table.source), strategy: strategyName(strategy) });
        }
        features.push(name);
        continue;
      }
      let fill: string | undefined;
      let seen: string[] = values;
      if (strategy !== undefined) {
        seen = values.filter((v) => !isMissing(v));
        if (typeof strategy === 'object') fill = strategy.constant;
        else {
          fill = mostFrequent(seen);
          if (fill === undefined) {
            throw new QuiverError('INVALID_ARGUMENT', `${what.impute}: column "${name}" of ${table.source} has only missing cells; exclude it or give ${name}=constant:VALUE`, { column: name });
          }
        }
        seen = fill === undefined ? seen : [...seen, fill];
      }
      let levels = [...new Set(seen)].sort();
      const drop = drops[name];
      if (drop !== undefined) {
        if (!levels.includes(drop)) {
          throw new QuiverError(
            'INVALID_ARGUMENT',
            `${what.dropLevel}: column "${name}" has no level "${drop}"; its levels are: ${preview(levels.map((l) => JSON.stringify(l)), 20)}`,
            { column: name, level: drop },
          );
        }
        levels = [drop, ...levels.filter((l) => l !== drop)];
      }
      if (levels.length > maxLevels) {
        throw new QuiverError(
          'INVALID_ARGUMENT',
          `column "${name}" has ${levels.length} distinct text values; one-hot encoding would add ${levels.length - 1} columns. Exclude it (an id or free text?) or convert it to numbers`,
          { column: name, levels: levels.length },
        );
      }
      columns.push(fill === undefined ? { name, kind: 'categorical', levels } : { name, kind: 'categorical', levels, fill, strategy: strategyName(strategy!) });
      for (const level of levels.slice(1)) features.push(`${name}=${level}`);
    }
    let targetSpec: TargetSpec | null = null;
    if (target !== undefined) {
      targetSpec =
        opts.targetKind === 'binary'
          ? fitBinaryTarget(table, target)
          : opts.targetKind === 'classes'
            ? fitClassTarget(table, target)
            : { name: target, kind: 'numeric' };
    }
    const raw = new TableEncoder({ columns, features, standardize: null, target: targetSpec });
    if (!opts.standardize) return raw;
    const x = raw.#design(table);
    const enc = new TableEncoder({ columns, features, standardize: standardizationOf(x, table.rowCount, features.length), target: targetSpec });
    enc.#fitted = { table, x };
    return enc;
  }

  /** Rebuilds an encoder from its saved schema, checking its shape. */
  static fromJSON(json: unknown, source = 'model'): TableEncoder {
    const s = json as Partial<TableSchema> | null;
    const bad = (what: string): QuiverError => new QuiverError('INVALID_ARGUMENT', `${source}: the table encoder is malformed (${what})`);
    if (typeof s !== 'object' || s === null || !Array.isArray(s.columns) || !Array.isArray(s.features)) throw bad('columns and features are required');
    let width = 0;
    for (const c of s.columns) {
      if (typeof c?.name !== 'string') throw bad('a column has no name');
      if (c.kind === 'numeric') width += 1;
      else if (c.kind === 'categorical' && Array.isArray(c.levels) && c.levels.length > 0) width += c.levels.length - 1;
      else throw bad(`column "${c.name}" has an unknown kind or no levels`);
    }
    if (width !== s.features.length) throw bad(`${s.features.length} feature names for ${width} design columns`);
    const st = s.standardize ?? null;
    if (st !== null && (st.mean?.length !== width || st.scale?.length !== width)) throw bad('standardisation has the wrong length');
    return new TableEncoder({ columns: s.columns, features: s.features, standardize: st, target: s.target ?? null });
  }

  toJSON(): TableSchema {
    return this.schema;
  }

  /** The design matrix of a table (standardised if the encoder was fitted so). Extra columns are ignored. */
  encode(table: CsvTable): Matrix {
    const cached = this.#fitted?.table === table ? this.#fitted.x : null;
    this.#fitted = null;
    const x = cached ?? this.#design(table);
    const p = this.features.length;
    const out = new Float32Array(x.length);
    const st = this.schema.standardize;
    if (st) {
      for (let i = 0; i < table.rowCount; i++) {
        for (let j = 0; j < p; j++) out[i * p + j] = (x[i * p + j]! - st.mean[j]!) / st.scale[j]!;
      }
    } else out.set(x);
    return { rows: table.rowCount, cols: p, data: out };
  }

  /**
   * A matrix whose columns already are the design columns (a .npy input): checks the width and applies
   * the standardisation.
   */
  encodeMatrix(m: Matrix, source = 'the input'): Matrix {
    const p = this.features.length;
    if (m.cols !== p) {
      throw new QuiverError(
        'SHAPE_MISMATCH',
        `the model expects ${p} columns (${preview(this.features)}) but ${source} has ${m.cols}; pass the same design columns, or a CSV with the original columns`,
        { expected: p, got: m.cols },
      );
    }
    const st = this.schema.standardize;
    if (!st) return m;
    const out = new Float32Array(m.data.length);
    for (let i = 0; i < m.rows; i++) for (let j = 0; j < p; j++) out[i * p + j] = (m.data[i * p + j]! - st.mean[j]!) / st.scale[j]!;
    return { rows: m.rows, cols: p, data: out };
  }

  /** The target column as numbers (binary targets as 0/1). */
  target(table: CsvTable): Float64Array {
    const t = this.schema.target;
    if (!t) throw new QuiverError('INVALID_ARGUMENT', 'this encoder was fitted without a target column');
    const values = table.column(t.name);
    const y = new Float64Array(values.length);
    if (t.kind === 'numeric') {
      for (let i = 0; i < values.length; i++) {
        const v = parseCell(values[i]!);
        if (v === undefined) {
          throw new QuiverError('INVALID_ARGUMENT', `${table.where(i)}: the target "${t.name}" must be a number (got ${JSON.stringify(values[i])})`, { line: table.lines[i] });
        }
        if (!Number.isFinite(v)) {
          throw new QuiverError('NON_FINITE', `${table.where(i)}: the target "${t.name}" is missing or not finite (${JSON.stringify(values[i])}); remove the row or fill it in`, {
            line: table.lines[i],
          });
        }
        y[i] = v;
      }
      return y;
    }
    if (t.kind === 'classes') {
      const index = new Map(t.classes.map((c, k) => [c, k]));
      for (let i = 0; i < values.length; i++) {
        const k = index.get(values[i]!.trim());
        if (k === undefined) {
          throw new QuiverError(
            'INVALID_ARGUMENT',
            `${table.where(i)}: the target "${t.name}" has the class ${JSON.stringify(values[i])}, which the model was not fitted on (${preview(t.classes.map((c) => JSON.stringify(c)))}); a class must have training rows`,
            { line: table.lines[i], class: values[i] },
          );
        }
        y[i] = k;
      }
      return y;
    }
    for (let i = 0; i < values.length; i++) {
      const k = binaryKey(values[i]!);
      if (k === t.positive) y[i] = 1;
      else if (k === t.negative) y[i] = 0;
      else {
        throw new QuiverError(
          'INVALID_ARGUMENT',
          `${table.where(i)}: the target "${t.name}" must be ${t.negative} or ${t.positive} (got ${JSON.stringify(values[i])})`,
          { line: table.lines[i] },
        );
      }
    }
    return y;
  }

  /** Unstandardised design values in f64, row-major; checks the columns and every numeric cell. */
  #design(table: CsvTable): Float64Array {
    const missing = this.schema.columns.filter((c) => !table.has(c.name)).map((c) => c.name);
    if (missing.length > 0) {
      throw new QuiverError(
        'SHAPE_MISMATCH',
        `${table.source} lacks ${missing.length > 1 ? `${missing.length} columns` : 'column'} ${preview(missing.map((m) => `"${m}"`), 6)} that the model was fitted on (${preview(this.schema.columns.map((c) => c.name))}); pass a table with those columns`,
        { missing },
      );
    }
    const n = table.rowCount;
    const p = this.features.length;
    const x = new Float64Array(n * p);
    let j0 = 0;
    for (const c of this.schema.columns) {
      const values = table.column(c.name);
      if (c.kind === 'numeric') {
        for (let i = 0; i < n; i++) {
          const v = parseCell(values[i]!);
          if (v === undefined) {
            throw new QuiverError(
              'INVALID_ARGUMENT',
              `${table.where(i)}: column "${c.name}" must be numeric (the model was fitted on numbers) but has ${JSON.stringify(values[i])}`,
              { column: c.name, line: table.lines[i] },
            );
          }
          if (Number.isNaN(v) && c.fill !== undefined) {
            x[i * p + j0] = c.fill;
            continue;
          }
          if (!Number.isFinite(v)) {
            throw new QuiverError(
              'NON_FINITE',
              `${table.where(i)}: column "${c.name}" is missing or not finite (${JSON.stringify(values[i])}); remove the row, or fill missing cells (--impute in the CLI, the impute encoder option in the library)`,
              { column: c.name, line: table.lines[i], row: i },
            );
          }
          x[i * p + j0] = v;
        }
        j0 += 1;
      } else {
        const index = new Map(c.levels.map((l, k) => [l, k]));
        const fillK = c.fill === undefined ? undefined : index.get(c.fill);
        for (let i = 0; i < n; i++) {
          const k = fillK !== undefined && isMissing(values[i]!) ? fillK : index.get(values[i]!);
          if (k !== undefined && k > 0) x[i * p + j0 + k - 1] = 1;
        }
        j0 += c.levels.length - 1;
      }
    }
    return x;
  }
}

function fitClassTarget(table: CsvTable, name: string): TargetSpec {
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

function fitBinaryTarget(table: CsvTable, name: string): TargetSpec {
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

function standardizationOf(x: Float64Array, n: number, p: number): Standardization {
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
export function tableToDesign(table: CsvTable, opts: EncoderOptions = {}): { encoder: TableEncoder; x: Matrix; y: Float64Array | null } {
  const encoder = TableEncoder.fit(table, opts);
  const x = encoder.encode(table);
  const y = opts.target === undefined ? null : encoder.target(table);
  return { encoder, x, y };
}

/** The first few names of a list, for messages. */
export function preview(names: readonly string[], max = 8): string {
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')}, … (${names.length} in all)`;
}

/** The given data rows of a table (same header and source; line numbers kept for messages). */
export function tableRows(table: CsvTable, rows: ArrayLike<number>): CsvTable {
  const idx = Array.from(rows);
  const columns = table.columns.map((c) => idx.map((i) => c[i]!));
  return new CsvTable(table.source, table.delimiter, table.header, columns, Int32Array.from(idx, (i) => table.lines[i]!));
}
