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
import { type IntoOption, newMatrix } from './matrix.js';
import type { CsvTable } from './csv.js';
import {
  binaryKey,
  fitBinaryTarget,
  fitClassTarget,
  isMissing,
  isNumericColumn,
  mostFrequent,
  numericFill,
  parseCell,
  preview,
  standardizationOf,
  strategyName,
  type ImputeSpec,
  type Standardization,
  type TargetSpec,
} from './table-columns.js';

export type { ImputeSpec, ImputeStrategy, Standardization, TargetSpec } from './table-columns.js';
export { constantColumns, distinctValues, parseDropLevels, parseImputeSpec, preview, tableRows } from './table-columns.js';

export type ColumnSpec =
  /** `fill`: the value a missing cell takes (imputation), learned when fitting; absent: a missing cell is an error. */
  | { name: string; kind: 'numeric'; fill?: number; strategy?: string }
  /**
   * `levels[0]` is the dropped reference level (the first sorted level, or the one `dropLevel` names); the others
   * sorted. `fill`: the level a missing cell takes when the column is imputed.
   */
  | { name: string; kind: 'categorical'; levels: string[]; fill?: string; strategy?: string };


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

  /**
   * The design matrix of a table (standardised if the encoder was fitted so). Extra columns are ignored.
   * With `into` (an engine) the matrix is written straight into engine memory (see `IntoOption`).
   */
  encode<M extends Matrix = Matrix>(table: CsvTable, opts: IntoOption<M> = {}): M {
    const cached = this.#fitted?.table === table ? this.#fitted.x : null;
    this.#fitted = null;
    const x = cached ?? this.#design(table);
    const p = this.features.length;
    const m = newMatrix(table.rowCount, p, opts.into);
    const out = m.data;
    const st = this.schema.standardize;
    if (st) {
      for (let i = 0; i < table.rowCount; i++) {
        for (let j = 0; j < p; j++) out[i * p + j] = (x[i * p + j]! - st.mean[j]!) / st.scale[j]!;
      }
    } else out.set(x);
    return m;
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

/**
 * A design matrix and target from a table in one call: the encoder is returned to be saved with the model.
 * `into` (an engine) puts x in engine memory, as `encode` does.
 */
export function tableToDesign<M extends Matrix = Matrix>(
  table: CsvTable,
  opts: EncoderOptions & IntoOption<M> = {},
): { encoder: TableEncoder; x: M; y: Float64Array | null } {
  const encoder = TableEncoder.fit(table, opts);
  const x = encoder.encode(table, { into: opts.into });
  const y = opts.target === undefined ? null : encoder.target(table);
  return { encoder, x, y };
}

/** The first few names of a list, for messages. */
