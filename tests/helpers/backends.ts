import { availableBackends, loadAttempts } from '../../src/backends/index.js';
import { JsBackend } from '../../src/backends/js.js';
import type { Backend } from '../../src/backends/types.js';

/** Every backend that loads here; with QUIVER_REQUIRE_NATIVE=1 a missing native backend is a failure. */
export async function backendsUnderTest(): Promise<Backend[]> {
  const list = await availableBackends();
  if (process.env['QUIVER_REQUIRE_NATIVE'] === '1' && !list.some((b) => b.info.name === 'native')) {
    throw new Error(`QUIVER_REQUIRE_NATIVE=1 but the native backend did not load: ${JSON.stringify(loadAttempts())}`);
  }
  return list;
}

export const reference = new JsBackend();
