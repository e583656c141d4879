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

/** Route config of the routes that compute: they take an admission slot before their body is read. */
export const COMPUTE = { compute: true } as const;

/** One request's compute slot: its abort signal (deadline or client gone) and the admission slot it holds. */
interface Slot {
  signal: AbortSignal;
  /** Frees the admission slot and the deadline timer; safe to call more than once. */
  done(): void;
}

const slots = new WeakMap<object, Promise<Slot>>();

/**
 * Takes an admission slot for a request and starts its deadline. The app calls this in a preParsing hook for
 * compute routes, so a request waits (or is refused with OVERLOADED) before its body is read: at most
 * maxActive bodies are in memory and being parsed at once, and a queued one costs a socket, not its body.
 */
export function admit(ctx: ServerContext, reply: FastifyReply): Promise<Slot> {
  let slot = slots.get(reply.raw);
  if (slot) return slot;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ctx.limits.requestTimeoutMs);
  let release: (() => void) | undefined;
  const done = () => {
    clearTimeout(timer);
    release?.();
    release = undefined;
    reply.raw.off('close', onClose);
  };
  const onClose = () => {
    // The answer was not sent in full: the client went away (or the server is closing it): stop the work.
    if (!reply.raw.writableEnded) ac.abort();
    done();
  };
  reply.raw.once('close', onClose);
  slot = ctx.admission.acquire(ac.signal).then(
    (r) => {
      release = r;
      if (ac.signal.aborted) done();
      return { signal: ac.signal, done };
    },
    (err: unknown) => {
      done();
      throw err;
    },
  );
  slots.set(reply.raw, slot);
  return slot;
}

/**
 * Runs compute for one request in its admission slot (taken here if the route did not take it before the
 * body was read), and turns an abort (deadline passed, client gone) into ABORTED.
 */
export async function compute<T>(ctx: ServerContext, reply: FastifyReply, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const slot = await admit(ctx, reply);
  try {
    if (slot.signal.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work started');
    return await fn(slot.signal);
  } catch (err) {
    if (slot.signal.aborted && !(err instanceof QuiverError && err.code !== 'ABORTED')) {
      throw new QuiverError('ABORTED', `the request was aborted (deadline ${ctx.limits.requestTimeoutMs} ms, or the client closed the connection)`, {
        deadlineMs: ctx.limits.requestTimeoutMs,
      });
    }
    throw err;
  } finally {
    // Free the slot as soon as the work is done: the answer's serialisation needs no compute slot.
    slot.done();
  }
}
