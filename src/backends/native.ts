import { QuiverError } from '../errors.js';
import type { Backend } from './types.js';

export async function loadNativeBackend(): Promise<Backend> {
  throw new QuiverError('BACKEND_UNAVAILABLE', 'the native backend is not built yet');
}
