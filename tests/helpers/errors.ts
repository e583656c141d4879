// Asserting that a call fails with a QuiverError of a given code (and message).
import { expect } from 'vitest';
import { QuiverError } from '../../src/errors.js';

/** Awaits `p` (or calls it) and expects a QuiverError with `code`, and a message matching `message` if given. */
export async function expectCode(p: Promise<unknown> | (() => unknown), code: string, message?: RegExp): Promise<QuiverError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(QuiverError);
    expect((e as QuiverError).code).toBe(code);
    if (message) expect((e as QuiverError).message).toMatch(message);
    return e as QuiverError;
  }
  throw new Error(`expected a QuiverError ${code}`);
}
