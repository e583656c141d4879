/**
 * File input and output for the model commands: a model input is a `.npy` matrix or a CSV table (by
 * extension: .csv, .tsv, .txt); predictions are written one value per input row, in input order, as a
 * float32 `.npy` or as a CSV with the single header `prediction`.
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

/** Writes predictions: float32 .npy (shape [n]) or CSV with the header `prediction` (9 significant digits, exact for f32). */
export async function writePredictions(path: string, values: ArrayLike<number>): Promise<void> {
  const ext = checkOutputPath(path, '--out', ['.npy', '.csv']);
  if (ext === '.npy') {
    await writeNpy(path, Float32Array.from(values), [values.length]);
    return;
  }
  const text = Array.from(values, (v) => Number(v.toPrecision(9)));
  await writeCsv(path, ['prediction'], [text]);
}
