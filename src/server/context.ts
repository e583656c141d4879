/** What every route shares: the engine, the limits, backpressure, and the per-request deadline. */
import type { FastifyReply } from 'fastify';
import type { Quiver } from '../quiver.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import type { Admission } from './admission.js';

export interface Limits {
  /** JSON bodies (bytes). */
  jsonBodyBytes: number;
  /** Binary bodies: .npy and Arrow IPC (bytes). */
  binaryBodyBytes: number;
  /** rows × cols of one input matrix. */
  maxCells: number;
  /** Rows of one input matrix. */
  maxRows: number;
  /** Largest k for top-k and n for recommendations. */
  maxK: number;
  /** Cells of a dense all-pairs answer (rows of a × rows of b). */
  maxSimilarityCells: number;
  /** Compute deadline per request (ms); queued work of a request past it is aborted. */
  requestTimeoutMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  jsonBodyBytes: 16 * 1024 * 1024,
  binaryBodyBytes: 256 * 1024 * 1024,
  maxCells: 64 * 1024 * 1024,
  maxRows: 10_000_000,
  maxK: 1000,
  maxSimilarityCells: 16 * 1024 * 1024,
  requestTimeoutMs: 60_000,
};

export interface ServerContext {
  engine: Quiver;
  admission: Admission;
  limits: Limits;
  dataDir: string;
}

export function checkMatrixLimits(m: Matrix, name: string, limits: Limits): void {
  if (m.rows > limits.maxRows) {
    throw new QuiverError('TOO_LARGE', `${name} has ${m.rows} rows; the limit is ${limits.maxRows} (maxRows) — split the request`, {
      limit: 'maxRows',
      value: m.rows,
      max: limits.maxRows,
    });
  }
  if (m.rows * m.cols > limits.maxCells) {
    throw new QuiverError('TOO_LARGE', `${name} has ${m.rows * m.cols} cells; the limit is ${limits.maxCells} (maxCells) — split the request`, {
      limit: 'maxCells',
      value: m.rows * m.cols,
      max: limits.maxCells,
    });
  }
}

export function checkK(k: number, name: string, limits: Limits): void {
  if (k > limits.maxK) {
    throw new QuiverError('TOO_LARGE', `${name} = ${k} is over the limit of ${limits.maxK} (maxK)`, { limit: 'maxK', value: k, max: limits.maxK });
  }
}

/**
 * Runs compute for one request: waits for an admission slot (or fails with OVERLOADED), and aborts the
 * work when the deadline passes or the client goes away.
 */
export async function compute<T>(ctx: ServerContext, reply: FastifyReply, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ctx.limits.requestTimeoutMs);
  const onClose = () => {
    if (!reply.raw.writableEnded) ac.abort();
  };
  reply.raw.once('close', onClose);
  let release: (() => void) | undefined;
  try {
    release = await ctx.admission.acquire(ac.signal);
    return await fn(ac.signal);
  } catch (err) {
    if (ac.signal.aborted && !(err instanceof QuiverError && err.code !== 'ABORTED')) {
      throw new QuiverError('ABORTED', `the request was aborted (deadline ${ctx.limits.requestTimeoutMs} ms, or the client closed the connection)`);
    }
    throw err;
  } finally {
    release?.();
    clearTimeout(timer);
    reply.raw.off('close', onClose);
  }
}
