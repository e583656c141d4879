import { QuiverError } from '../errors.js';
import type { Backend } from './types.js';

export interface NativeOptions {
  /** 'auto' picks the best instruction set of this CPU once; 'scalar' forces the scalar twins (tests). */
  isa?: 'auto' | 'scalar';
}

export async function loadNativeBackend(_opts: NativeOptions = {}): Promise<Backend> {
  throw new QuiverError('BACKEND_UNAVAILABLE', 'the native backend is not built yet');
}
