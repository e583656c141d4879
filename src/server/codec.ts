/**
 * Request and response bodies: JSON arrays of rows for small requests, `.npy` (one float matrix) and
 * Arrow IPC streams (a table of numeric columns) for large ones. Binary answers follow the Accept header.
 */
import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { npyToMatrix, encodeNpy } from '../data/npy.js';
import { type IntoOption, matrixFromRows, newMatrix } from '../data/matrix.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { isMatrix } from './json-body.js';

export const NPY = 'application/x-npy';
export const ARROW = 'application/vnd.apache.arrow.stream';
export const JSON_TYPE = 'application/json';

/** A binary request body, kept as bytes until a route says what it means. */
export interface BinaryBody {
  kind: 'npy' | 'arrow';
  bytes: Buffer;
}

export function isBinaryBody(b: unknown): b is BinaryBody {
  return typeof b === 'object' && b !== null && 'kind' in b && 'bytes' in b && Buffer.isBuffer((b as BinaryBody).bytes);
}

/**
 * A float matrix from a binary body; column names (Arrow) are returned too. With `into` (an engine) the values
 * are decoded straight into engine memory (see `IntoOption`); the caller then releases the matrix.
 */
export function matrixFromBinary<M extends Matrix = Matrix>(body: BinaryBody, opts: IntoOption<M> = {}): { matrix: M; columns?: string[] } {
  if (body.kind === 'npy') return { matrix: npyToMatrix(body.bytes, 'request body', opts) };
  let table: ReturnType<typeof tableFromIPC>;
  try {
    table = tableFromIPC(body.bytes);
  } catch (err) {
    throw new QuiverError('INVALID_ARGUMENT', `the request body is not an Arrow IPC stream: ${(err as Error).message}`);
  }
  const rows = table.numRows;
  const columns = table.schema.fields.map((f) => f.name);
  const cols = columns.length;
  if (rows === 0 || cols === 0) throw new QuiverError('INVALID_ARGUMENT', `the Arrow table is empty (${rows} rows × ${cols} columns)`);
  // Every column is checked before the matrix is allocated, so a refused body leaves nothing to release.
  for (let c = 0; c < cols; c++) {
    const col = table.getChildAt(c)!;
    const t = String(col.type);
    if (!/^(Float|Int|Uint)/.test(t)) {
      throw new QuiverError('INVALID_ARGUMENT', `Arrow column "${columns[c]}" has type ${t}; only numeric columns can form a matrix`);
    }
    if (col.nullCount > 0) throw new QuiverError('NON_FINITE', `Arrow column "${columns[c]}" has ${col.nullCount} nulls; fill or drop them`);
  }
  const matrix = newMatrix(rows, cols, opts.into);
  const data = matrix.data;
  for (let c = 0; c < cols; c++) {
    const values = table.getChildAt(c)!.toArray() as ArrayLike<number | bigint>;
    for (let r = 0; r < rows; r++) data[r * cols + c] = Number(values[r]!);
  }
  return { matrix, columns };
}

export function matrixFromJson(rows: unknown, name: string): Matrix {
  // A large body's matrices arrive packed by the JSON worker (json-body.ts), already checked.
  if (isMatrix(rows)) return rows;
  if (!Array.isArray(rows)) throw new QuiverError('INVALID_ARGUMENT', `${name} must be an array of rows`);
  return matrixFromRows(rows as number[][], name);
}

/** Which binary format the client accepts, if any (JSON otherwise). */
export function acceptedBinary(accept: string | undefined): 'npy' | 'arrow' | null {
  if (!accept) return null;
  if (accept.includes(NPY)) return 'npy';
  if (accept.includes(ARROW)) return 'arrow';
  return null;
}

export function encodeVector(kind: 'npy' | 'arrow', name: string, v: Float32Array | Int32Array): { type: string; body: Buffer } {
  if (kind === 'npy') return { type: NPY, body: Buffer.from(encodeNpy(v, [v.length]).buffer) };
  return encodeColumns({ [name]: v });
}

export function encodeMatrix(kind: 'npy' | 'arrow', m: Matrix, prefix = 'c'): { type: string; body: Buffer } {
  if (kind === 'npy') return { type: NPY, body: Buffer.from(encodeNpy(m.data, [m.rows, m.cols]).buffer) };
  const cols: Record<string, Float32Array> = {};
  for (let c = 0; c < m.cols; c++) {
    const col = new Float32Array(m.rows);
    for (let r = 0; r < m.rows; r++) col[r] = m.data[r * m.cols + c]!;
    cols[`${prefix}${c}`] = col;
  }
  return encodeColumns(cols);
}

export function encodeColumns(cols: Record<string, Float32Array | Int32Array>): { type: string; body: Buffer } {
  return { type: ARROW, body: Buffer.from(tableToIPC(tableFromArrays(cols), 'stream')) };
}
