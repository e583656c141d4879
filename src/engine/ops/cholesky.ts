/**
 * The Cholesky family: solves G X = B (f64) for symmetric positive definite G (upper triangle read) in one
 * task; a non-positive pivot raises NOT_POSITIVE_DEFINITE with its index. Inputs are not modified.
 */
import type { Backend } from '../../backends/types.js';
import { QuiverError } from '../../errors.js';
import type { CallOptions, Scheduler, TaskKind } from '../schedule.js';
import type { F64 } from '../scope.js';
import { checkFinite, checkPositiveInt } from '../validate.js';

export interface CholeskyTask {
  g: F64;
  n: number;
  b: F64;
  nrhs: number;
}

export const choleskyTask: TaskKind<CholeskyTask, null> = {
  name: 'cholesky',
  run(b: Backend, t: CholeskyTask): null {
    b.choleskySolve(b.view(t.g), t.n, b.view(t.b), t.nrhs);
    return null;
  },
};

/** G is n × n, B is n × nrhs (row-major); returns X (n × nrhs). */
export async function choleskySolve(sched: Scheduler, g: Float64Array, n: number, b: Float64Array, nrhs: number, opts: CallOptions): Promise<Float64Array> {
  checkPositiveInt(n, 'n');
  checkPositiveInt(nrhs, 'nrhs');
  if (g.length !== n * n) throw new QuiverError('SHAPE_MISMATCH', `G has ${g.length} values; expected ${n} × ${n}`);
  if (b.length !== n * nrhs) throw new QuiverError('SHAPE_MISMATCH', `B has ${b.length} values; expected ${n} × ${nrhs}`);
  checkFinite(g, 'G', n);
  checkFinite(b, 'B', nrhs);
  return sched.job(async (s) => {
    const gr = s.copy('f64', g);
    const br = s.copy('f64', b);
    await sched.dispatch(choleskyTask, [{ g: gr, n, b: br, nrhs }], (n * n * n) / 3 + n * n * nrhs, opts.signal);
    return s.view(br).slice();
  });
}
