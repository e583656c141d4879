// Engines made by a test file, closed after it.
import { afterAll } from 'vitest';
import { createEngine, type Quiver as Engine } from '../../src/quiver.js';

type EngineOptions = Parameters<typeof createEngine>[0];

/** A factory for engines (each call a new one, `defaults` under the call's options), all closed after the file. */
export function engineFactory(defaults: EngineOptions = {}): (opts?: EngineOptions) => Promise<Engine> {
  const engines: Engine[] = [];
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.close()));
  });
  return async (opts = {}) => {
    const e = await createEngine({ ...defaults, ...opts });
    engines.push(e);
    return e;
  };
}
