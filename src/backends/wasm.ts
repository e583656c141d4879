import { QuiverError } from '../errors.js';
import type { Backend, BackendInit } from './types.js';

export async function loadWasmBackend(_init?: BackendInit): Promise<Backend> {
  throw new QuiverError('BACKEND_UNAVAILABLE', 'the wasm backend is not built yet');
}
