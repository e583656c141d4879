/**
 * File input and output for the model commands: a model input is a `.npy` matrix or a CSV table (by
 * extension: .csv, .tsv, .txt); predictions are written one value per input row, in input order, as a
 * `.npy` (float64 by default, float32 on request) or as a CSV with the single header `prediction` (17 significant
 * digits for float64, which read back to the same double; 9 for float32, which read back to the same float).
 */
import { extname } from 'node:path';
import { readCsv, writeCsv, type CsvTable } from '../data/csv.js';
import { readNpyMatrix, writeNpy } from '../data/npy.js';
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';

const CSV_EXTENSIONS = new Set(['.csv', '.tsv', '.txt']);

export async function readModelInput(path: string, opts: { delimiter?: string } = {}): Promise<Matrix | CsvTable> {
  const ext = extname(path).toLowerCase();
  if (ext === '.npy') return readNpyMatrix(path);
  if (CSV_EXTENSIONS.has(ext)) return readCsv(path, { delimiter: opts.delimiter });
  throw new QuiverError('INVALID_ARGUMENT', `${path}: the input must be a .npy matrix or a CSV table (.csv, .tsv or .txt)`, { path });
}

export function checkOutputPath(path: string, what: string, allowed: readonly string[]): string {
  const ext = extname(path).toLowerCase();
  if (!allowed.includes(ext)) throw new QuiverError('INVALID_ARGUMENT', `${what} must end in ${allowed.join(' or ')} (got ${path})`, { path });
  return ext;
}

export type OutputDtype = 'float64' | 'float32';

/**
 * Writes predictions, one per row: `.npy` of shape [n] (`<f8`, or `<f4` with dtype float32) or CSV with the header
 * `prediction`. Whole numbers (cluster indices) are written as they are.
 */
export async function writePredictions(path: string, values: ArrayLike<number>, dtype: OutputDtype = 'float64'): Promise<void> {
  const ext = checkOutputPath(path, '--out', ['.npy', '.csv']);
  if (dtype !== 'float64' && dtype !== 'float32') throw new QuiverError('INVALID_ARGUMENT', `dtype must be float64 or float32 (got ${String(dtype)})`);
  if (ext === '.npy') {
    await writeNpy(path, dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), [values.length]);
    return;
  }
  const digits = dtype === 'float32' ? 9 : 17;
  const text = Array.from(values, (v) => (Number.isInteger(v) ? v : Number((dtype === 'float32' ? Math.fround(v) : v).toPrecision(digits))));
  await writeCsv(path, ['prediction'], [text]);
}
