/**
 * Backpressure in front of the pool: at most `maxActive` compute requests run at once and at most
 * `maxQueued` wait; beyond that a request fails at once with OVERLOADED (HTTP 503 + Retry-After), so a
 * flood never grows an unbounded queue and the event loop stays free for /health.
 */
import { QuiverError } from '../errors.js';

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Admission {
  #active = 0;
  readonly #waiting: Waiter[] = [];

  constructor(
    readonly maxActive: number,
    readonly maxQueued: number,
  ) {}

  get active(): number {
    return this.#active;
  }
  get queued(): number {
    return this.#waiting.length;
  }

  /** Waits for a slot; returns the function that frees it (call it exactly once). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw new QuiverError('ABORTED', 'the request was aborted before its work started');
    if (this.#active < this.maxActive) {
      this.#active++;
      return this.#releaser();
    }
    if (this.#waiting.length >= this.maxQueued) {
      throw new QuiverError('OVERLOADED', `the server is busy (${this.#active} requests computing, ${this.#waiting.length} queued); retry shortly`, {
        retryAfterSeconds: 1,
      });
    }
    await new Promise<void>((resolve, reject) => {
      const entry: Waiter = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(new QuiverError('ABORTED', 'the request was aborted while it waited for a compute slot'));
        };
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#waiting.push(entry);
    });
    return this.#releaser();
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiting.shift();
      if (next) {
        // Hand the slot straight to the next waiter: #active stays the same.
        if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
        next.resolve();
      } else {
        this.#active--;
      }
    };
  }
}
