/**
 * The worker pool: Piscina with long-lived workers, each loading the selected backend once, and a registry of
 * task handlers by name. The pool knows no task: its caller names the handler modules every worker loads
 * (each exporting `handlers`, a map name → (backend, task) → result) and runs tasks by name.
 * A thin class that validates its options with precise messages, then delegates to Piscina.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Backend, BackendInit } from '../backends/types.js';
import { QuiverError, type SerializedError } from '../errors.js';

export interface PoolOptions {
  threads: number;
  backend: BackendInit;
  /** Files of the modules whose `handlers` every worker registers (see `HandlerModule`). */
  handlers: readonly string[];
  /** Tasks allowed to wait beyond the running ones; more is OVERLOADED. Default: unbounded. */
  maxQueue?: number;
  /**
   * Added to each worker thread's nice value (0–19, Linux; Piscina applies it through @napi-rs/nice). A server
   * raises it so the event loop, which answers /health and reads bodies, wins the CPU from compute. Default 0.
   */
  niceIncrement?: number;
}

/** A worker-side handler: runs one task against the worker's backend. */
export type TaskHandler = (b: Backend, task: never) => unknown;

/** What a handler module exports. */
export interface HandlerModule {
  handlers: Readonly<Record<string, TaskHandler>>;
}

/** What a worker receives at start. */
export interface WorkerSetup {
  backend: BackendInit;
  /** file: URLs of the handler modules. */
  handlers: string[];
}

/** A task message, and its reply: errors never cross as exceptions (structured clone drops the class). */
export interface TaskMessage {
  name: string;
  task: unknown;
}
export type TaskResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

/** Worker threads from QUIVER_THREADS, else the machine's available parallelism. */
export function defaultThreads(): number {
  const raw = process.env['QUIVER_THREADS'];
  if (raw === undefined || raw === '') return availableParallelism();
  return validateThreads(Number(raw), 'QUIVER_THREADS');
}

export function validateThreads(n: number, what = 'threads'): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new QuiverError('INVALID_ARGUMENT', `${what} must be a whole number from 1 to 1024 (got ${String(n)})`);
  }
  return n;
}

/**
 * The JavaScript a worker thread can load for a module file. Under vitest this module runs from src/
 * (TypeScript), but worker threads need compiled JavaScript: src/<path>.ts (or .js) → dist/<path>.js, and
 * src/<path>.cjs (a .cts source) → dist/<path>.cjs.
 */
function compiled(file: string): string {
  const here = fileURLToPath(import.meta.url);
  let out = file;
  if (here.endsWith('.ts')) {
    const src = join(dirname(here), '..');
    const rel = relative(src, file);
    if (!rel.startsWith('..') && !isAbsolute(rel)) out = join(src, '..', 'dist', rel.replace(/\.ts$/, '.js'));
  }
  if (!existsSync(out)) {
    throw new QuiverError('BACKEND_UNAVAILABLE', `the pool's worker script ${out} is missing; run \`npm run build\``);
  }
  return out;
}

/**
 * The file Piscina loads in each worker: a CommonJS entry that imports worker.js (see worker-entry.cts for why it
 * is not worker.js itself). Exported for the test that terminates threads mid-load.
 */
export function workerEntry(): string {
  return compiled(join(dirname(fileURLToPath(import.meta.url)), 'worker-entry.cjs'));
}

export class Pool {
  readonly threads: number;
  readonly #piscina: Piscina;
  #closed = false;
  #pending = 0;

  constructor(opts: PoolOptions) {
    this.threads = validateThreads(opts.threads);
    if (opts.maxQueue !== undefined && (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0)) {
      throw new QuiverError('INVALID_ARGUMENT', `maxQueue must be a whole number ≥ 0 (got ${String(opts.maxQueue)})`);
    }
    const nice = opts.niceIncrement ?? 0;
    if (!Number.isInteger(nice) || nice < 0 || nice > 19) {
      throw new QuiverError('INVALID_ARGUMENT', `niceIncrement must be a whole number from 0 to 19 (got ${String(opts.niceIncrement)})`);
    }
    const setup: WorkerSetup = { backend: opts.backend, handlers: opts.handlers.map((f) => pathToFileURL(compiled(f)).href) };
    this.#piscina = new Piscina({
      filename: workerEntry(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      maxQueue: opts.maxQueue ?? Number.POSITIVE_INFINITY,
      workerData: setup,
      niceIncrement: nice,
    });
    // A worker that fails to start surfaces through the task that needed it; keep the emitter quiet.
    this.#piscina.on('error', () => undefined);
  }

  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  /** Tasks handed to Piscina and not finished (running or queued). */
  get pending(): number {
    return this.#pending;
  }

  /** The live worker threads (diagnostics and fault-injection tests: a test terminates one mid-task). */
  get workerThreads(): readonly Worker[] {
    return this.#piscina.threads;
  }

  /** Runs the task of handler `name`; worker-side errors come back as the same QuiverError (same code). */
  async run<R>(name: string, task: unknown, signal?: AbortSignal): Promise<R> {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    let res: TaskResult<R>;
    try {
      const msg: TaskMessage = { name, task };
      this.#pending++;
      res = (await this.#piscina.run(msg, { signal: signal ?? null })) as TaskResult<R>;
    } catch (err) {
      throw poolError(err);
    } finally {
      this.#pending--;
    }
    if (!res.ok) throw QuiverError.fromJSON(res.error);
    return res.value;
  }

  /** What a worker loaded (tests and diagnostics). */
  ping(): Promise<{ backend: string; simd: string }> {
    return this.run('ping', null);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#piscina.destroy();
  }
}

function poolError(err: unknown): QuiverError {
  if (err instanceof QuiverError) return err;
  const e = err as { name?: string; message?: string };
  if (e?.name === 'AbortError') return new QuiverError('ABORTED', 'the request was aborted before its work finished');
  if (e?.message === 'Task queue is at limit') {
    return new QuiverError('OVERLOADED', 'the compute queue is full; retry later', { retryAfterSeconds: 1 });
  }
  if (e?.message === 'Terminating worker thread') return new QuiverError('ABORTED', 'the engine was closed');
  // A worker thread that ended mid-task (a crash, out of memory, terminated): Piscina starts a replacement, so the
  // same work can be retried; the task itself is lost.
  const died = /^worker exited with code:? ?(-?\d+)/.exec(e?.message ?? '');
  if (died) {
    return new QuiverError('INTERNAL', `a compute worker stopped while running this task (exit code ${died[1]}); the pool has replaced it, so a retry can succeed`, {
      exitCode: Number(died[1]),
    });
  }
  return QuiverError.from(err);
}
