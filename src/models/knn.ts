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
import { centerCols, centerRows, colMeans, gatherRows, rowMeans, rowNorms, transposeCsr, withValues } from '../data/csr.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { checkKernel, checkShrink, type FitProgress, type KnnKernel, rowNeighbours } from './neighbours.js';
import { checkInteractions, checkNeighbors, csrFromBundle, csrToBundle, Recommender, type RecommenderState, type RowRecommendOptions, type ScoredItem, type ScoringOperands, stateFromBundle } from './recommender.js';
import { checkBm25B, checkBm25K1, checkWeighting, type KnnWeighting, weightItems } from './weighting.js';

export { checkKernel, checkShrink, DEFAULT_DENSE_BUDGET, type FitProgress, type KnnKernel, type NeighbourOptions, rowNeighbours } from './neighbours.js';
export type { KnnWeighting } from './weighting.js';

export type KnnSimilarity = 'cosine' | 'adjusted-cosine' | 'pearson';
export function checkSimilarity(v: unknown): KnnSimilarity {
  if (v === undefined || v === 'cosine') return 'cosine';
  if (v === 'adjusted-cosine' || v === 'pearson') return v;
  throw new QuiverError('INVALID_ARGUMENT', `similarity must be cosine, adjusted-cosine or pearson (got ${JSON.stringify(v)})`);
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
  /** Called as the fit progresses (phase "similarity": entities done of all). */
  onProgress?: (p: FitProgress) => void;
}

export interface ItemKnnOptions extends UserKnnOptions {
  /** Weighting of the items × users matrix before the similarity: none (default), tfidf or bm25 (see weighting.ts). */
  weighting?: KnnWeighting;
  /** bm25: term-frequency saturation K1 > 0 (default 1.2). */
  bm25K1?: number;
  /** bm25: length normalisation B in [0, 1] (default 0.75). */
  bm25B?: number;
  /**
   * Scale each item's neighbour similarities to sum to 1 before top-N scoring (default true; Deshpande and
   * Karypis 2004, section 4.2: keeps items with many strong neighbours from dominating every list).
   * `similarItems` and `predict` always use the raw similarities.
   */
  normalizeSimilarity?: boolean;
}

export const ITEMKNN_DEFAULTS = { neighbors: 20, similarity: 'cosine' as KnnSimilarity, shrink: 0, normalizeSimilarity: true, weighting: 'none' as KnnWeighting };
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
  /** Absent for none (bundles then read as they did before the weightings). */
  weighting?: KnnWeighting;
  /** Present with weighting bm25 only. */
  bm25K1?: number;
  bm25B?: number;
}

/** What an item kNN fit records of its weighting (bundles from before the weightings have none). */
interface WeightingParams {
  weighting: KnnWeighting;
  bm25K1?: number;
  bm25B?: number;
}

/** Item kNN's parameters, in the order its bundles have always listed them, then the weighting. */
function itemParams(p: UserKnnParams, normalizeSimilarity: boolean, w: WeightingParams): ItemKnnParams {
  const out: ItemKnnParams = { neighbors: p.neighbors, similarity: p.similarity, shrink: p.shrink, normalizeSimilarity, kernel: p.kernel };
  if (w.weighting !== 'none') out.weighting = w.weighting;
  if (w.weighting === 'bm25') {
    out.bm25K1 = w.bm25K1;
    out.bm25B = w.bm25B;
  }
  return out;
}

/** Checks the weighting options and how they combine with the others. */
function weightingOf(orientation: KnnOrientation, opts: ItemKnnOptions, similarity: KnnSimilarity, shrink: number, train: CsrMatrix): WeightingParams {
  const weighting = checkWeighting(opts.weighting);
  const k1 = checkBm25K1(opts.bm25K1);
  const b = checkBm25B(opts.bm25B);
  if (weighting === 'none') return { weighting };
  if (orientation === 'user') throw new QuiverError('INVALID_ARGUMENT', `weighting ${weighting} is an item kNN option (items are the documents, users the terms); user kNN takes none`);
  if (similarity !== 'cosine') throw new QuiverError('INVALID_ARGUMENT', `weighting ${weighting} replaces the centring of ${similarity}; use similarity cosine with a weighting`);
  if (weighting === 'bm25' && shrink > 0) throw new QuiverError('INVALID_ARGUMENT', 'bm25 scores by the plain dot product of the weighted items, which has no shrink term; use shrink 0 with bm25');
  for (let p = 0; p < train.indptr[train.rows]!; p++) {
    if (!(train.data[p]! >= 0)) throw new QuiverError('INVALID_ARGUMENT', `weighting ${weighting} needs interaction values ≥ 0 (counts or 1s; got ${train.data[p]})`);
  }
  return weighting === 'bm25' ? { weighting, bm25K1: k1, bm25B: b } : { weighting };
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
    const p = b.params;
    const weighting = checkWeighting(p['weighting']);
    const w: WeightingParams = weighting === 'bm25' ? { weighting, bm25K1: checkBm25K1(p['bm25K1']), bm25B: checkBm25B(p['bm25B']) } : { weighting };
    return new ItemKnnModel(engine, state, neighbours, itemParams(params, p['normalizeSimilarity'] !== false, w));
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
): Promise<{ state: RecommenderState; neighbours: CsrMatrix; params: UserKnnParams; normalizeSimilarity: boolean; weighting: WeightingParams }> {
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
  const weighting = weightingOf(orientation, opts, similarity, shrink, state.train);
  if (entityCount(orientation, state) < 2) throw new QuiverError('INVALID_ARGUMENT', `${orientation} kNN needs at least two ${orientation}s`);
  const { values } = centredValues(state.train, centreOf(orientation, similarity));
  let transposed = transposeCsr(values);
  let cols = values;
  if (weighting.weighting !== 'none') {
    // The weights apply to the items × users matrix; the kernel needs it and its transpose.
    transposed = weightItems(transposed, weighting.weighting, weighting.bm25K1, weighting.bm25B);
    cols = transposeCsr(transposed);
  }
  const [rows, other] = orientation === 'item' ? [transposed, cols] : [values, transposed];
  const { neighbours, kernel } = await rowNeighbours(engine, rows, other, {
    k: neighbors,
    shrink,
    kernel: opts.kernel,
    metric: weighting.weighting === 'bm25' ? 'dot' : 'cosine',
    denseBudget: opts.denseBudget,
    signal: opts.signal,
    onProgress: opts.onProgress,
  });
  return { state, neighbours, params: { neighbors, similarity, shrink, kernel }, normalizeSimilarity, weighting };
}

/** Fits item-item kNN on interactions (users × items). */
export async function fitItemKnn(engine: Engine, data: Interactions | RecommenderState, opts: ItemKnnOptions = {}): Promise<ItemKnnModel> {
  const { state, neighbours, params, normalizeSimilarity, weighting } = await fitNeighbours(engine, 'item', data, opts);
  return new ItemKnnModel(engine, state, neighbours, itemParams(params, normalizeSimilarity, weighting));
}

/** Fits user-user kNN on interactions (users × items). */
export async function fitUserKnn(engine: Engine, data: Interactions | RecommenderState, opts: UserKnnOptions = {}): Promise<UserKnnModel> {
  const { state, neighbours, params } = await fitNeighbours(engine, 'user', data, opts);
  return new UserKnnModel(engine, state, neighbours, params);
}
