/**
 * Item-item and user-user kNN: one implementation with an orientation, the entities whose neighbours the model
 * keeps (items: Sarwar, Karypis, Konstan and Riedl, WWW 2001; Deshpande and Karypis, TOIS 2004. Users: Herlocker,
 * Konstan, Borchers and Riedl, SIGIR 1999; Resnick et al., GroupLens, CSCW 1994).
 *
 * Fit: values v(u, i) are the training values (ratings, 1 for binary feedback, counts), centred by the mean of
 * the model's own entities for `pearson` and of the other side for `adjusted-cosine` (item kNN: v = r − μ_i and
 * r − μ_u; user kNN the mirror image). Centring needs ratings, so binary feedback allows only `cosine`. Each
 * entity keeps its top `neighbors` by s(a, b) = a·b / (‖a‖·‖b‖ + shrink) over the rows of the entities ×
 * features matrix (missing entries count as 0 after centring; norms are over all of a row's entries), s > 0.
 * With shrink = 0 this is the cosine; the shrink term damps similarities supported by few, small overlaps (as in
 * the kNN baselines of Dacrema, Cremonesi and Jannach, RecSys 2019). The full entities × entities matrix is never
 * built: the sparse co-occurrence kernel scatters over shared features (memory O(features) per task), and when it
 * is cheaper and the dense matrix fits `denseBudget`, the engine's dense cosine top-k runs instead (rows² ×
 * features, SIMD; it has no shrink term, so shrink > 0 always runs sparse).
 *
 * Top-N score of item i for user u, items the user has left out. Item kNN: Σ_{j ∈ I(u)} v(u, j) · s'(j → i),
 * s(j → i) being i's similarity in j's stored list (the scatter of Deshpande and Karypis), s' = s / Σ_i s(j → i)
 * with `normalizeSimilarity` (the default), s' = s without. User kNN: Σ_{w ∈ N(u)} s(u, w) · v(w, i) over the
 * neighbours who have i; a basket of items has no neighbouring users, so user kNN scores known users only.
 * Rating prediction (`predict`): r̂(u, i) = b + the same sum divided by Σ|s| over its terms, b = 0 for cosine and
 * the centring mean otherwise; with no contributing neighbour it is that mean (μ_u for cosine).
 * `similarItems`: item kNN's stored lists; for user kNN the item-item cosine of the values, on demand.
 */
import { centerCols, centerRows, colMeans, gatherRows, rowMeans, rowNorms, topkToCsr, transposeCsr, withValues } from '../data/csr.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { checkInteractions, checkNeighbors, csrFromBundle, csrToBundle, Recommender, type RecommenderState, type RowRecommendOptions, type ScoredItem, type ScoringOperands, stateFromBundle } from './recommender.js';

export type KnnSimilarity = 'cosine' | 'adjusted-cosine' | 'pearson';
export type KnnKernel = 'auto' | 'sparse' | 'dense';

export interface NeighbourOptions {
  k: number;
  shrink?: number;
  kernel?: KnnKernel;
  /** Bytes the dense entities × features f32 matrix may take (default 256 MiB). */
  denseBudget?: number;
  signal?: AbortSignal;
}

export const DEFAULT_DENSE_BUDGET = 256 * 2 ** 20;
/** How many dense multiply-adds cost about one sparse scatter step (SIMD lanes, no random access). */
const DENSE_ADVANTAGE = 16;

export function checkSimilarity(v: unknown): KnnSimilarity {
  if (v === undefined || v === 'cosine') return 'cosine';
  if (v === 'adjusted-cosine' || v === 'pearson') return v;
  throw new QuiverError('INVALID_ARGUMENT', `similarity must be cosine, adjusted-cosine or pearson (got ${JSON.stringify(v)})`);
}

export function checkShrink(v: unknown): number {
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new QuiverError('INVALID_ARGUMENT', `shrink must be a number ≥ 0 (got ${String(v)})`);
  return v;
}

export function checkKernel(v: unknown): KnnKernel {
  if (v === undefined || v === 'auto' || v === 'sparse' || v === 'dense') return v ?? 'auto';
  throw new QuiverError('INVALID_ARGUMENT', `kernel must be auto, sparse or dense (got ${JSON.stringify(v)})`);
}

/** Scatter work of the sparse kernel for E·Eᵀ: Σ over stored entries (r, f) of the length of column f. */
function sparseWork(e: CsrMatrix, et: CsrMatrix): number {
  let w = 0;
  const n = e.indptr[e.rows]!;
  for (let p = 0; p < n; p++) {
    const f = e.indices[p]!;
    w += et.indptr[f + 1]! - et.indptr[f]!;
  }
  return w;
}

/**
 * Top-k neighbours of every row of `e` (excluding itself) as a CSR matrix (rows × rows, best first, s > 0).
 * `et` is the transpose of `e`.
 */
export async function rowNeighbours(
  engine: Engine,
  e: CsrMatrix,
  et: CsrMatrix,
  opts: NeighbourOptions,
): Promise<{ neighbours: CsrMatrix; kernel: 'sparse' | 'dense' }> {
  const k = checkNeighbors(opts.k);
  const shrink = checkShrink(opts.shrink);
  const kernel = checkKernel(opts.kernel);
  const budget = opts.denseBudget ?? DEFAULT_DENSE_BUDGET;
  if (e.rows < 2) throw new QuiverError('INVALID_ARGUMENT', `neighbours need at least two rows to compare (got ${e.rows})`);
  const denseBytes = e.rows * e.cols * 4;
  if (kernel === 'dense' && shrink > 0) throw new QuiverError('INVALID_ARGUMENT', 'the dense kernel has no shrink term; use kernel sparse (or auto) with shrink > 0');
  if (kernel === 'dense' && denseBytes > budget) {
    throw new QuiverError('TOO_LARGE', `the dense ${e.rows} × ${e.cols} matrix needs ${denseBytes} bytes, over the dense budget of ${budget} bytes; use the sparse kernel`, {
      bytes: denseBytes,
      budget,
    });
  }
  const useDense =
    kernel === 'dense' ||
    (kernel === 'auto' && shrink === 0 && denseBytes <= budget && (e.rows * e.rows * e.cols) / DENSE_ADVANTAGE < sparseWork(e, et));
  const kk = Math.min(k, e.rows - 1);
  const norms = rowNorms(e);
  if (useDense) {
    const data = new Float32Array(e.rows * e.cols);
    for (let r = 0; r < e.rows; r++) {
      for (let p = e.indptr[r]!, q = e.indptr[r + 1]!; p < q; p++) data[r * e.cols + e.indices[p]!] = e.data[p]!;
    }
    const res = await engine.topK({ rows: e.rows, cols: e.cols, data }, undefined, { k: kk, metric: 'cosine', excludeSelf: true, signal: opts.signal });
    return { neighbours: topkToCsr(res.indices, res.scores, res.rows, res.k, e.rows, 0), kernel: 'dense' };
  }
  const res = await engine.sparseSimilarityTopK(e, et, { k: kk, rowNorms: norms, colNorms: norms, shrink, excludeSelf: true, signal: opts.signal });
  return { neighbours: topkToCsr(res.indices, res.scores, res.rows, res.k, e.rows, 0), kernel: 'sparse' };
}

/** The `allow` mask of sparseScoreTopN that scores only the columns `idx` (of `n`). */
export function allowOnly(n: number, idx: readonly number[]): Int32Array {
  const allow = new Int32Array(n);
  for (const j of idx) allow[j] = 1;
  return allow;
}

/** A one-row sparseScoreTopN result as column → score (slots without a candidate left out). */
export function scoresByColumn(res: TopKResult): Map<number, number> {
  const got = new Map<number, number>();
  for (let t = 0; t < res.k; t++) if (res.indices[t]! >= 0) got.set(res.indices[t]!, res.scores[t]!);
  return got;
}

/** Whose neighbours the model keeps: items (item kNN) or users (user kNN). */
export type KnnOrientation = 'item' | 'user';

const KIND = { item: 'itemknn', user: 'userknn' } as const;

export interface UserKnnOptions {
  /** Neighbours kept per user (default 50) or per item (default 20). */
  neighbors?: number;
  similarity?: KnnSimilarity;
  /** Denominator shrinkage (default 0). */
  shrink?: number;
  /** Similarity kernel: auto (default), sparse or dense. */
  kernel?: KnnKernel;
  /** Bytes the dense entities × features matrix may take when the dense kernel is considered. */
  denseBudget?: number;
  signal?: AbortSignal;
}

export interface ItemKnnOptions extends UserKnnOptions {
  /**
   * Scale each item's neighbour similarities to sum to 1 before top-N scoring (default true; Deshpande and
   * Karypis 2004, section 4.2: keeps items with many strong neighbours from dominating every list).
   * `similarItems` and `predict` always use the raw similarities.
   */
  normalizeSimilarity?: boolean;
}

export const ITEMKNN_DEFAULTS = { neighbors: 20, similarity: 'cosine' as KnnSimilarity, shrink: 0, normalizeSimilarity: true };
export const USERKNN_DEFAULTS = { neighbors: 50, similarity: 'cosine' as KnnSimilarity, shrink: 0 };

/** What a fitted kNN model records (and saves): the item kind also has normalizeSimilarity. */
export interface UserKnnParams {
  neighbors: number;
  similarity: KnnSimilarity;
  shrink: number;
  kernel: 'sparse' | 'dense';
}
export interface ItemKnnParams extends UserKnnParams {
  normalizeSimilarity: boolean;
}

/** Item kNN's parameters, in the order its bundles have always listed them. */
function itemParams(p: UserKnnParams, normalizeSimilarity: boolean): ItemKnnParams {
  return { neighbors: p.neighbors, similarity: p.similarity, shrink: p.shrink, normalizeSimilarity, kernel: p.kernel };
}

/** Scoring values and the per-user/per-item baseline of a similarity choice. */
export function centredValues(train: CsrMatrix, centre: 'user' | 'item' | null): { values: CsrMatrix; userMean: Float64Array; itemMean: Float64Array } {
  const userMean = rowMeans(train);
  const itemMean = colMeans(train);
  const values = centre === 'user' ? centerRows(train, userMean) : centre === 'item' ? centerCols(train, itemMean) : train;
  return { values, userMean, itemMean };
}

/** Pearson centres by the mean of the model's own entities, adjusted cosine by the other side's. */
function centreOf(orientation: KnnOrientation, similarity: KnnSimilarity): 'user' | 'item' | null {
  if (similarity === 'pearson') return orientation;
  if (similarity === 'adjusted-cosine') return orientation === 'item' ? 'user' : 'item';
  return null;
}

/** Each row scaled to sum to 1 (rows summing to 0 stay as they are). */
export function normalizeRowSums(m: CsrMatrix): CsrMatrix {
  const data = new Float32Array(m.indptr[m.rows]!);
  for (let r = 0; r < m.rows; r++) {
    const a = m.indptr[r]!;
    const b = m.indptr[r + 1]!;
    let s = 0;
    for (let p = a; p < b; p++) s += m.data[p]!;
    const inv = s !== 0 ? 1 / s : 1;
    for (let p = a; p < b; p++) data[p] = m.data[p]! * inv;
  }
  return withValues(m, data);
}

export function checkCentring(similarity: KnnSimilarity, feedback: string): void {
  if (similarity !== 'cosine' && feedback === 'binary') {
    throw new QuiverError('INVALID_ARGUMENT', `${similarity} centres ratings, but the interactions are binary (every value 1 centres to 0); use similarity cosine, or load explicit ratings`);
  }
}

function entityCount(orientation: KnnOrientation, state: RecommenderState): number {
  return orientation === 'item' ? state.itemIds.length : state.userIds.length;
}

/** Item kNN and user kNN (see the module comment); `ItemKnnModel` and `UserKnnModel` fix the orientation. */
export abstract class KnnModel extends Recommender {
  readonly kind: 'itemknn' | 'userknn';
  readonly orientation: KnnOrientation;
  /** entities × entities: each item's (or user's) neighbours, best first, s > 0. */
  readonly neighbours: CsrMatrix;
  readonly options: UserKnnParams | ItemKnnParams;
  readonly #values: CsrMatrix;
  /** Item kNN's top-N scoring matrix: the neighbours, row-normalised with normalizeSimilarity. */
  readonly #scoring: CsrMatrix;
  readonly #userMean: Float64Array;
  readonly #itemMean: Float64Array;
  readonly #centre: 'user' | 'item' | null;
  #itemRows: { rows: CsrMatrix; norms: Float32Array } | null = null;

  protected constructor(orientation: KnnOrientation, engine: Engine, state: RecommenderState, neighbours: CsrMatrix, options: UserKnnParams | ItemKnnParams) {
    super(engine, state);
    const n = entityCount(orientation, state);
    if (neighbours.rows !== n || neighbours.cols !== n) {
      throw new QuiverError('SHAPE_MISMATCH', `${orientation} neighbours must be ${orientation}s × ${orientation}s (${n})`);
    }
    this.kind = KIND[orientation];
    this.orientation = orientation;
    this.neighbours = neighbours;
    this.options = options;
    this.#scoring = orientation === 'item' && (options as ItemKnnParams).normalizeSimilarity ? normalizeRowSums(neighbours) : neighbours;
    this.#centre = centreOf(orientation, options.similarity);
    const c = centredValues(state.train, this.#centre);
    this.#values = c.values;
    this.#userMean = c.userMean;
    this.#itemMean = c.itemMean;
  }

  protected operands(): ScoringOperands {
    return this.orientation === 'item' ? { a: this.#values, m: this.#scoring } : { a: this.neighbours, m: this.#values };
  }

  /** A basket has no neighbouring users: user kNN scores known users only. */
  protected override async scoreBasket(basket: CsrMatrix, opts: RowRecommendOptions): Promise<TopKResult> {
    if (this.orientation === 'user') {
      throw new QuiverError('INVALID_ARGUMENT', 'user kNN recommends for known users only; use an item-based model (itemknn, ease, popular) for a basket of items');
    }
    return super.scoreBasket(basket, opts);
  }

  /** Item kNN: the item's stored neighbours, best first; user kNN: items by cosine of their value columns. */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
    if (this.orientation === 'item') {
      const out: ScoredItem[] = [];
      for (let p = this.neighbours.indptr[i]!, e = Math.min(this.neighbours.indptr[i + 1]!, p + n); p < e; p++) {
        out.push({ item: this.itemIds[this.neighbours.indices[p]!]!, score: this.neighbours.data[p]! });
      }
      return out;
    }
    if (!this.#itemRows) {
      const rows = transposeCsr(this.#values);
      this.#itemRows = { rows, norms: rowNorms(rows) };
    }
    const { rows, norms } = this.#itemRows;
    if (this.items < 2) return [];
    const res = await this.engine.sparseSimilarityTopK(rows, this.#values, {
      k: Math.min(n, this.items - 1),
      rowNorms: norms,
      colNorms: norms,
      excludeSelf: true,
      rows: { row0: i, row1: i + 1 },
    });
    return this.scoredItems(res, 0).filter((s) => s.score > 0);
  }

  /** Rating predictions r̂(user, item) for the given items (see the module comment). */
  async predict(user: string | number, items: readonly (string | number)[]): Promise<number[]> {
    const u = this.userIndex(user);
    const idx = items.map((it) => this.itemIndex(it));
    if (idx.length === 0) return [];
    const allow = allowOnly(this.items, idx);
    // Σ|s| runs over the similarity operand: the raw neighbour lists (M) for items, the user's row (A) for users.
    let res: TopKResult;
    if (this.orientation === 'item') {
      res = await this.engine.sparseScoreTopN(gatherRows(this.#values, [u]), this.neighbours, { n: idx.length, allow, normalize: 2 });
    } else {
      const ops = await this.staged();
      res = await this.engine.sparseScoreTopN(ops.a, ops.m, { n: idx.length, allow, normalize: 1, rows: { row0: u, row1: u + 1 } });
    }
    const got = scoresByColumn(res);
    return idx.map((j) => {
      const mean = this.#centre === 'item' ? this.#itemMean[j]! : this.#userMean[u]!;
      const s = got.get(j);
      if (s === undefined) return mean;
      return (this.#centre === null ? 0 : mean) + s;
    });
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return { params: { ...this.options }, arrays: csrToBundle('neighbours', this.neighbours) };
  }
}

export class ItemKnnModel extends KnnModel {
  declare readonly kind: 'itemknn';
  declare readonly options: ItemKnnParams;

  constructor(engine: Engine, state: RecommenderState, neighbours: CsrMatrix, options: ItemKnnParams) {
    super('item', engine, state, neighbours, options);
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): ItemKnnModel {
    const { state, neighbours, params } = partsFromBundle('item', b, source);
    return new ItemKnnModel(engine, state, neighbours, itemParams(params, b.params['normalizeSimilarity'] !== false));
  }
}

export class UserKnnModel extends KnnModel {
  declare readonly kind: 'userknn';
  declare readonly options: UserKnnParams;

  constructor(engine: Engine, state: RecommenderState, neighbours: CsrMatrix, options: UserKnnParams) {
    super('user', engine, state, neighbours, options);
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): UserKnnModel {
    const { state, neighbours, params } = partsFromBundle('user', b, source);
    return new UserKnnModel(engine, state, neighbours, params);
  }
}

/** The state, neighbour lists and shared parameters of a saved kNN bundle (both kinds save the same arrays). */
function partsFromBundle(orientation: KnnOrientation, b: ModelBundle, source: string): { state: RecommenderState; neighbours: CsrMatrix; params: UserKnnParams } {
  const state = stateFromBundle(b, source);
  const p = b.params;
  const n = entityCount(orientation, state);
  const neighbours = csrFromBundle(b, 'neighbours', n, n, source);
  const params: UserKnnParams = {
    neighbors: checkNeighbors(p['neighbors']),
    similarity: checkSimilarity(p['similarity']),
    shrink: checkShrink(p['shrink']),
    kernel: p['kernel'] === 'dense' ? 'dense' : 'sparse',
  };
  return { state, neighbours, params };
}

/** Checks the options (in the order the messages have always come), centres the values, finds the neighbours. */
async function fitNeighbours(
  engine: Engine,
  orientation: KnnOrientation,
  data: Interactions | RecommenderState,
  opts: ItemKnnOptions,
): Promise<{ state: RecommenderState; neighbours: CsrMatrix; params: UserKnnParams; normalizeSimilarity: boolean }> {
  const state = checkInteractions(data, KIND[orientation]);
  const neighbors = checkNeighbors(opts.neighbors ?? (orientation === 'item' ? ITEMKNN_DEFAULTS : USERKNN_DEFAULTS).neighbors);
  const similarity = checkSimilarity(opts.similarity);
  const shrink = checkShrink(opts.shrink);
  let normalizeSimilarity = false;
  if (orientation === 'item') {
    const v: unknown = opts.normalizeSimilarity ?? ITEMKNN_DEFAULTS.normalizeSimilarity;
    if (typeof v !== 'boolean') throw new QuiverError('INVALID_ARGUMENT', `normalizeSimilarity must be true or false (got ${String(v)})`);
    normalizeSimilarity = v;
  }
  checkKernel(opts.kernel);
  checkCentring(similarity, state.feedback);
  if (entityCount(orientation, state) < 2) throw new QuiverError('INVALID_ARGUMENT', `${orientation} kNN needs at least two ${orientation}s`);
  const { values } = centredValues(state.train, centreOf(orientation, similarity));
  const transposed = transposeCsr(values);
  const [rows, cols] = orientation === 'item' ? [transposed, values] : [values, transposed];
  const { neighbours, kernel } = await rowNeighbours(engine, rows, cols, { k: neighbors, shrink, kernel: opts.kernel, denseBudget: opts.denseBudget, signal: opts.signal });
  return { state, neighbours, params: { neighbors, similarity, shrink, kernel }, normalizeSimilarity };
}

/** Fits item-item kNN on interactions (users × items). */
export async function fitItemKnn(engine: Engine, data: Interactions | RecommenderState, opts: ItemKnnOptions = {}): Promise<ItemKnnModel> {
  const { state, neighbours, params, normalizeSimilarity } = await fitNeighbours(engine, 'item', data, opts);
  return new ItemKnnModel(engine, state, neighbours, itemParams(params, normalizeSimilarity));
}

/** Fits user-user kNN on interactions (users × items). */
export async function fitUserKnn(engine: Engine, data: Interactions | RecommenderState, opts: UserKnnOptions = {}): Promise<UserKnnModel> {
  const { state, neighbours, params } = await fitNeighbours(engine, 'user', data, opts);
  return new UserKnnModel(engine, state, neighbours, params);
}
