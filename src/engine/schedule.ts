/**
 * Scheduling: where a call's tasks run (inline on the calling thread when the call is small, else on the
 * pool), how rows are cut into tiles and reduction blocks, and the scope of shared regions each call runs in.
 * The kernel families (`ops/<family>.ts`) plan their tasks with it; it knows no family.
 *
 * Determinism: row tiles only ever split independent outputs (a query's top-k, a row of similarities, a
 * row's label). Reductions (KMeans sums, Gram) are cut into blocks whose size depends on the input's
 * shape alone; each block writes its own partial, and partials are summed in block order (`merge.ts`). So
 * neither the thread count nor the tile size changes a result.
 */
import type { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import { Pool } from '../pool/pool.js';
import { Scope, type CopyStats } from './scope.js';

export interface CallOptions {
  signal?: AbortSignal;
}

/**
 * A named worker-side handler: the pool's workers find it by `name` in the registry (`handlers.ts`), and a
 * call small enough to run inline calls the very same `run`, so a result cannot depend on where a tile ran.
 */
export interface TaskKind<T, R> {
  readonly name: string;
  readonly run: (b: Backend, task: T) => R;
}

/** Rows [row0, row1) of a row-major matrix. */
export interface RowRange {
  row0: number;
  row1: number;
}

/** Reductions: rows are split in fixed blocks of `blockRows`; block b writes partial slot b. */
export interface BlockRange {
  block0: number;
  block1: number;
  blockRows: number;
  rows: number;
}

/** The module every worker loads its handlers from (its compiled twin when this runs from TypeScript). */
const HANDLERS = fileURLToPath(new URL('./handlers.js', import.meta.url));

const MAX_REDUCE_BLOCKS = 64;
const MIN_REDUCE_BLOCK_ROWS = 2048;

export interface SchedulerOptions {
  /** Rows per tile; undefined: chosen from the shape and the thread count. */
  tileRows: number | undefined;
  maxQueue: number | undefined;
  /** Work (multiply-adds) up to which a call runs inline. */
  inlineWork: number;
  /** Nice increment of the pool's threads (see PoolOptions). */
  niceIncrement?: number;
}

export class Scheduler {
  readonly tileRows: number | undefined;
  readonly inlineWork: number;
  readonly #maxQueue: number | undefined;
  readonly #nice: number | undefined;
  #pool: Pool | null = null;
  /** Jobs whose tasks must all hold a thread at once run one at a time (see `exclusive`). */
  #turn: Promise<void> = Promise.resolve();
  #closed = false;
  /** Input matrices copied into engine memory so far (see `Engine.inputCopies`). */
  readonly copies: CopyStats = { count: 0, bytes: 0 };

  constructor(
    readonly backend: Backend,
    readonly threads: number,
    opts: SchedulerOptions,
  ) {
    this.tileRows = opts.tileRows;
    this.#maxQueue = opts.maxQueue;
    this.#nice = opts.niceIncrement;
    this.inlineWork = opts.inlineWork;
  }

  /** Tasks waiting for a worker (for backpressure decisions). */
  get queueSize(): number {
    return this.#pool?.queueSize ?? 0;
  }

  /** Pool tasks running or queued. */
  get pending(): number {
    return this.#pool?.pending ?? 0;
  }

  get workerThreads(): readonly Worker[] {
    return this.#pool?.workerThreads ?? [];
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const p = this.#pool;
    this.#pool = null;
    if (p) await p.close();
  }

  /** Before a call's work starts: the engine must be open and the call not aborted. */
  checkOpen(signal?: AbortSignal): void {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    if (signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work started');
  }

  #getPool(): Pool {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    if (!this.#pool) {
      this.#pool = new Pool({ threads: this.threads, backend: this.backend.init, handlers: [HANDLERS], maxQueue: this.#maxQueue, niceIncrement: this.#nice });
    }
    return this.#pool;
  }

  /**
   * Runs `fn` with a scope of its own; every region the scope still holds is freed when it ends. With
   * `borrow`, the scope's `input` may read a caller's plain array in place (`Backend.borrow`): pass it only when
   * the call has no abort signal (`borrow: signal === undefined`), since Piscina settles an aborted task before its
   * thread has stopped reading, and `fn` must await every task it starts (as `dispatch` does, also on failure).
   */
  async job<T>(fn: (s: Scope) => Promise<T> | T, opts: { borrow?: boolean } = {}): Promise<T> {
    const s = new Scope(this.backend, this.copies, this.threads, opts.borrow === true);
    try {
      return await fn(s);
    } finally {
      s.release();
    }
  }

  /** Runs tasks inline when the whole call is small, else on the pool; results come back in task order. */
  async dispatch<T, R>(kind: TaskKind<T, R>, tasks: T[], work: number, signal?: AbortSignal): Promise<R[]> {
    this.checkOpen(signal);
    if (work <= this.inlineWork) return tasks.map((t) => kind.run(this.backend, t));
    const pool = this.#getPool();
    const runs = tasks.map((t) => pool.run<R>(kind.name, t, signal));
    try {
      return await Promise.all(runs);
    } catch (err) {
      // The job frees its regions when this rejects: the tasks still running (a worker claiming blocks from a
      // shared counter, say) must end first, or they would write into memory handed out again.
      await Promise.allSettled(runs);
      throw err;
    }
  }

  /** One task on the pool, whatever its size (the members of a job that must run on threads side by side). */
  runOnPool<T, R>(kind: TaskKind<T, R>, task: T, signal?: AbortSignal): Promise<R> {
    return this.#getPool().run<R>(kind.name, task, signal);
  }

  /**
   * Runs `fn` when no other exclusive job runs: a job whose tasks wait for each other (a barrier) needs all of
   * them on a thread at once, which two such jobs sharing the pool could not both have.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const previous = this.#turn;
    let done!: () => void;
    this.#turn = new Promise((resolve) => (done = resolve));
    await previous;
    try {
      return await fn();
    } finally {
      done();
    }
  }

  /** Row tiles: [row0, row1) ranges covering `rows`, at least `minRows` each unless the engine fixed a size. */
  rowTiles(rows: number, minRows = 1): RowRange[] {
    return this.rowTilesOf(rows, this.tileRows ?? Math.max(minRows, Math.ceil(rows / (this.threads * 4))));
  }

  /** Tiles of `size` rows covering `rows`. */
  rowTilesOf(rows: number, size: number): RowRange[] {
    const out: RowRange[] = [];
    for (let r = 0; r < rows; r += size) out.push({ row0: r, row1: Math.min(rows, r + size) });
    return out;
  }

  /** Reduction blocks depend on the shape only; tasks group whole blocks. */
  reduceBlocks(rows: number): { blockRows: number; nBlocks: number; groups: { block0: number; block1: number }[] } {
    const blockRows = Math.max(MIN_REDUCE_BLOCK_ROWS, Math.ceil(rows / MAX_REDUCE_BLOCKS / 256) * 256);
    const nBlocks = Math.ceil(rows / blockRows);
    const per = this.tileRows ? Math.max(1, Math.round(this.tileRows / blockRows)) : Math.max(1, Math.ceil(nBlocks / this.threads));
    const groups: { block0: number; block1: number }[] = [];
    for (let b = 0; b < nBlocks; b += per) groups.push({ block0: b, block1: Math.min(nBlocks, b + per) });
    return { blockRows, nBlocks, groups };
  }
}
