/**
 * Item-item kNN (Sarwar, Karypis, Konstan and Riedl, "Item-based collaborative filtering recommendation
 * algorithms", WWW 2001; Deshpande and Karypis, "Item-based top-N recommendation algorithms", TOIS 2004).
 *
 * Fit: values v(u, j) are the training values (ratings, 1 for binary feedback, counts), centred per user
 * for `adjusted-cosine` (v = r − μ_u) or per item for `pearson` (v = r − μ_j); centring needs ratings, so
 * binary feedback allows only `cosine`. Each item keeps its top `neighbors` items by
 * s(i, j) = v_i·v_j / (‖v_i‖‖v_j‖ + shrink) with s > 0 (see knn.ts); the full items × items matrix is never
 * built.
 *
 * Top-N score of item i for user u: Σ_{j ∈ I(u)} v(u, j) · s'(j → i), where s(j → i) is i's similarity in j's
 * stored neighbour list (the scatter of Deshpande and Karypis) and s' = s / Σ_i s(j → i) with
 * `normalizeSimilarity` (the default), s' = s without; items the user has are left out.
 * Rating prediction (`predict`): r̂(u, i) = b(u, i) + Σ v(u, j) s(j → i) / Σ |s(j → i)| over the same terms,
 * with b = 0 for cosine, μ_u for adjusted cosine and μ_i for Pearson; with no contributing neighbour the
 * prediction is the baseline (μ_u for cosine and adjusted cosine, μ_i for Pearson).
 */
import { centerCols, centerRows, colMeans, gatherRows, rowMeans, transposeCsr, withValues } from '../data/csr.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { allowOnly, checkKernel, checkShrink, checkSimilarity, type KnnKernel, type KnnSimilarity, rowNeighbours, scoresByColumn } from './knn.js';
import {
  checkInteractions,
  checkNeighbors,
  csrFromBundle,
  csrToBundle,
  Recommender,
  type RecommenderState,
  type ScoredItem,
  type ScoringOperands,
  stateFromBundle,
} from './recommender.js';

export interface ItemKnnOptions {
  /** Neighbours kept per item (default 100). */
  neighbors?: number;
  similarity?: KnnSimilarity;
  /** Denominator shrinkage (default 0). */
  shrink?: number;
  /**
   * Scale each item's neighbour similarities to sum to 1 before top-N scoring (default true; Deshpande and
   * Karypis 2004, section 4.2: keeps items with many strong neighbours from dominating every list).
   * `similarItems` and `predict` always use the raw similarities.
   */
  normalizeSimilarity?: boolean;
  /** Similarity kernel: auto (default), sparse or dense. */
  kernel?: KnnKernel;
  /** Bytes the dense items × users matrix may take when the dense kernel is considered. */
  denseBudget?: number;
  signal?: AbortSignal;
}

export const ITEMKNN_DEFAULTS = { neighbors: 20, similarity: 'cosine' as KnnSimilarity, shrink: 0, normalizeSimilarity: true };

/** Scoring values and the per-user/per-item baseline of a similarity choice. */
export function centredValues(train: CsrMatrix, centre: 'user' | 'item' | null): { values: CsrMatrix; userMean: Float64Array; itemMean: Float64Array } {
  const userMean = rowMeans(train);
  const itemMean = colMeans(train);
  const values = centre === 'user' ? centerRows(train, userMean) : centre === 'item' ? centerCols(train, itemMean) : train;
  return { values, userMean, itemMean };
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

/** Item kNN centres adjusted cosine by the user mean and Pearson by the item mean. */
function itemCentre(similarity: KnnSimilarity): 'user' | 'item' | null {
  return similarity === 'adjusted-cosine' ? 'user' : similarity === 'pearson' ? 'item' : null;
}

export function checkCentring(similarity: KnnSimilarity, feedback: string): void {
  if (similarity !== 'cosine' && feedback === 'binary') {
    throw new QuiverError('INVALID_ARGUMENT', `${similarity} centres ratings, but the interactions are binary (every value 1 centres to 0); use similarity cosine, or load explicit ratings`);
  }
}

export class ItemKnnModel extends Recommender {
  readonly kind = 'itemknn' as const;
  /** items × items: each item's neighbours, best first, s > 0. */
  readonly neighbours: CsrMatrix;
  readonly options: { neighbors: number; similarity: KnnSimilarity; shrink: number; normalizeSimilarity: boolean; kernel: 'sparse' | 'dense' };
  readonly #values: CsrMatrix;
  readonly #scoring: CsrMatrix;
  readonly #userMean: Float64Array;
  readonly #itemMean: Float64Array;

  constructor(engine: Engine, state: RecommenderState, neighbours: CsrMatrix, options: ItemKnnModel['options']) {
    super(engine, state);
    if (neighbours.rows !== state.itemIds.length || neighbours.cols !== state.itemIds.length) {
      throw new QuiverError('SHAPE_MISMATCH', `item neighbours must be items × items (${state.itemIds.length})`);
    }
    this.neighbours = neighbours;
    this.options = options;
    this.#scoring = options.normalizeSimilarity ? normalizeRowSums(neighbours) : neighbours;
    const c = centredValues(state.train, itemCentre(options.similarity));
    this.#values = c.values;
    this.#userMean = c.userMean;
    this.#itemMean = c.itemMean;
  }

  protected operands(): ScoringOperands {
    return { a: this.#values, m: this.#scoring };
  }

  /** The item's stored neighbours, best first (at most `neighbors` of them). */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
    const out: ScoredItem[] = [];
    for (let p = this.neighbours.indptr[i]!, e = Math.min(this.neighbours.indptr[i + 1]!, p + n); p < e; p++) {
      out.push({ item: this.itemIds[this.neighbours.indices[p]!]!, score: this.neighbours.data[p]! });
    }
    return out;
  }

  /** Rating predictions r̂(user, item) for the given items (see the module comment). */
  async predict(user: string | number, items: readonly (string | number)[]): Promise<number[]> {
    const u = this.userIndex(user);
    const idx = items.map((it) => this.itemIndex(it));
    if (idx.length === 0) return [];
    const allow = allowOnly(this.items, idx);
    const res = await this.engine.sparseScoreTopN(gatherRows(this.#values, [u]), this.neighbours, { n: idx.length, allow, normalize: 2 });
    const got = scoresByColumn(res);
    const sim = this.options.similarity;
    return idx.map((j) => {
      const base = sim === 'pearson' ? this.#itemMean[j]! : sim === 'adjusted-cosine' ? this.#userMean[u]! : 0;
      const s = got.get(j);
      if (s === undefined) return sim === 'pearson' ? this.#itemMean[j]! : this.#userMean[u]!;
      return base + s;
    });
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return { params: { ...this.options }, arrays: csrToBundle('neighbours', this.neighbours) };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): ItemKnnModel {
    const state = stateFromBundle(b, source);
    const p = b.params;
    const neighbours = csrFromBundle(b, 'neighbours', state.itemIds.length, state.itemIds.length, source);
    return new ItemKnnModel(engine, state, neighbours, {
      neighbors: checkNeighbors(p['neighbors']),
      similarity: checkSimilarity(p['similarity']),
      shrink: checkShrink(p['shrink']),
      normalizeSimilarity: p['normalizeSimilarity'] !== false,
      kernel: p['kernel'] === 'dense' ? 'dense' : 'sparse',
    });
  }
}

/** Fits item-item kNN on interactions (users × items). */
export async function fitItemKnn(engine: Engine, data: Interactions | RecommenderState, opts: ItemKnnOptions = {}): Promise<ItemKnnModel> {
  const state = checkInteractions(data, 'itemknn');
  const neighbors = checkNeighbors(opts.neighbors ?? ITEMKNN_DEFAULTS.neighbors);
  const similarity = checkSimilarity(opts.similarity);
  const shrink = checkShrink(opts.shrink);
  const normalizeSimilarity = opts.normalizeSimilarity ?? ITEMKNN_DEFAULTS.normalizeSimilarity;
  if (typeof normalizeSimilarity !== 'boolean') throw new QuiverError('INVALID_ARGUMENT', `normalizeSimilarity must be true or false (got ${String(normalizeSimilarity)})`);
  checkKernel(opts.kernel);
  checkCentring(similarity, state.feedback);
  if (state.itemIds.length < 2) throw new QuiverError('INVALID_ARGUMENT', 'item kNN needs at least two items');
  const { values } = centredValues(state.train, itemCentre(similarity));
  const itemRows = transposeCsr(values);
  const { neighbours, kernel } = await rowNeighbours(engine, itemRows, values, {
    k: neighbors,
    shrink,
    kernel: opts.kernel,
    denseBudget: opts.denseBudget,
    signal: opts.signal,
  });
  return new ItemKnnModel(engine, state, neighbours, { neighbors, similarity, shrink, normalizeSimilarity, kernel });
}
