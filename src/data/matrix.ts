/** Building matrices from JavaScript values, and where the loaders put the matrices they read. */
import { QuiverError } from '../errors.js';
import type { Matrix, MatrixAllocator } from '../types.js';

/** The loaders' option for where a matrix goes. */
export interface IntoOption<M extends Matrix = Matrix> {
  /**
   * Allocate the matrix here (an engine: `{ into: engine }`) instead of in an ordinary Float32Array, so the
   * values are parsed straight into memory the engine's workers read in place: no copy between the parse and
   * the fit. The caller then owns the matrix (`release()` it when done).
   */
  into?: MatrixAllocator<M> | null;
}

/**
 * A rows × cols matrix from `into`, or an ordinary zero-filled one. Typed as `into`'s matrices (so that
 * `{ into: engine }` gives an AllocatedMatrix to release); without `into`, M is left at its default, Matrix.
 */
export function newMatrix<M extends Matrix = Matrix>(rows: number, cols: number, into?: MatrixAllocator<M> | null): M {
  if (!into) return { rows, cols, data: new Float32Array(rows * cols) } as M;
  const m = into.allocMatrix(rows, cols);
  if (m.rows !== rows || m.cols !== cols || m.data.length !== rows * cols) {
    throw new QuiverError('INTERNAL', `into.allocMatrix(${rows}, ${cols}) returned a ${m.rows} × ${m.cols} matrix of ${m.data.length} values`);
  }
  return m;
}

/** A matrix from an array of equal-length rows of numbers (JSON bodies, tests). */
export function matrixFromRows(rows: ArrayLike<ArrayLike<number>>, name = 'rows'): Matrix {
  const n = rows.length;
  if (n === 0) throw new QuiverError('INVALID_ARGUMENT', `${name} is empty; it needs at least one row`);
  const cols = rows[0]!.length;
  const data = new Float32Array(n * cols);
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r.length !== cols) {
      throw new QuiverError('SHAPE_MISMATCH', `${name}[${i}] has ${r.length} values but ${name}[0] has ${cols}; all rows need the same length`, {
        row: i,
        length: r.length,
        expected: cols,
      });
    }
    for (let j = 0; j < cols; j++) data[i * cols + j] = r[j]!;
  }
  return { rows: n, cols, data };
}

/** Rows of a matrix as plain arrays (JSON responses). */
export function matrixToRows(m: Matrix): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}
