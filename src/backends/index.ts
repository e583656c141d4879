/**
 * Backend selection, once per process: QUIVER_BACKEND=auto|native|wasm|js (auto: native if it loads and
 * passes its self-check, else wasm). A forced backend that cannot load is an error, never a silent fallback.
 * Every failed attempt is kept, so "why did it fall back" is always answerable (`loadAttempts`).
 */
import { QuiverError } from '../errors.js';
import type { BackendChoice, BackendName } from '../types.js';
import { JsBackend } from './js.js';
import type { Backend, BackendInit } from './types.js';

export interface LoadAttempt {
  backend: BackendName;
  ok: boolean;
  error?: string;
}

const attempts: LoadAttempt[] = [];
const cache = new Map<string, Promise<Backend>>();

export function loadAttempts(): readonly LoadAttempt[] {
  return attempts;
}

export function parseBackendChoice(raw: string | undefined): BackendChoice {
  const v = (raw ?? 'auto').trim().toLowerCase() || 'auto';
  if (v === 'auto' || v === 'native' || v === 'wasm' || v === 'js') return v;
  throw new QuiverError('INVALID_ARGUMENT', `the backend (QUIVER_BACKEND or --backend) must be auto, native, wasm or js (got "${raw}")`);
}

async function loadNamed(name: BackendName, init?: BackendInit): Promise<Backend> {
  try {
    let b: Backend;
    if (name === 'native') b = await (await import('./native.js')).loadNativeBackend({}, init);
    else if (name === 'wasm') b = await (await import('./wasm.js')).loadWasmBackend(init);
    else b = new JsBackend();
    if (name !== 'js') selfCheck(b);
    attempts.push({ backend: name, ok: true });
    return b;
  } catch (err) {
    const e = QuiverError.from(err);
    attempts.push({ backend: name, ok: false, error: e.message });
    throw new QuiverError('BACKEND_UNAVAILABLE', `the ${name} backend cannot load: ${e.message}`, {
      backend: name,
      cause: e.toJSON(),
    });
  }
}

/** Returns the process-wide backend for a choice (cached: each backend loads once per process). */
export function getBackend(choice: BackendChoice = parseBackendChoice(process.env['QUIVER_BACKEND'])): Promise<Backend> {
  let p = cache.get(choice);
  if (!p) {
    p = choice === 'auto' ? loadAuto() : loadNamed(choice);
    cache.set(choice, p);
    // A failed load must not poison the cache forever (the caller may fix the environment and retry).
    p.catch(() => cache.delete(choice));
  }
  return p;
}

async function loadAuto(): Promise<Backend> {
  try {
    return await getBackend('native');
  } catch (err) {
    if (process.env['QUIVER_REQUIRE_NATIVE'] === '1') throw err;
    return getBackend('wasm');
  }
}

/** Loads, in a worker, the backend that the main thread selected (the wasm one over the same shared memory). */
export function loadBackendFromInit(init: BackendInit): Promise<Backend> {
  return loadNamed(init.name, init);
}

/** Every name that loads here, in preference order (for parity tests and benchmarks). */
export async function availableBackends(): Promise<Backend[]> {
  const out: Backend[] = [];
  for (const name of ['native', 'wasm', 'js'] as const) {
    try {
      out.push(await getBackend(name));
    } catch {
      // Reported through loadAttempts().
    }
  }
  return out;
}

/** A tiny known computation, compared exactly (small integers): a backend that fails it is not used. */
function selfCheck(b: Backend): void {
  const a = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const out = new Float32Array(9);
  b.similarityTile({ a, aRows: 3, b: a, bRows: 3, cols: 3, out, ldOut: 3 });
  const want = [14, 32, 50, 32, 77, 122, 50, 122, 194];
  for (let i = 0; i < 9; i++) {
    if (out[i] !== want[i]) {
      throw new QuiverError('BACKEND_UNAVAILABLE', `self-check failed: similarityTile[${i}] = ${out[i]}, expected ${want[i]}`);
    }
  }
}
