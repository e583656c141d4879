/** Building matrices from JavaScript values. */
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';

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
