// The backends a kernel suite runs against: every one that loads here, at every level, loaded directly (never
// through QUIVER_BACKEND), so one run of tests/backends covers them all.
import { loadAttempts } from '../../src/backends/index.js';
import { JsBackend } from '../../src/backends/js.js';
import { loadNativeBackend, nativeIsas } from '../../src/backends/native.js';
import { loadWasmBackend, wasmSimdSupported } from '../../src/backends/wasm.js';
import type { Backend } from '../../src/backends/types.js';

/** Which implementation a case runs: the tolerance table has one column per family. */
export type BackendFamily = 'native' | 'wasm' | 'js';

export interface BackendCase {
  /** e.g. `native/avx2`, `native/auto (avx512)`, `wasm/simd128`, `js`. */
  label: string;
  family: BackendFamily;
  backend: Backend;
}

let cases: Promise<BackendCase[]> | undefined;

/**
 * Native at 'auto' and at every level this CPU runs (avx512, avx2, scalar), the wasm SIMD build (where the
 * runtime validates SIMD) and the scalar build, and js. A native addon that does not load is left out, unless
 * QUIVER_REQUIRE_NATIVE=1 makes that a failure.
 */
export function backendCases(): Promise<BackendCase[]> {
  cases ??= loadCases();
  return cases;
}

async function loadCases(): Promise<BackendCase[]> {
  const out: BackendCase[] = [];
  let isas: string[] = [];
  try {
    isas = nativeIsas();
  } catch (err) {
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') {
      throw new Error(`QUIVER_REQUIRE_NATIVE=1 but the native backend did not load: ${String(err)} ${JSON.stringify(loadAttempts())}`);
    }
  }
  if (isas.length > 0) {
    const auto = await loadNativeBackend({ isa: 'auto' });
    out.push({ label: `native/auto (${auto.info.simd})`, family: 'native', backend: auto });
    for (const isa of isas) {
      out.push({ label: `native/${isa}`, family: 'native', backend: await loadNativeBackend({ isa: isa as 'avx512' | 'avx2' | 'scalar' }) });
    }
  }
  if (wasmSimdSupported()) out.push({ label: 'wasm/simd128', family: 'wasm', backend: await loadWasmBackend({ name: 'wasm', wasmBuild: 'simd' }) });
  out.push({ label: 'wasm/scalar', family: 'wasm', backend: await loadWasmBackend({ name: 'wasm', wasmBuild: 'scalar' }) });
  out.push({ label: 'js', family: 'js', backend: new JsBackend() });
  return out;
}

/** Every backend of `backendCases()`. */
export async function backendsUnderTest(): Promise<Backend[]> {
  return (await backendCases()).map((c) => c.backend);
}

/**
 * The js backend, for suites above the backends (tests/engine) that compare an engine result with one pass
 * of the kernels over all rows. The kernel suites in tests/backends never use it as an oracle.
 */
export const reference = new JsBackend();
