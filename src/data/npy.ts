/**
 * A small .npy reader and writer (format versions 1.0–3.0): float32, float64 (read as float32) and int32,
 * little-endian, C order, 1-D or 2-D. Anything else is a clear INVALID_ARGUMENT saying what to convert.
 */
import { readFile } from 'node:fs/promises';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { writeFileAtomic } from './atomic.js';
import { type IntoOption, newMatrix } from './matrix.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyArray =
  | { dtype: 'f32'; shape: number[]; data: Float32Array }
  | { dtype: 'i32'; shape: number[]; data: Int32Array };

function bad(msg: string, source: string): QuiverError {
  return new QuiverError('INVALID_ARGUMENT', `${source}: ${msg}`, { source });
}

interface NpyLayout {
  descr: '<f4' | '<f8' | '<i4' | '|i4';
  shape: number[];
  count: number;
  /** Byte offset of the values in the input. */
  dataStart: number;
}

/** The header of .npy bytes, checked against the bytes that follow it. */
function npyLayout(bytes: Uint8Array, source: string): NpyLayout {
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('not a .npy file (the magic string \\x93NUMPY is missing)', source);
  const major = bytes[6]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) {
    headerLen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated .npy header', source);
    headerLen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw bad(`unsupported .npy format version ${major}`, source);
  }
  if (start + headerLen > bytes.length) throw bad('truncated .npy header', source);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('malformed .npy header', source);
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported; save with np.ascontiguousarray(a)', source);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`bad shape (${shapeText})`, source);
  if (shape.length > 2) throw bad(`arrays of ${shape.length} dimensions are not supported (1-D or 2-D only)`, source);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  const itemSize = { '<f4': 4, '<f8': 8, '<i4': 4, '|i4': 4 }[descr];
  if (itemSize === undefined) {
    throw bad(`dtype ${descr} is not supported; use float32 ('<f4'), float64 ('<f8') or int32 ('<i4'), little-endian`, source);
  }
  const need = count * itemSize;
  if (bytes.length - dataStart < need) {
    throw bad(`truncated .npy data: ${bytes.length - dataStart} bytes for ${count} values of ${itemSize} bytes`, source);
  }
  return { descr: descr as NpyLayout['descr'], shape, count, dataStart };
}

/** Parses .npy bytes; float64 is narrowed to float32 (Quiver's storage type). */
export function parseNpy(bytes: Uint8Array, source = 'input'): NpyArray {
  const { descr, shape, count, dataStart } = npyLayout(bytes, source);
  const need = count * (descr === '<f8' ? 8 : 4);
  // Copy into a fresh, aligned buffer: the input's offset may not be a multiple of the element size.
  // (Not `bytes.slice`: on a Node Buffer that is a view of the shared pool, not a copy.)
  const body = new Uint8Array(need);
  body.set(bytes.subarray(dataStart, dataStart + need));
  if (descr === '<f4') return { dtype: 'f32', shape, data: new Float32Array(body.buffer, 0, count) };
  if (descr === '<f8') return { dtype: 'f32', shape, data: Float32Array.from(new Float64Array(body.buffer, 0, count)) };
  return { dtype: 'i32', shape, data: new Int32Array(body.buffer, 0, count) };
}

/**
 * A 2-D float matrix from .npy bytes (a 1-D array is one column). With `into`, the values are decoded
 * straight into a matrix allocated there (see `IntoOption`): one copy from the file's bytes, none after.
 */
export function npyToMatrix<M extends Matrix = Matrix>(bytes: Uint8Array, source = 'input', opts: IntoOption<M> = {}): M {
  if (!opts.into) {
    const a = parseNpy(bytes, source);
    if (a.dtype !== 'f32') throw bad('expected a float32 or float64 array, got int32', source);
    return { rows: a.shape[0] ?? 1, cols: a.shape.length === 2 ? a.shape[1]! : 1, data: a.data } as M;
  }
  const { descr, shape, count, dataStart } = npyLayout(bytes, source);
  if (descr !== '<f4' && descr !== '<f8') throw bad('expected a float32 or float64 array, got int32', source);
  const m = newMatrix(shape[0] ?? 1, shape.length === 2 ? shape[1]! : 1, opts.into);
  if (descr === '<f4') {
    new Uint8Array(m.data.buffer, m.data.byteOffset, count * 4).set(bytes.subarray(dataStart, dataStart + count * 4));
  } else {
    // Narrowed by TypedArray.set (f64 → f32 in one native loop); an unaligned body is realigned first.
    const at = bytes.byteOffset + dataStart;
    const src = at % 8 === 0 ? bytes : bytes.slice(dataStart, dataStart + count * 8);
    m.data.set(new Float64Array(src.buffer, src === bytes ? at : src.byteOffset, count));
  }
  return m;
}

export function encodeNpy(data: Float32Array | Int32Array | Float64Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : '<i4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Pad so the data starts on a 64-byte boundary, header ends with a newline (format 1.0).
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** A float matrix from a .npy file; `into` as for `npyToMatrix`. */
export async function readNpyMatrix<M extends Matrix = Matrix>(path: string, opts: IntoOption<M> = {}): Promise<M> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new QuiverError('NOT_FOUND', `cannot read ${path}: ${(err as Error).message}`, { path });
  }
  return npyToMatrix(bytes, path, opts);
}

export async function writeNpy(path: string, data: Float32Array | Int32Array | Float64Array, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
