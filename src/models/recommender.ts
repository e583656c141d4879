/**
 * What every recommender shares: external ids ↔ dense indices, the training interactions (for filtering seen
 * items), `recommend` for one user, a list, or everyone, include/exclude lists, and saving/loading through the
 * model bundle format (JSON manifest + one binary array file, written atomically; see bundle.ts).
 *
 * Scoring goes through the engine's sparse scoring kernel: scores(u, ·) = A[u,:]·M, minus seen items, top n.
 * Each model says what A and M are (item kNN: A = the user's interactions, M = the item neighbour lists;
 * user kNN: A = the user's neighbour list, M = the users' interactions; EASE: M = the dense rows of B).
 *
 * Documented behaviours:
 * - An unknown user id is NOT_FOUND. Unknown item ids in `include`/`exclude` are ignored (such lists often
 *   come from a catalogue that is newer than the model).
 * - n larger than the catalogue is clamped; a user may get fewer than n items when fewer items have a score
 *   (item kNN: only items that are neighbours of the user's items), never padded with unscored items unless
 *   back-fill is on (`backfill: 'popular'`, see backfill.ts: the most popular items, marked and scored below).
 * - Ties in score go to the lower item index, i.e. the item seen first in the training file.
 * - Staged operands live in the engine's shared memory until `release()` (or until the engine closes).
 */
import { gatherRows, nnz } from '../data/csr.js';
import type { Feedback, Interactions } from '../data/ratings.js';
import type { Engine, StagedCsr } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import type { CsrMatrix, TopKResult } from '../types.js';
import { type BackfillMode, backfillRows, checkBackfill, type FilledTopK, popularityOrder } from './backfill.js';
import { type ModelBundle, readBundle, writeBundle } from './bundle.js';

export type RecommenderKind = 'itemknn' | 'userknn' | 'ease' | 'popular' | 'als';

export interface RecommendOptions {
  /** Items per user. */
  n: number;
  /** Leave out items the user interacted with in training (default true). */
  filterSeen?: boolean;
  /** Items never to recommend (unknown ids are ignored). */
  exclude?: readonly string[];
  /** Recommend only among these items (unknown ids are ignored). */
  include?: readonly string[];
  /** Top up short lists with popular items (default: the model's `backfill`, itself none unless set). */
  backfill?: BackfillMode;
  signal?: AbortSignal;
}

export interface ScoredItem {
  item: string;
  score: number;
  /** Present only on back-filled items (see backfill.ts); model items have no source. */
  source?: 'popular';
}

export interface UserRecommendations {
  user: string;
  items: ScoredItem[];
}

/** Options of the index-level entry point used by bulk runs and evaluation. */
export interface RowRecommendOptions {
  n: number;
  filterSeen?: boolean;
  /** allow[j] = 0 removes item j (see `allowMask`). */
  allow?: Int32Array | null;
  /** Default: the model's `backfill`. */
  backfill?: BackfillMode;
  signal?: AbortSignal;
}

export interface RecommenderState {
  userIds: string[];
  itemIds: string[];
  /** users × items training interactions (the values each model scores with). */
  train: CsrMatrix;
  feedback: Feedback;
}

/** What a client sees of a recommender (the server's listings): its kind and the size of what it learned. */
export interface RecommenderSummary {
  kind: string;
  users: number;
  items: number;
  feedback: Feedback;
}

/**
 * The shape every recommender shares (the recommender half of model.ts's FittedModel): recommendations for
 * known users and for baskets, similar items, a summary, and the bundle `save` writes. Each kind says how it is
 * fitted and rebuilt from a bundle in registry.ts.
 */
export interface FittedRecommender {
  readonly kind: RecommenderKind;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  recommend(users: string | number | readonly (string | number)[] | undefined, opts: RecommendOptions): Promise<UserRecommendations[]>;
  recommendRows(users: { row0: number; row1: number } | Int32Array, opts: RowRecommendOptions): Promise<TopKResult>;
  recommendForItems(items: readonly (string | number)[], opts: RecommendOptions): Promise<ScoredItem[]>;
  similarItems(item: string | number, n: number): Promise<ScoredItem[]>;
  summary(): RecommenderSummary;
  toBundle(): ModelBundle;
  save(path: string): Promise<void>;
  /** Frees what the model staged in the engine's shared memory. */
  release(): void;
}

/** The scoring operands of a model: rows of A are users; A·M gives item scores. */
export interface ScoringOperands {
  a: CsrMatrix;
  m: CsrMatrix;
}

export function checkInteractions(data: Interactions | RecommenderState, what: string): RecommenderState {
  const train = 'matrix' in data ? data.matrix : data.train;
  if (!train || train.rows !== data.userIds.length || train.cols !== data.itemIds.length) {
    throw new QuiverError('SHAPE_MISMATCH', `${what}: the interaction matrix must be users × items (${data.userIds.length} × ${data.itemIds.length})`);
  }
  if (nnz(train) === 0) throw new QuiverError('INVALID_ARGUMENT', `${what}: there are no interactions to learn from`);
  return { userIds: data.userIds, itemIds: data.itemIds, train, feedback: data.feedback };
}

export function checkNeighbors(v: unknown, name = 'neighbors'): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new QuiverError('INVALID_ARGUMENT', `${name} must be a whole number ≥ 1 (got ${String(v)})`);
  }
  return v;
}

export abstract class Recommender implements FittedRecommender {
  abstract readonly kind: RecommenderKind;
  readonly engine: Engine;
  readonly userIds: string[];
  readonly itemIds: string[];
  readonly train: CsrMatrix;
  readonly feedback: Feedback;
  #userIndex: Map<string, number> | null = null;
  #itemIndex: Map<string, number> | null = null;
  #staged: { a: StagedCsr; m: StagedCsr; seen: StagedCsr } | null = null;
  #staging: Promise<{ a: StagedCsr; m: StagedCsr; seen: StagedCsr }> | null = null;
  #popular: Int32Array | null = null;
  /** Whether short lists are topped up with popular items (none unless set; saved with the model). */
  backfill: BackfillMode = 'none';

  protected constructor(engine: Engine, state: RecommenderState) {
    this.engine = engine;
    this.userIds = state.userIds;
    this.itemIds = state.itemIds;
    this.train = state.train;
    this.feedback = state.feedback;
  }

  get users(): number {
    return this.userIds.length;
  }

  get items(): number {
    return this.itemIds.length;
  }

  /** Dense index of an external user id; NOT_FOUND when it was not in the training data. */
  userIndex(id: string | number): number {
    this.#userIndex ??= indexOf(this.userIds);
    const i = this.#userIndex.get(String(id));
    if (i === undefined) throw new QuiverError('NOT_FOUND', `user ${String(id)} was not in the training data; only known users can be scored`, { user: String(id) });
    return i;
  }

  /** Dense index of an external item id; NOT_FOUND when it was not in the training data. */
  itemIndex(id: string | number): number {
    this.#itemIndex ??= indexOf(this.itemIds);
    const i = this.#itemIndex.get(String(id));
    if (i === undefined) throw new QuiverError('NOT_FOUND', `item ${String(id)} was not in the training data`, { item: String(id) });
    return i;
  }

  /** allow mask from include/exclude lists (null when both are absent); unknown ids are ignored. */
  allowMask(include?: readonly string[], exclude?: readonly string[]): Int32Array | null {
    if (!include && !exclude) return null;
    this.#itemIndex ??= indexOf(this.itemIds);
    const mask = new Int32Array(this.items).fill(include ? 0 : 1);
    for (const id of include ?? []) {
      const i = this.#itemIndex.get(String(id));
      if (i !== undefined) mask[i] = 1;
    }
    for (const id of exclude ?? []) {
      const i = this.#itemIndex.get(String(id));
      if (i !== undefined) mask[i] = 0;
    }
    return mask;
  }

  /** The scoring operands (see the module comment). */
  protected abstract operands(): ScoringOperands;

  /** Stages A, M and the seen matrix once; later calls reuse them until `release()`. */
  protected async staged(): Promise<{ a: StagedCsr; m: StagedCsr; seen: StagedCsr }> {
    if (this.#staged) return this.#staged;
    this.#staging ??= (async () => {
      const { a, m } = this.operands();
      const sa = await this.engine.stageCsr(a, 'scoring rows');
      const sm = a === m ? sa : await this.engine.stageCsr(m, 'scoring matrix');
      // Seen filtering reads only the structure: reuse A when it has the training matrix's structure.
      const seen = sameStructure(a, this.train) ? sa : await this.engine.stageCsr(this.train, 'training interactions');
      this.#staged = { a: sa, m: sm, seen };
      return this.#staged;
    })();
    try {
      return await this.#staging;
    } finally {
      this.#staging = null;
    }
  }

  /** Frees the operands staged in the engine's shared memory (they are staged again when needed). */
  release(): void {
    const s = this.#staged;
    this.#staged = null;
    if (!s) return;
    for (const x of new Set([s.a, s.m, s.seen])) x.release();
  }

  /** Sets `backfill` (checked: an unknown mode is INVALID_ARGUMENT); returns the model. */
  withBackfill(mode: BackfillMode): this {
    this.backfill = checkBackfill(mode);
    return this;
  }

  /**
   * Top-n items for users given by dense index: a span [row0, row1) (bulk runs: no copy of the users' rows) or
   * a list of indices. Returns row-major item indices (-1 padded) and scores; with back-fill, `backfilled`
   * counts each row's trailing back-filled items.
   */
  async recommendRows(users: { row0: number; row1: number } | Int32Array, opts: RowRecommendOptions): Promise<FilledTopK> {
    const mode = checkBackfill(opts.backfill ?? this.backfill);
    const res = await this.scoreRows(users, opts);
    if (mode === 'none') return res;
    this.#popular ??= popularityOrder(this.train);
    const userOf = users instanceof Int32Array ? (r: number) => users[r]! : (r: number) => users.row0 + r;
    return backfillRows(res, this.#popular, (opts.filterSeen ?? true) ? { train: this.train, userOf } : null, opts.allow ?? null);
  }

  /** The model's own top-n (recommendRows before any back-fill); models that score otherwise override it. */
  protected async scoreRows(users: { row0: number; row1: number } | Int32Array, opts: RowRecommendOptions): Promise<TopKResult> {
    const filterSeen = opts.filterSeen ?? true;
    const ops = await this.staged();
    if (users instanceof Int32Array) {
      for (const u of users) {
        if (!(u >= 0 && u < this.users)) throw new QuiverError('INVALID_ARGUMENT', `user index ${u} is outside [0, ${this.users})`);
      }
      const { a } = this.operands();
      const ga = gatherRows(a, users);
      const seen = filterSeen ? (sameStructure(a, this.train) ? ga : gatherRows(this.train, users)) : null;
      return this.engine.sparseScoreTopN(ga, ops.m, { n: opts.n, seen, allow: opts.allow ?? null, signal: opts.signal });
    }
    return this.engine.sparseScoreTopN(ops.a, ops.m, {
      n: opts.n,
      seen: filterSeen ? ops.seen : null,
      allow: opts.allow ?? null,
      rows: users,
      signal: opts.signal,
    });
  }

  /**
   * Recommendations for one user, a list of users, or every user (users omitted), best first. Unknown users are
   * NOT_FOUND; see the module comment for include/exclude and short lists.
   */
  async recommend(users: string | number | readonly (string | number)[] | undefined, opts: RecommendOptions): Promise<UserRecommendations[]> {
    const list = users === undefined ? null : Array.isArray(users) ? (users as readonly (string | number)[]) : [users as string | number];
    const allow = this.allowMask(opts.include, opts.exclude);
    const res = list
      ? await this.recommendRows(Int32Array.from(list, (u) => this.userIndex(u)), { n: opts.n, filterSeen: opts.filterSeen, allow, backfill: opts.backfill, signal: opts.signal })
      : await this.recommendRows({ row0: 0, row1: this.users }, { n: opts.n, filterSeen: opts.filterSeen, allow, backfill: opts.backfill, signal: opts.signal });
    const out: UserRecommendations[] = [];
    for (let r = 0; r < res.rows; r++) {
      const user = list ? String(list[r]) : this.userIds[r]!;
      out.push({ user, items: this.scoredItems(res, r) });
    }
    return out;
  }

  /**
   * Recommendations for an anonymous basket (a session, a cart): the basket is scored as one user who has
   * these items, each with value 1, against the model's item scoring matrix. Unknown item ids are NOT_FOUND;
   * with `filterSeen` (default) the basket's own items are left out. Item-based models only: user kNN needs a
   * known user.
   */
  async recommendForItems(items: readonly (string | number)[], opts: RecommendOptions): Promise<ScoredItem[]> {
    if (items.length === 0) throw new QuiverError('INVALID_ARGUMENT', 'the basket is empty; give at least one item');
    const idx = Int32Array.from(new Set(items.map((it) => this.itemIndex(it)))).sort();
    const basket: CsrMatrix = { rows: 1, cols: this.items, indptr: Int32Array.from([0, idx.length]), indices: idx, data: new Float32Array(idx.length).fill(1) };
    const allow = this.allowMask(opts.include, opts.exclude);
    let res: FilledTopK = await this.scoreBasket(basket, { n: opts.n, filterSeen: opts.filterSeen, allow, signal: opts.signal });
    if (checkBackfill(opts.backfill ?? this.backfill) === 'popular') {
      this.#popular ??= popularityOrder(this.train);
      const seen = (opts.filterSeen ?? true) ? { train: this.train, userOf: () => -1, basketSeen: new Set(idx) } : null;
      res = backfillRows(res, this.#popular, seen, allow);
    }
    return this.scoredItems(res, 0);
  }

  /** Scores a one-row basket (see recommendForItems); models whose operands are not item-based override it. */
  protected async scoreBasket(basket: CsrMatrix, opts: RowRecommendOptions): Promise<TopKResult> {
    const ops = await this.staged();
    return this.engine.sparseScoreTopN(basket, ops.m, { n: opts.n, seen: (opts.filterSeen ?? true) ? basket : null, allow: opts.allow ?? null, signal: opts.signal });
  }

  protected scoredItems(res: FilledTopK, r: number): ScoredItem[] {
    const items: ScoredItem[] = [];
    let got = 0;
    while (got < res.k && res.indices[r * res.k + got]! >= 0) got++;
    const firstFilled = got - (res.backfilled?.[r] ?? 0);
    for (let t = 0; t < got; t++) {
      const j = res.indices[r * res.k + t]!;
      const s: ScoredItem = { item: this.itemIds[j]!, score: res.scores[r * res.k + t]! };
      if (t >= firstFilled) s.source = 'popular';
      items.push(s);
    }
    return items;
  }

  /** The n items most similar to `item` under this model (see each model for what "similar" means). */
  abstract similarItems(item: string | number, n: number): Promise<ScoredItem[]>;

  summary(): RecommenderSummary {
    return { kind: this.kind, users: this.users, items: this.items, feedback: this.feedback };
  }

  /** Model-specific parameters and arrays, besides ids and training interactions. */
  protected abstract bundleParts(): { params: Record<string, unknown>; arrays: ModelBundle['arrays'] };

  toBundle(): ModelBundle {
    const parts = this.bundleParts();
    const t = this.train;
    return {
      kind: this.kind,
      // backfill is written only when on, so bundles of models without it read as they always did.
      params: { ...parts.params, ...(this.backfill === 'none' ? {} : { backfill: this.backfill }), feedback: this.feedback, userIds: this.userIds, itemIds: this.itemIds },
      arrays: {
        ...parts.arrays,
        trainIndptr: { data: t.indptr, shape: [t.indptr.length] },
        trainIndices: { data: t.indices.subarray(0, nnz(t)), shape: [nnz(t)] },
        trainData: { data: t.data.subarray(0, nnz(t)), shape: [nnz(t)] },
      },
      encoder: null,
    };
  }

  /** Writes `path` (the JSON manifest) and the arrays beside it (`model.json` → `model.bin`), atomically. */
  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }
}

function sameStructure(a: CsrMatrix, b: CsrMatrix): boolean {
  return a.indptr === b.indptr && a.indices === b.indices;
}

function indexOf(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (let i = 0; i < ids.length; i++) m.set(ids[i]!, i);
  return m;
}

/** Reads the typed arrays and ids every recommender bundle has. */
export function stateFromBundle(b: ModelBundle, source: string): RecommenderState {
  const p = b.params;
  const userIds = p['userIds'];
  const itemIds = p['itemIds'];
  if (!Array.isArray(userIds) || !Array.isArray(itemIds)) throw new QuiverError('INVALID_ARGUMENT', `${source}: the manifest has no user or item ids`);
  const train = csrFromBundle(b, 'train', userIds.length, itemIds.length, source);
  const feedback = p['feedback'];
  if (feedback !== 'explicit' && feedback !== 'binary' && feedback !== 'counts') throw new QuiverError('INVALID_ARGUMENT', `${source}: unknown feedback ${String(feedback)}`);
  return { userIds: userIds.map(String), itemIds: itemIds.map(String), train, feedback };
}

/** A CSR matrix stored as `<name>Indptr`, `<name>Indices`, `<name>Data`, validated. */
export function csrFromBundle(b: ModelBundle, name: string, rows: number, cols: number, source: string): CsrMatrix {
  const indptr = b.arrays[`${name}Indptr`]?.data;
  const indices = b.arrays[`${name}Indices`]?.data;
  const data = b.arrays[`${name}Data`]?.data;
  if (!(indptr instanceof Int32Array) || !(indices instanceof Int32Array) || !(data instanceof Float32Array)) {
    throw new QuiverError('INVALID_ARGUMENT', `${source}: the model's ${name} arrays are missing or have the wrong type`);
  }
  if (indptr.length !== rows + 1 || indptr[rows] !== indices.length || indices.length !== data.length) {
    throw new QuiverError('INVALID_ARGUMENT', `${source}: the model's ${name} matrix does not match its ${rows} × ${cols} shape`);
  }
  return { rows, cols, indptr, indices, data };
}

export function csrToBundle(name: string, m: CsrMatrix): ModelBundle['arrays'] {
  const n = nnz(m);
  return {
    [`${name}Indptr`]: { data: m.indptr, shape: [m.indptr.length] },
    [`${name}Indices`]: { data: m.indices.subarray(0, n), shape: [n] },
    [`${name}Data`]: { data: m.data.subarray(0, n), shape: [n] },
  };
}

export { readBundle };
