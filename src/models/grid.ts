/**
 * Hyper-parameter grids: `evaluateGrid` evaluates every combination of the given values on ONE split (so rows
 * differ by the parameters only) and returns them sorted by a metric, best first.
 *
 * Which parameters each algorithm takes, and of what type, is the table `GRID_PARAMETERS` (one entry per
 * algorithm), so a new recommender's parameters are one entry. A grid is an object of name → values, or text in
 * either of two forms: `factors=32,64,128;alpha=1,10,40` or the JSON `{"factors":[32,64],"alpha":[1,10]}`.
 * Names are the library option names (camelCase); the CLI spelling (kebab-case) is accepted too.
 */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { checkK, evaluateOnSplit, type ProtocolOptions, protocolSplit, warningsOf } from './evaluate.js';
import type { MetricsAs } from './metrics.js';
import type { RecommenderKind, RecommenderState } from './recommender.js';
import { checkRecommenderKind, type RecommenderOptions } from './recommenders.js';
import type { SplitBy } from './split.js';

/** A parameter's type and accepted range. */
export type GridParam = { type: 'int'; min: number } | { type: 'float'; min: number; exclusive?: boolean } | { type: 'bool' } | { type: 'choice'; values: readonly string[] };

const SIMILARITIES = ['cosine', 'adjusted-cosine', 'pearson'] as const;

/** The tunable parameters of each algorithm. */
export const GRID_PARAMETERS: Readonly<Record<string, Readonly<Record<string, GridParam>>>> = {
  itemknn: { neighbors: { type: 'int', min: 1 }, similarity: { type: 'choice', values: SIMILARITIES }, shrink: { type: 'float', min: 0 }, normalizeSimilarity: { type: 'bool' } },
  userknn: { neighbors: { type: 'int', min: 1 }, similarity: { type: 'choice', values: SIMILARITIES }, shrink: { type: 'float', min: 0 } },
  ease: { lambda: { type: 'float', min: 0, exclusive: true } },
  popular: {},
  als: {
    factors: { type: 'int', min: 1 },
    iterations: { type: 'int', min: 1 },
    regularization: { type: 'float', min: 0, exclusive: true },
    alpha: { type: 'float', min: 0, exclusive: true },
  },
};

export type GridValue = number | string | boolean;
/** Parameter name → the values to try. */
export type GridSpec = Record<string, readonly GridValue[]>;

export const GRID_METRICS = ['precision', 'recall', 'ndcg', 'map'] as const;
export type GridMetric = (typeof GRID_METRICS)[number];

function bad(msg: string, details?: Record<string, unknown>): QuiverError {
  return new QuiverError('INVALID_ARGUMENT', msg, details);
}

function camel(name: string): string {
  return name.trim().replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function checkValue(algo: string, name: string, p: GridParam, raw: unknown): GridValue {
  const where = `grid parameter ${name} of ${algo}`;
  if (p.type === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    throw bad(`${where} takes true or false (got ${JSON.stringify(raw)})`, { parameter: name, value: raw });
  }
  if (p.type === 'choice') {
    if (typeof raw === 'string' && p.values.includes(raw)) return raw;
    throw bad(`${where} takes one of ${p.values.join(', ')} (got ${JSON.stringify(raw)})`, { parameter: name, value: raw });
  }
  const v = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  const what = p.type === 'int' ? `a whole number ≥ ${p.min}` : `a number ${p.exclusive ? '>' : '≥'} ${p.min}`;
  const ok = Number.isFinite(v) && (p.type === 'int' ? Number.isInteger(v) && v >= p.min : p.exclusive ? v > p.min : v >= p.min);
  if (!ok) throw bad(`${where} takes ${what} (got ${JSON.stringify(raw)})`, { parameter: name, value: raw });
  return v;
}

/** Parses and checks a grid for an algorithm: known names, at least one value each, values of the right type. */
export function parseGrid(algo: string, grid: string | Record<string, unknown>): GridSpec {
  const table = GRID_PARAMETERS[algo];
  if (!table) throw bad(`no grid parameters are known for ${JSON.stringify(algo)} (known: ${Object.keys(GRID_PARAMETERS).join(', ')})`);
  let entries: [string, unknown[]][];
  if (typeof grid === 'string') {
    const text = grid.trim();
    if (text.startsWith('{')) {
      let obj: unknown;
      try {
        obj = JSON.parse(text);
      } catch (err) {
        throw bad(`the grid is not valid JSON: ${(err as Error).message}`);
      }
      return parseGrid(algo, obj as Record<string, unknown>);
    }
    entries = [];
    for (const part of text.split(';')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) throw bad(`grid entry ${JSON.stringify(part.trim())} has no "="; write name=v1,v2;name2=v3 (e.g. neighbors=10,20;shrink=0,10)`);
      const values = part.slice(eq + 1).split(',').map((v) => v.trim());
      entries.push([part.slice(0, eq), values.length === 1 && values[0] === '' ? [] : values]);
    }
  } else if (grid !== null && typeof grid === 'object' && !Array.isArray(grid)) {
    entries = Object.entries(grid).map(([n, v]) => [n, Array.isArray(v) ? v : [v]]);
  } else {
    throw bad('the grid must be an object of parameter name → list of values, or text such as neighbors=10,20;shrink=0,10');
  }
  const known = Object.keys(table);
  const knownText = known.length > 0 ? known.join(', ') : 'none: it has no hyper-parameters';
  if (entries.length === 0) throw bad(`the grid is empty; give at least one parameter of ${algo} (${knownText})`, { known });
  const spec: GridSpec = {};
  for (const [rawName, rawValues] of entries) {
    const name = camel(rawName);
    const p = Object.hasOwn(table, name) ? table[name] : undefined;
    if (!p) {
      const others = Object.keys(GRID_PARAMETERS).filter((a) => a !== algo && Object.hasOwn(GRID_PARAMETERS[a]!, name));
      const hint = others.length > 0 ? ` (${name} is a parameter of ${others.join(', ')})` : '';
      throw bad(`unknown grid parameter ${JSON.stringify(rawName.trim())} for ${algo}${hint}; known: ${knownText}`, { parameter: rawName.trim(), known });
    }
    if (Object.hasOwn(spec, name)) throw bad(`grid parameter ${name} is given twice; list all its values once (${name}=a,b,c)`, { parameter: name });
    if (rawValues.length === 0 || rawValues.some((v) => v === '')) {
      throw bad(`grid parameter ${name} has an empty value list or an empty value; give at least one value, e.g. ${name}=${p.type === 'choice' ? p.values[0] : p.type === 'bool' ? 'true,false' : '10,20'}`, {
        parameter: name,
      });
    }
    spec[name] = rawValues.map((v) => checkValue(algo, name, p, v));
  }
  return spec;
}

/** Every combination, the last parameter varying fastest. */
export function gridCombinations(spec: GridSpec): Record<string, GridValue>[] {
  let out: Record<string, GridValue>[] = [{}];
  for (const [name, values] of Object.entries(spec)) {
    const next: Record<string, GridValue>[] = [];
    for (const c of out) for (const v of values) next.push({ ...c, [name]: v });
    out = next;
  }
  return out;
}

export interface GridOptions extends RecommenderOptions, ProtocolOptions {
  algo: RecommenderKind;
  /** The grid, as an object or as text (see the module comment). Its values override the same options given here. */
  grid: string | Record<string, unknown>;
  /** Metric the rows are sorted by, best first (default 'ndcg'). */
  sortBy?: GridMetric;
  /** Called before each combination is fitted (i from 1) and after the last one (i = total + 1). */
  onCombination?: (i: number, total: number, params: Record<string, GridValue>) => void;
}

export interface GridRow {
  params: Record<string, GridValue>;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  users: number;
  fitSeconds: number;
  recommendSeconds: number;
}

export interface GridResult {
  algo: RecommenderKind;
  splitBy: SplitBy;
  split: number;
  seed: number;
  k: number;
  metricsAs: MetricsAs;
  sortBy: GridMetric;
  /** One per combination, best first by `sortBy` (ties in grid order). */
  rows: GridRow[];
  /** The data's warnings (e.g. counts read as explicit ratings). */
  warnings: string[];
}

/** Evaluates every combination of the grid on one split; rows sorted by `sortBy`, best first. */
export async function evaluateGrid(engine: Engine, data: Interactions | RecommenderState, opts: GridOptions): Promise<GridResult> {
  const algo = checkRecommenderKind(opts.algo);
  const k = checkK(opts.k ?? 10);
  const sortBy = opts.sortBy ?? 'ndcg';
  if (!GRID_METRICS.includes(sortBy)) throw bad(`sortBy must be one of ${GRID_METRICS.join(', ')} (got ${JSON.stringify(sortBy)})`, { known: [...GRID_METRICS] });
  const combos = gridCombinations(parseGrid(algo, opts.grid));
  const split = protocolSplit(data, opts);
  const rows: GridRow[] = [];
  const { grid: _grid, onCombination, sortBy: _sortBy, ...base } = opts;
  for (let i = 0; i < combos.length; i++) {
    const params = combos[i]!;
    onCombination?.(i + 1, combos.length, params);
    opts.signal?.throwIfAborted();
    const r = await evaluateOnSplit(engine, split, algo, { ...base, ...(params as RecommenderOptions), k });
    rows.push({ params, precision: r.precision, recall: r.recall, ndcg: r.ndcg, map: r.map, users: r.users, fitSeconds: r.fitSeconds, recommendSeconds: r.recommendSeconds });
  }
  onCombination?.(combos.length + 1, combos.length, {});
  const order = rows.map((r, i) => ({ r, i })).sort((a, b) => b.r[sortBy] - a.r[sortBy] || a.i - b.i);
  return {
    algo,
    splitBy: opts.splitBy ?? 'user',
    split: opts.split ?? 0.75,
    seed: opts.seed ?? 42,
    k,
    metricsAs: opts.metricsAs ?? 'quiver',
    sortBy,
    rows: order.map((o) => o.r),
    warnings: warningsOf(data),
  };
}
