/**
 * Implicit ALS (Hu, Koren & Volinsky, "Collaborative Filtering for Implicit Feedback Datasets", ICDM 2008):
 * user factors X and item factors Y (f32, `factors` columns) minimising
 *   Σ_{u,i} c_ui (p_ui − x_u·y_i)² + λ (Σ_u ‖x_u‖² + Σ_i ‖y_i‖²),  p_ui = [r_ui > 0], c_ui = 1 + α·r_ui,
 * by alternating exact (Cholesky) or conjugate-gradient half-steps on the engine's ALS kernel (f64 solves).
 * With `regularizationMode: 'count'` λ is multiplied by each row's interaction count (ALS-WR, Spark's).
 *
 * Scores for user u are x_u·Y, ranked without seen and disallowed items by ./als-topn.ts (the engine's fused
 * top-k with per-row exclusion lists, one pass). `similarItems` is the cosine top-k over item factors.
 *
 * Fold-in (implicit's recalculate_user): a basket, or a user the model never saw, is one more row solved
 * against the fitted item factors, exactly as a user half-step of the exact solver would solve it (fold-in and
 * partial fit always use the exact solver). Unknown item ids are ignored;
 * a basket with no known item has no factors and gets an empty list. `partialFitUsers` / `partialFitItems`
 * solve given rows (new or replaced) against the other side's fixed factors and return a new model.
 */
import { nnz, transposeCsr } from '../data/csr.js';
import { Rng } from '../data/random.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine, StagedCsr, StagedMatrix } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import { type AlsOptions, type AlsParams, alsParams, alsParamsFromBundle } from './als-options.js';
import { alsTopN } from './als-topn.js';
import type { ModelBundle } from './bundle.js';
import {
  checkInteractions,
  checkNeighbors,
  Recommender,
  type RecommendOptions,
  type RecommenderState,
  type RowRecommendOptions,
  type ScoredItem,
  type ScoringOperands,
  stateFromBundle,
} from './recommender.js';

export type { AlsOptions, AlsParams, AlsProgress, AlsRegularizationMode, AlsSolver } from './als-options.js';
export { ALS_DEFAULTS } from './als-options.js';

/** One row's interactions by external id: id → value r (> 0). */
export type AlsRow = Readonly<Record<string, number>>;

export class AlsModel extends Recommender {
  readonly kind = 'als' as const;
  readonly params: AlsParams;
  /** users × factors, row-major. */
  readonly userFactors: Float32Array;
  /** items × factors, row-major. */
  readonly itemFactors: Float32Array;
  #itemBase: StagedMatrix | null = null;
  #yty: Float64Array | null = null;

  constructor(engine: Engine, state: RecommenderState, params: AlsParams, userFactors: Float32Array, itemFactors: Float32Array) {
    super(engine, state);
    const k = params.factors;
    if (userFactors.length !== state.userIds.length * k || itemFactors.length !== state.itemIds.length * k) {
      throw new QuiverError('SHAPE_MISMATCH', `ALS factors must be users × ${k} and items × ${k}`);
    }
    this.params = params;
    this.userFactors = userFactors;
    this.itemFactors = itemFactors;
  }

  get factors(): number {
    return this.params.factors;
  }

  protected operands(): ScoringOperands {
    throw new QuiverError('INTERNAL', 'ALS scores with the dense top-k kernel, not the sparse one');
  }

  #base(): StagedMatrix {
    this.#itemBase ??= this.engine.stage({ rows: this.items, cols: this.factors, data: this.itemFactors }, 'item factors');
    return this.#itemBase;
  }

  override release(): void {
    this.#itemBase?.release();
    this.#itemBase = null;
    super.release();
  }

  override async recommendRows(users: { row0: number; row1: number } | Int32Array, opts: RowRecommendOptions): Promise<TopKResult> {
    const list = users instanceof Int32Array ? users : null;
    if (!list) {
      const { row0, row1 } = users as { row0: number; row1: number };
      if (!(Number.isInteger(row0) && Number.isInteger(row1) && 0 <= row0 && row0 <= row1 && row1 <= this.users)) {
        throw new QuiverError('INVALID_ARGUMENT', `rows [${row0}, ${row1}) must lie within [0, ${this.users})`);
      }
    }
    const rows = list ? list.length : (users as { row1: number }).row1 - (users as { row0: number }).row0;
    const userAt = (r: number): number => (list ? list[r]! : (users as { row0: number }).row0 + r);
    for (let r = 0; r < rows; r++) {
      const u = userAt(r);
      if (!(u >= 0 && u < this.users)) throw new QuiverError('INVALID_ARGUMENT', `user index ${u} is outside [0, ${this.users})`);
    }
    const filterSeen = opts.filterSeen ?? true;
    const k = this.factors;
    const q = new Float32Array(rows * k);
    for (let r = 0; r < rows; r++) q.set(this.userFactors.subarray(userAt(r) * k, (userAt(r) + 1) * k), r * k);
    const t = this.train;
    const seen = (r: number): Int32Array => (filterSeen ? t.indices.subarray(t.indptr[userAt(r)]!, t.indptr[userAt(r) + 1]!) : EMPTY);
    return this.#scoreTopN(q, rows, seen, opts);
  }

  /** The best n items for each row of q (rows × factors) by q·yᵀ, without `seen(r)` and what allow[j] = 0 leaves out. */
  async #scoreTopN(q: Float32Array, rows: number, seen: (r: number) => Int32Array, opts: RowRecommendOptions): Promise<TopKResult> {
    const n = Math.min(checkNeighbors(opts.n, 'n'), this.items);
    const allow = opts.allow ?? null;
    if (allow && allow.length !== this.items) throw new QuiverError('SHAPE_MISMATCH', `allow must have one flag per item (${this.items})`);
    let disallowed = 0;
    if (allow) for (let j = 0; j < this.items; j++) if (allow[j] === 0) disallowed++;
    const { engine, items, factors } = this;
    return alsTopN({ engine, base: this.#base(), itemFactors: this.itemFactors, items, factors, q, rows, n, requestedN: opts.n, seen, allow, disallowed, signal: opts.signal });
  }

  /** YᵀY of the item factors (f64), computed once. */
  async #itemGram(): Promise<Float64Array> {
    this.#yty ??= (await this.engine.gram(this.#base())).g;
    return this.#yty;
  }

  /**
   * Fold-in (implicit's recalculate_user): the factors of a user with these interactions (item id → r), solved
   * against the fitted item factors exactly as a user half-step would. Unknown items are ignored; null when no
   * item is known.
   */
  async recalculateUser(row: AlsRow): Promise<Float32Array | null> {
    const csr = this.#rowCsr(row, this.itemIds, (id) => this.#knownItem(id), this.items);
    if (!csr) return null;
    const x = new Float32Array(this.factors);
    await this.#solve(csr, this.#base(), x, await this.#itemGram(), 'user', () => 'the basket');
    return x;
  }

  /** Basket recommendations through fold-in (see the module comment): unknown items ignored, none known → []. */
  override async recommendForItems(items: readonly (string | number)[], opts: RecommendOptions): Promise<ScoredItem[]> {
    if (items.length === 0) throw new QuiverError('INVALID_ARGUMENT', 'the basket is empty; give at least one item');
    const row: Record<string, number> = {};
    for (const it of items) row[String(it)] = 1;
    const x = await this.recalculateUser(row);
    if (!x) return [];
    const own = Int32Array.from(new Set(items.map((it) => this.#knownItem(String(it))).filter((j) => j >= 0))).sort();
    const seen = opts.filterSeen ?? true ? own : EMPTY;
    const res = await this.#scoreTopN(x, 1, () => seen, { n: opts.n, allow: this.allowMask(opts.include, opts.exclude), signal: opts.signal });
    return this.scoredItems(res, 0);
  }

  /** Items whose factors have the largest cosine with `item`'s. */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
    if (this.items < 2) return [];
    const k = this.factors;
    const res = await this.engine.topK({ rows: 1, cols: k, data: this.itemFactors.slice(i * k, (i + 1) * k) }, { rows: this.items, cols: k, data: this.itemFactors }, { k: Math.min(n + 1, this.items), metric: 'cosine' });
    const out: ScoredItem[] = [];
    for (let p = 0; p < res.k && out.length < n; p++) {
      const j = res.indices[p]!;
      if (j >= 0 && j !== i) out.push({ item: this.itemIds[j]!, score: res.scores[p]! });
    }
    return out;
  }

  /**
   * Solves the given users' rows (known users: their interactions are replaced; new users: appended) against
   * the fixed item factors, without a refit; returns the updated model (this one is unchanged). Unknown items
   * are ignored.
   */
  async partialFitUsers(userIds: readonly (string | number)[], rows: readonly AlsRow[]): Promise<AlsModel> {
    const upd = this.#updated(userIds, rows, this.train, this.userIds, this.userFactors, (id) => this.#knownItem(id), this.items);
    const x = upd.factors;
    const sub = upd.changedRows;
    const solved = new Float32Array(sub.rows * this.factors);
    await this.#solve(sub, this.#base(), solved, await this.#itemGram(), 'user', (r) => upd.ids[upd.changed[r]!]!);
    for (const [r, u] of upd.changed.entries()) x.set(solved.subarray(r * this.factors, (r + 1) * this.factors), u * this.factors);
    return new AlsModel(this.engine, { userIds: upd.ids, itemIds: this.itemIds, train: upd.matrix, feedback: this.feedback }, this.params, x, this.itemFactors.slice());
  }

  /** `partialFitUsers` for items: rows are user id → value; unknown users are ignored. */
  async partialFitItems(itemIds: readonly (string | number)[], rows: readonly AlsRow[]): Promise<AlsModel> {
    const userIndex = new Map(this.userIds.map((id, i) => [id, i]));
    const upd = this.#updated(itemIds, rows, transposeCsr(this.train), this.itemIds, this.itemFactors, (id) => userIndex.get(id) ?? -1, this.users);
    const sub = upd.changedRows;
    const solved = new Float32Array(sub.rows * this.factors);
    const users = { rows: this.users, cols: this.factors, data: this.userFactors };
    await this.#solve(sub, users, solved, null, 'item', (r) => upd.ids[upd.changed[r]!]!);
    for (const [r, i] of upd.changed.entries()) upd.factors.set(solved.subarray(r * this.factors, (r + 1) * this.factors), i * this.factors);
    const train = transposeCsr(upd.matrix);
    return new AlsModel(this.engine, { userIds: this.userIds, itemIds: upd.ids, train, feedback: this.feedback }, this.params, this.userFactors.slice(), upd.factors);
  }

  #knownItem(id: string): number {
    try {
      return this.itemIndex(id);
    } catch {
      return -1;
    }
  }

  #rowCsr(row: AlsRow, _ids: readonly string[], index: (id: string) => number, cols: number): CsrMatrix | null {
    const entries = new Map<number, number>();
    for (const [id, v] of Object.entries(row)) {
      const j = index(id);
      if (j >= 0) entries.set(j, checkValue(v, id));
    }
    if (entries.size === 0) return null;
    const idx = Int32Array.from(entries.keys()).sort();
    return { rows: 1, cols, indptr: Int32Array.from([0, idx.length]), indices: idx, data: Float32Array.from(idx, (j) => entries.get(j)!) };
  }

  /** New rows (replacing or appending by id) for one side, the rows that changed, and that side's factors grown to fit. */
  #updated(ids: readonly (string | number)[], rows: readonly AlsRow[], m: CsrMatrix, known: readonly string[], factors: Float32Array, index: (id: string) => number, cols: number) {
    if (ids.length !== rows.length) throw new QuiverError('SHAPE_MISMATCH', `${ids.length} ids but ${rows.length} rows`);
    const all = [...known];
    const pos = new Map(all.map((id, i) => [id, i]));
    const replaced = new Map<number, CsrMatrix>();
    for (let t = 0; t < ids.length; t++) {
      const id = String(ids[t]);
      let r = pos.get(id);
      if (r === undefined) {
        r = all.length;
        all.push(id);
        pos.set(id, r);
      }
      const empty: CsrMatrix = { rows: 1, cols, indptr: new Int32Array(2), indices: EMPTY, data: new Float32Array(0) };
      replaced.set(r, this.#rowCsr(rows[t]!, [], index, cols) ?? empty);
    }
    const changed = Int32Array.from(replaced.keys()).sort();
    const indptr = new Int32Array(all.length + 1);
    const parts: { idx: Int32Array; val: Float32Array }[] = [];
    for (let r = 0; r < all.length; r++) {
      const row = replaced.get(r);
      const part = row
        ? { idx: row.indices, val: row.data }
        : { idx: m.indices.subarray(m.indptr[r]!, m.indptr[r + 1]!), val: m.data.subarray(m.indptr[r]!, m.indptr[r + 1]!) };
      parts.push(part);
      indptr[r + 1] = indptr[r]! + part.idx.length;
    }
    const indices = new Int32Array(indptr[all.length]!);
    const data = new Float32Array(indptr[all.length]!);
    parts.forEach((p, r) => {
      indices.set(p.idx, indptr[r]!);
      data.set(p.val, indptr[r]!);
    });
    const matrix: CsrMatrix = { rows: all.length, cols, indptr, indices, data };
    const cptr = new Int32Array(changed.length + 1);
    for (const [t, r] of changed.entries()) cptr[t + 1] = cptr[t]! + indptr[r + 1]! - indptr[r]!;
    const cidx = new Int32Array(cptr[changed.length]!);
    const cval = new Float32Array(cptr[changed.length]!);
    changed.forEach((r, t) => {
      cidx.set(indices.subarray(indptr[r]!, indptr[r + 1]!), cptr[t]!);
      cval.set(data.subarray(indptr[r]!, indptr[r + 1]!), cptr[t]!);
    });
    const grown = new Float32Array(all.length * this.factors);
    grown.set(factors);
    return { ids: all, matrix, changed, changedRows: { rows: changed.length, cols, indptr: cptr, indices: cidx, data: cval } as CsrMatrix, factors: grown };
  }

  async #solve(rows: CsrMatrix, y: StagedMatrix | { rows: number; cols: number; data: Float32Array }, x: Float32Array, yty: Float64Array | null, what: 'user' | 'item', name: (row: number) => string): Promise<void> {
    // Fold-in and partial fit solve exactly whatever the fit's solver (as implicit's recalculate_user does):
    // a few CG steps from a zero start would leave these rows short of their solution.
    await solveHalf(this.engine, rows, y, x, yty, { ...this.params, solver: 'cholesky' }, what, name);
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return {
      params: { ...this.params },
      arrays: {
        userFactors: { data: this.userFactors, shape: [this.users, this.factors] },
        itemFactors: { data: this.itemFactors, shape: [this.items, this.factors] },
      },
    };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): AlsModel {
    const state = stateFromBundle(b, source);
    const params = alsParamsFromBundle(b.params, source);
    const uf = b.arrays['userFactors']?.data;
    const itf = b.arrays['itemFactors']?.data;
    if (!(uf instanceof Float32Array) || !(itf instanceof Float32Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: the ALS factors are missing`);
    return new AlsModel(engine, state, params, uf, itf);
  }
}

const EMPTY = new Int32Array(0);

function checkValue(v: unknown, id: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new QuiverError('INVALID_ARGUMENT', `the value for ${id} must be a finite number ≥ 0 (got ${String(v)})`);
  return v;
}

/** One half-step on the engine; a singular row becomes NOT_POSITIVE_DEFINITE naming the user or item. */
async function solveHalf(
  engine: Engine,
  rows: CsrMatrix | Parameters<Engine['alsSolve']>[0],
  y: Parameters<Engine['alsSolve']>[1],
  x: Float32Array,
  yty: Float64Array | null,
  p: AlsParams,
  what: 'user' | 'item',
  name: (row: number) => string,
  signal?: AbortSignal,
  outGram: Float64Array | null = null,
): Promise<void> {
  try {
    await engine.alsSolve(rows, y, x, { alpha: p.alpha, regularization: p.regularization, regularizationMode: p.regularizationMode, solver: p.solver, cgSteps: p.cgSteps, yty, signal, outGram });
  } catch (e) {
    const row = e instanceof QuiverError && e.code === 'NOT_POSITIVE_DEFINITE' ? e.details?.['row'] : undefined;
    if (typeof row !== 'number') throw e;
    const id = name(row);
    throw new QuiverError('NOT_POSITIVE_DEFINITE', `the ALS system of ${what} ${id} is singular (regularization ${p.regularization}); use a regularization > 0`, { [what]: id, regularization: p.regularization });
  }
}

/** Fits implicit ALS on interactions (users × items; values are r_ui, used as confidence 1 + alpha·r). */
export async function fitAls(engine: Engine, data: Interactions | RecommenderState, opts: AlsOptions = {}): Promise<AlsModel> {
  const state = checkInteractions(data, 'als');
  const p = alsParams(opts, state.itemIds.length);
  const k = p.factors;
  const rng = new Rng(p.seed);
  // Small positive starting factors (as implicit does): the first user half-step then depends on YᵀY only weakly.
  const init = (n: number): Float32Array => {
    const f = new Float32Array(n * k);
    for (let i = 0; i < f.length; i++) f[i] = rng.next() * 0.01;
    return f;
  };
  const start = opts.initialFactors;
  if (start && (start.user.length !== state.userIds.length * k || start.item.length !== state.itemIds.length * k)) {
    throw new QuiverError('SHAPE_MISMATCH', `initialFactors must be users × ${k} (${state.userIds.length * k} values) and items × ${k} (${state.itemIds.length * k})`);
  }
  const x = start ? Float32Array.from(start.user) : init(state.userIds.length);
  const y = start ? Float32Array.from(start.item) : init(state.itemIds.length);
  const users = await engine.stageCsr(state.train, 'interactions');
  const items = await engine.stageCsr(transposeCsr(state.train), 'interactions (items)');
  try {
    if (nnz(state.train) === 0) throw new QuiverError('INVALID_ARGUMENT', 'als: there are no interactions to learn from');
    // Each half-step stages the factors it reads once (one copy, never an element-wise check beyond the first
    // half-step's given factors: the others are the kernel's own finite output), and returns the Gram matrix of
    // the factors it wrote, which the next half-step reads as its YᵀY (only the first computes one itself).
    const gx = new Float64Array(k * k);
    const gy = new Float64Array(k * k);
    const half = async (m: StagedCsr, other: Float32Array, nOther: number, yty: Float64Array | null, out: Float32Array, outGram: Float64Array, what: 'user' | 'item', ids: readonly string[], first: boolean) => {
      const staged = engine.stage({ rows: nOther, cols: k, data: other }, what === 'user' ? 'item factors' : 'user factors', { checkValues: first });
      try {
        await solveHalf(engine, m, staged, out, yty, p, what, (r) => ids[r]!, opts.signal, outGram);
      } finally {
        staged.release();
      }
    };
    for (let it = 0; it < p.iterations; it++) {
      await half(users, y, state.itemIds.length, it === 0 ? null : gy, x, gx, 'user', state.userIds, it === 0);
      opts.onProgress?.({ phase: 'users', done: it + 1, total: p.iterations });
      await half(items, x, state.userIds.length, gx, y, gy, 'item', state.itemIds, it === 0);
      opts.onProgress?.({ phase: 'items', done: it + 1, total: p.iterations });
    }
  } finally {
    users.release();
    items.release();
  }
  return new AlsModel(engine, state, p, x, y);
}
