// Backpressure: bounded running and waiting slots; a waiter whose request is aborted (deadline, or the client
// went away) leaves the queue at once and never runs.
import { describe, expect, it } from 'vitest';
import { QuiverError } from '../../src/errors.js';
import { Admission } from '../../src/server/admission.js';

describe('Admission', () => {
  it('runs maxActive at once, queues maxQueued, refuses the rest with OVERLOADED', async () => {
    const a = new Admission(1, 1);
    const r1 = await a.acquire();
    const waiting = a.acquire();
    await expect(a.acquire()).rejects.toMatchObject({ code: 'OVERLOADED', details: { retryAfterSeconds: 1 } });
    expect(a.queued).toBe(1);
    r1();
    const r2 = await waiting; // the slot passes straight to the waiter
    expect(a.active).toBe(1);
    r2();
    r2(); // releasing twice is harmless
    expect(a.active).toBe(0);
  });

  it('an aborted waiter leaves the queue with ABORTED and frees its place', async () => {
    const a = new Admission(1, 1);
    const r1 = await a.acquire();
    const ac = new AbortController();
    const waiting = a.acquire(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(QuiverError);
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    expect(a.queued).toBe(0);
    const next = a.acquire(); // the freed place can be used again
    r1();
    (await next)();
    expect(a.active).toBe(0);
    const gone = new AbortController();
    gone.abort();
    await expect(a.acquire(gone.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });
});
