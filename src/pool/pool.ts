/**
 * The worker pool: Piscina with long-lived workers, each loading the selected backend once.
 * A thin class that validates its options with precise messages, then delegates to Piscina.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { BackendInit } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import type { TaskMap, TaskName, TaskResult } from './tasks.js';

export interface PoolOptions {
  threads: number;
  backend: BackendInit;
  /** Tasks allowed to wait beyond the running ones; more is OVERLOADED. Default: unbounded. */
  maxQueue?: number;
}

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

function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  // Under vitest this module runs from src/ (TypeScript), but worker threads need compiled JavaScript.
  const file = here.endsWith('.ts') ? join(dirname(here), '..', '..', 'dist', 'pool', 'worker.js') : join(dirname(here), 'worker.js');
  if (!existsSync(file)) {
    throw new QuiverError('BACKEND_UNAVAILABLE', `the pool's worker script ${file} is missing; run \`npm run build\``);
  }
  return file;
}

export class Pool {
  readonly threads: number;
  readonly #piscina: Piscina;
  #closed = false;

  constructor(opts: PoolOptions) {
    this.threads = validateThreads(opts.threads);
    if (opts.maxQueue !== undefined && (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0)) {
      throw new QuiverError('INVALID_ARGUMENT', `maxQueue must be a whole number ≥ 0 (got ${String(opts.maxQueue)})`);
    }
    this.#piscina = new Piscina({
      filename: workerFile(),
      minThreads: this.threads,
      maxThreads: this.threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      maxQueue: opts.maxQueue ?? Number.POSITIVE_INFINITY,
      workerData: { backend: opts.backend },
    });
    // A worker that fails to start surfaces through the task that needed it; keep the emitter quiet.
    this.#piscina.on('error', () => undefined);
  }

  get queueSize(): number {
    return this.#piscina.queueSize;
  }

  /** Runs a named task; worker-side errors come back as the same QuiverError (same code). */
  async run<N extends TaskName>(name: N, task: TaskMap[N][0], signal?: AbortSignal): Promise<TaskMap[N][1]> {
    if (this.#closed) throw new QuiverError('ABORTED', 'the engine was closed');
    let res: TaskResult<TaskMap[N][1]>;
    try {
      res = (await this.#piscina.run(task, { name, signal: signal ?? null })) as TaskResult<TaskMap[N][1]>;
    } catch (err) {
      throw poolError(err);
    }
    if (!res.ok) throw QuiverError.fromJSON(res.error);
    return res.value;
  }

  async ping(): Promise<{ backend: string; simd: string }> {
    return (await this.#piscina.run(null, { name: 'ping' })) as { backend: string; simd: string };
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
  return QuiverError.from(err);
}
