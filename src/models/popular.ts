/**
 * Popularity baseline: every user gets the items with the most training users (ties to the lower item index,
 * i.e. the item seen first), minus the items they have. The score is the number of users who have the item.
 * Scoring is a walk down one sorted list per user (O(n + seen) per user), so it runs on the calling thread.
 * `similarItems(i)` is "users who have i also have": items by co-occurrence count with i (the engine's sparse
 * similarity kernel without normalisation).
 */
import { colCounts, hasEntry, transposeCsr } from '../data/csr.js';
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import type { ModelBundle } from './bundle.js';
import {
  checkInteractions,
  checkNeighbors,
  Recommender,
  type RecommenderState,
  type RowRecommendOptions,
  type ScoredItem,
  type ScoringOperands,
  stateFromBundle,
} from './recommender.js';

export class PopularModel extends Recommender {
  readonly kind = 'popular' as const;
  /** Training users per item. */
  readonly counts: Int32Array;
  /** Items by count desc, then index asc. */
  readonly order: Int32Array;
  #itemRows: CsrMatrix | null = null;

  constructor(engine: Engine, state: RecommenderState) {
    super(engine, state);
    this.counts = colCounts(state.train);
    const order = Int32Array.from({ length: this.items }, (_, j) => j);
    order.sort((a, b) => this.counts[b]! - this.counts[a]! || a - b);
    this.order = order;
  }

  protected operands(): ScoringOperands {
    throw new QuiverError('INTERNAL', 'the popularity model scores without the sparse kernel');
  }

  protected override async scoreRows(users: { row0: number; row1: number } | Int32Array, opts: RowRecommendOptions): Promise<TopKResult> {
    const requestedN = checkNeighbors(opts.n, 'n');
    const filterSeen = opts.filterSeen ?? true;
    const allow = opts.allow ?? null;
    if (allow && allow.length !== this.items) throw new QuiverError('SHAPE_MISMATCH', `allow must have one flag per item (${this.items})`);
    const list = users instanceof Int32Array ? users : null;
    const span = users instanceof Int32Array ? null : users;
    if (span && !(Number.isInteger(span.row0) && Number.isInteger(span.row1) && 0 <= span.row0 && span.row0 <= span.row1 && span.row1 <= this.users)) {
      throw new QuiverError('INVALID_ARGUMENT', `rows [${span.row0}, ${span.row1}) must lie within [0, ${this.users})`);
    }
    const rows = list ? list.length : span!.row1 - span!.row0;
    const n = Math.min(requestedN, this.items);
    const indices = new Int32Array(rows * n).fill(-1);
    const scores = new Float32Array(rows * n).fill(Number.NEGATIVE_INFINITY);
    const t = this.train;
    for (let r = 0; r < rows; r++) {
      if (opts.signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted');
      const u = list ? list[r]! : span!.row0 + r;
      if (!(u >= 0 && u < this.users)) throw new QuiverError('INVALID_ARGUMENT', `user index ${u} is outside [0, ${this.users})`);
      let got = 0;
      for (let q = 0; q < this.items && got < n; q++) {
        const j = this.order[q]!;
        if (allow && allow[j] === 0) continue;
        if (filterSeen && hasEntry(t, u, j)) continue;
        indices[r * n + got] = j;
        scores[r * n + got] = this.counts[j]!;
        got++;
      }
    }
    return { indices, scores, rows, k: n, requestedK: requestedN };
  }

  /** The most popular items, minus the basket's own (with filterSeen) and the disallowed ones. */
  protected override async scoreBasket(basket: CsrMatrix, opts: RowRecommendOptions): Promise<TopKResult> {
    const requestedN = checkNeighbors(opts.n, 'n');
    const n = Math.min(requestedN, this.items);
    const inBasket = new Set(basket.indices);
    const indices = new Int32Array(n).fill(-1);
    const scores = new Float32Array(n).fill(Number.NEGATIVE_INFINITY);
    let got = 0;
    for (let q = 0; q < this.items && got < n; q++) {
      const j = this.order[q]!;
      if (opts.allow && opts.allow[j] === 0) continue;
      if ((opts.filterSeen ?? true) && inBasket.has(j)) continue;
      indices[got] = j;
      scores[got] = this.counts[j]!;
      got++;
    }
    return { indices, scores, rows: 1, k: n, requestedK: requestedN };
  }

  /** Items by the number of users who have both (co-occurrence), excluding the item itself. */
  async similarItems(item: string | number, n: number): Promise<ScoredItem[]> {
    const i = this.itemIndex(item);
    checkNeighbors(n, 'n');
    if (this.items < 2) return [];
    this.#itemRows ??= transposeCsr(this.train);
    const ones = { ...this.#itemRows, data: new Float32Array(this.#itemRows.data.length).fill(1) };
    const users = { ...this.train, data: new Float32Array(this.train.data.length).fill(1) };
    const res = await this.engine.sparseSimilarityTopK(ones, users, { k: Math.min(n, this.items - 1), excludeSelf: true, rows: { row0: i, row1: i + 1 } });
    return this.scoredItems(res, 0);
  }

  protected bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] } {
    return { params: {}, arrays: {} };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): PopularModel {
    return new PopularModel(engine, stateFromBundle(b, source));
  }
}

export async function fitPopular(engine: Engine, data: Interactions | RecommenderState): Promise<PopularModel> {
  return new PopularModel(engine, checkInteractions(data, 'popular'));
}
