import { availableBackends, loadAttempts } from '../../src/backends/index.js';
import { JsBackend } from '../../src/backends/js.js';
import { loadNativeBackend } from '../../src/backends/native.js';
import { loadWasmBackend } from '../../src/backends/wasm.js';
import type { Backend } from '../../src/backends/types.js';

/**
 * Every backend that loads here, plus the scalar twins (native forced to scalar, the wasm scalar build),
 * so every instruction-set path meets the same suite. With QUIVER_REQUIRE_NATIVE=1 a missing native
 * backend is a failure, not a skip.
 */
export async function backendsUnderTest(): Promise<Backend[]> {
  const list = await availableBackends();
  if (process.env['QUIVER_REQUIRE_NATIVE'] === '1' && !list.some((b) => b.info.name === 'native')) {
    throw new Error(`QUIVER_REQUIRE_NATIVE=1 but the native backend did not load: ${JSON.stringify(loadAttempts())}`);
  }
  const out = [...list];
  if (list.some((b) => b.info.name === 'native')) out.push(await loadNativeBackend({ isa: 'scalar' }));
  if (list.some((b) => b.info.name === 'wasm')) out.push(await loadWasmBackend({ name: 'wasm', wasmBuild: 'scalar' }));
  return out;
}

export const reference = new JsBackend();
