/**
 * User-user kNN (Herlocker, Konstan, Borchers and Riedl, "An algorithmic framework for performing
 * collaborative filtering", SIGIR 1999; Resnick et al., GroupLens, CSCW 1994).
 *
 * Fit: values v(u, i) are the training values, centred per user for `pearson` (v = r − μ_u) or per item for
 * `adjusted-cosine` (v = r − μ_i) — the mirror image of item kNN; binary feedback allows only `cosine`. Each
 * user keeps the top `neighbors` users by s(u, w) = v_u·v_w / (‖v_u‖‖v_w‖ + shrink), s > 0 (see knn.ts).
 *
 * Top-N score of item i for user u: Σ_{w ∈ N(u)} s(u, w) · v(w, i) over the neighbours w who have i; items the
 * user has are left out. Rating prediction (`predict`): r̂(u, i) = b(u, i) + Σ s(u, w) v(w, i) / Σ |s(u, w)|
 * over the neighbours who rated i, with b = 0 for cosine, μ_u for Pearson and μ_i for adjusted cosine; with no
 * such neighbour the prediction is the baseline (μ_u for cosine and Pearson, μ_i for adjusted cosine).
 * `similarItems` is the item-item cosine of the same values, computed on demand by the sparse kernel.
 */
import { rowNorms, transposeCsr } from '../data/csr.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import type { ModelBundle } from './bundle.js';
import { centredValues, checkCentring } from './itemknn.js';
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

export interface UserKnnOptions {
  /** Neighbours kept per user (default 50). */
  neighbors?: number;
  similarity?: KnnSimilarity;
  shrink?: number;
  kernel?: KnnKernel;
  denseBudget?: number;
  signal?: AbortSignal;
}

export const USERKNN_DEFAULTS = { neighbors: 50, similarity: 'cosine' as KnnSimilarity, shrink: 0 };

function userCentre(similarity: KnnSimilarity): 'user' | 'item' | null {
  return similarity === 'pearson' ? 'user' : similarity === 'adjusted-cosine' ? 'item' : null;
}

export class UserKnnModel extends Recommender {
  readonly kind = 'userknn' as const;
  /** users × users: each user's neighbours, best first, s > 0. */
  readonly neighbours: CsrMatrix;
  readonly options: { neighbors: number; similarity: KnnSimilarity; shrink: number; kernel: 'sparse' | 'dense' };
  readonly #values: CsrMatrix;
  readonly #userMean: Float64Array;
  readonly #itemMean: Float64Array;
  #itemRows: { rows: CsrMatrix; norms: Float32Array } | null = null;

  constructor(engine: Engine, state: RecommenderState, neighbours: CsrMatrix, options: UserKnnModel['options']) {
    super(engine, state);
    if (neighbours.rows !== state.userIds.length || neighbours.cols !== state.userIds.length) {
      throw new QuiverError('SHAPE_MISMATCH', `user neighbours must be users × users (${state.userIds.length})`);
    }
    this.neighbours = neighbours;
    this.options = options;
    const c = centredValues(state.train, userCentre(options.similarity));
    this.#values = c.values;
    this.#userMean = c.userMean;
    this.#itemMean = c.itemMean;
  }

  /** A basket has no neighbouring users: user kNN scores known users only. */
  protected override async scoreBasket(): Promise<TopKResult> {
    throw new QuiverError('INVALID_ARGUMENT', 'user kNN recommends for known users only; use an item-based model (itemknn, ease, popular) for a basket of items');
  }

  protected operands(): ScoringOperands {
    return { a: this.neighbours, m: this.#values };
  }

  /** Items by cosine of their value columns (computed on demand, excluding the item itself). */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
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
    const ops = await this.staged();
    const res = await this.engine.sparseScoreTopN(ops.a, ops.m, { n: idx.length, allow, normalize: 1, rows: { row0: u, row1: u + 1 } });
    const got = scoresByColumn(res);
    const sim = this.options.similarity;
    return idx.map((j) => {
      const base = sim === 'pearson' ? this.#userMean[u]! : sim === 'adjusted-cosine' ? this.#itemMean[j]! : 0;
      const s = got.get(j);
      if (s === undefined) return sim === 'adjusted-cosine' ? this.#itemMean[j]! : this.#userMean[u]!;
      return base + s;
    });
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return { params: { ...this.options }, arrays: csrToBundle('neighbours', this.neighbours) };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): UserKnnModel {
    const state = stateFromBundle(b, source);
    const p = b.params;
    const neighbours = csrFromBundle(b, 'neighbours', state.userIds.length, state.userIds.length, source);
    return new UserKnnModel(engine, state, neighbours, {
      neighbors: checkNeighbors(p['neighbors']),
      similarity: checkSimilarity(p['similarity']),
      shrink: checkShrink(p['shrink']),
      kernel: p['kernel'] === 'dense' ? 'dense' : 'sparse',
    });
  }
}

/** Fits user-user kNN on interactions (users × items). */
export async function fitUserKnn(engine: Engine, data: Interactions | RecommenderState, opts: UserKnnOptions = {}): Promise<UserKnnModel> {
  const state = checkInteractions(data, 'userknn');
  const neighbors = checkNeighbors(opts.neighbors ?? USERKNN_DEFAULTS.neighbors);
  const similarity = checkSimilarity(opts.similarity);
  const shrink = checkShrink(opts.shrink);
  checkKernel(opts.kernel);
  checkCentring(similarity, state.feedback);
  if (state.userIds.length < 2) throw new QuiverError('INVALID_ARGUMENT', 'user kNN needs at least two users');
  const { values } = centredValues(state.train, userCentre(similarity));
  const { neighbours, kernel } = await rowNeighbours(engine, values, transposeCsr(values), {
    k: neighbors,
    shrink,
    kernel: opts.kernel,
    denseBudget: opts.denseBudget,
    signal: opts.signal,
  });
  return new UserKnnModel(engine, state, neighbours, { neighbors, similarity, shrink, kernel });
}
