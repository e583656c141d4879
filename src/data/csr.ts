/**
 * Compressed sparse row (CSR) helpers for ratings and interaction matrices: validation, transpose, row
 * gathers and slices, per-row and per-column statistics. Everything runs on the calling thread in O(nnz);
 * the heavy products live in the engine's sparse kernels.
 */
import { QuiverError } from '../errors.js';
import type { CsrMatrix } from '../types.js';

/** Checks the structure of a CSR matrix (monotone indptr, indices in range, finite values). */
export function checkCsr(m: CsrMatrix, name = 'matrix'): CsrMatrix {
  const { rows, cols, indptr, indices, data } = m;
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(cols) || cols < 0) {
    throw new QuiverError('INVALID_ARGUMENT', `${name}: rows and cols must be whole numbers ≥ 0 (got ${rows} × ${cols})`);
  }
  if (!(indptr instanceof Int32Array) || !(indices instanceof Int32Array) || !(data instanceof Float32Array)) {
    throw new QuiverError('INVALID_ARGUMENT', `${name}: indptr and indices must be Int32Array and data Float32Array`);
  }
  if (indptr.length !== rows + 1) {
    throw new QuiverError('SHAPE_MISMATCH', `${name}: indptr has ${indptr.length} entries; expected rows + 1 = ${rows + 1}`);
  }
  const nnz = indptr[rows]!;
  if (indptr[0] !== 0 || indices.length < nnz || data.length < nnz) {
    throw new QuiverError('SHAPE_MISMATCH', `${name}: indptr must start at 0 and end at most at indices.length = ${indices.length} (ends at ${nnz})`);
  }
  for (let r = 0; r < rows; r++) {
    const a = indptr[r]!;
    const b = indptr[r + 1]!;
    if (b < a) throw new QuiverError('INVALID_ARGUMENT', `${name}: indptr decreases at row ${r} (${a} → ${b})`, { row: r });
    for (let p = a; p < b; p++) {
      const j = indices[p]!;
      if (j < 0 || j >= cols) throw new QuiverError('INVALID_ARGUMENT', `${name}: column index ${j} in row ${r} is outside [0, ${cols})`, { row: r });
      if (!Number.isFinite(data[p]!)) throw new QuiverError('NON_FINITE', `${name}: the value at row ${r}, column ${j} is not finite`, { row: r, col: j });
    }
  }
  return m;
}

export function nnz(m: CsrMatrix): number {
  return m.indptr[m.rows]!;
}

/** The transpose (cols × rows), rows of the result sorted by column index of the input (stable). */
export function transposeCsr(m: CsrMatrix): CsrMatrix {
  const n = nnz(m);
  const indptr = new Int32Array(m.cols + 1);
  for (let p = 0; p < n; p++) indptr[m.indices[p]! + 1]!++;
  for (let j = 0; j < m.cols; j++) indptr[j + 1]! += indptr[j]!;
  const next = indptr.slice(0, m.cols);
  const indices = new Int32Array(n);
  const data = new Float32Array(n);
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r]!, e = m.indptr[r + 1]!; p < e; p++) {
      const j = m.indices[p]!;
      const q = next[j]!++;
      indices[q] = r;
      data[q] = m.data[p]!;
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, data };
}

/** Rows `rows` of m, in that order, as a new matrix (rows may repeat). */
export function gatherRows(m: CsrMatrix, rows: ArrayLike<number>): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    indptr[i + 1] = indptr[i]! + (m.indptr[r + 1]! - m.indptr[r]!);
  }
  const total = indptr[rows.length]!;
  const indices = new Int32Array(total);
  const data = new Float32Array(total);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    const a = m.indptr[r]!;
    const b = m.indptr[r + 1]!;
    indices.set(m.indices.subarray(a, b), indptr[i]!);
    data.set(m.data.subarray(a, b), indptr[i]!);
  }
  return { rows: rows.length, cols: m.cols, indptr, indices, data };
}

/** The same structure with other values (one per stored entry). */
export function withValues(m: CsrMatrix, data: Float32Array): CsrMatrix {
  if (data.length < nnz(m)) throw new QuiverError('SHAPE_MISMATCH', `withValues: ${data.length} values for ${nnz(m)} entries`);
  return { rows: m.rows, cols: m.cols, indptr: m.indptr, indices: m.indices, data };
}

/** Every stored value replaced by 1 (binary implicit feedback). */
export function binarize(m: CsrMatrix): CsrMatrix {
  return withValues(m, new Float32Array(nnz(m)).fill(1));
}

/** Mean of the stored values of each row (0 for an empty row), in f64. */
export function rowMeans(m: CsrMatrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    const a = m.indptr[r]!;
    const b = m.indptr[r + 1]!;
    let s = 0;
    for (let p = a; p < b; p++) s += m.data[p]!;
    out[r] = b > a ? s / (b - a) : 0;
  }
  return out;
}

/** Mean of the stored values of each column (0 for an empty column), in f64. */
export function colMeans(m: CsrMatrix): Float64Array {
  const sum = new Float64Array(m.cols);
  const cnt = new Float64Array(m.cols);
  const n = nnz(m);
  for (let p = 0; p < n; p++) {
    const j = m.indices[p]!;
    sum[j]! += m.data[p]!;
    cnt[j]!++;
  }
  for (let j = 0; j < m.cols; j++) sum[j] = cnt[j]! > 0 ? sum[j]! / cnt[j]! : 0;
  return sum;
}

/** Stored entries per column. */
export function colCounts(m: CsrMatrix): Int32Array {
  const out = new Int32Array(m.cols);
  const n = nnz(m);
  for (let p = 0; p < n; p++) out[m.indices[p]!]!++;
  return out;
}

/** Euclidean norm of each row's stored values (sum of squares in f64), stored as f32. */
export function rowNorms(m: CsrMatrix): Float32Array {
  const out = new Float32Array(m.rows);
  for (let r = 0; r < m.rows; r++) {
    let s = 0;
    for (let p = m.indptr[r]!, e = m.indptr[r + 1]!; p < e; p++) s += m.data[p]! * m.data[p]!;
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Values centred by a per-row mean (row r's entries minus means[r]); the structure is shared. */
export function centerRows(m: CsrMatrix, means: Float64Array): CsrMatrix {
  const data = new Float32Array(nnz(m));
  for (let r = 0; r < m.rows; r++) {
    const mu = means[r]!;
    for (let p = m.indptr[r]!, e = m.indptr[r + 1]!; p < e; p++) data[p] = m.data[p]! - mu;
  }
  return withValues(m, data);
}

/** Values centred by a per-column mean (entry (r, j) minus means[j]); the structure is shared. */
export function centerCols(m: CsrMatrix, means: Float64Array): CsrMatrix {
  const n = nnz(m);
  const data = new Float32Array(n);
  for (let p = 0; p < n; p++) data[p] = m.data[p]! - means[m.indices[p]!]!;
  return withValues(m, data);
}

/**
 * Top-k lists (row-major, -1 for empty slots) as a CSR matrix, keeping only entries with score > minScore.
 * The order inside each row is the list order (best first).
 */
export function topkToCsr(indices: Int32Array, scores: Float32Array, rows: number, k: number, cols: number, minScore = 0): CsrMatrix {
  const indptr = new Int32Array(rows + 1);
  let n = 0;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < k; t++) {
      const j = indices[r * k + t]!;
      if (j >= 0 && scores[r * k + t]! > minScore) n++;
    }
    indptr[r + 1] = n;
  }
  const idx = new Int32Array(n);
  const val = new Float32Array(n);
  let q = 0;
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < k; t++) {
      const j = indices[r * k + t]!;
      const s = scores[r * k + t]!;
      if (j >= 0 && s > minScore) {
        idx[q] = j;
        val[q] = s;
        q++;
      }
    }
  }
  return { rows, cols, indptr, indices: idx, data: val };
}

/** Is column j stored in row r? Rows built by the ratings loader are sorted, so a binary search is exact. */
export function hasEntry(m: CsrMatrix, r: number, j: number): boolean {
  let lo = m.indptr[r]!;
  let hi = m.indptr[r + 1]! - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = m.indices[mid]!;
    if (v === j) return true;
    if (v < j) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
