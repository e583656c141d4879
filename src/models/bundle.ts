/**
 * The on-disk form of a fitted model: a JSON manifest (`model.json`: kind, parameters, metrics, the table
 * encoder, and where each array lives) plus one binary file beside it (`model.bin`: the arrays, little-endian,
 * each starting on an 8-byte boundary). The binary file is written first and the manifest last, both
 * atomically, and the manifest carries the binary file's SHA-256, so a reader never pairs a manifest
 * with a half-written or foreign array file.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { TableEncoder, type TableSchema } from '../data/table.js';
import { QuiverError } from '../errors.js';

export const MODEL_FORMAT = 'quiver-model';
export const MODEL_FORMAT_VERSION = 1;

export type ArrayDtype = 'f32' | 'f64' | 'i32';
export type BundleArray = Float32Array | Float64Array | Int32Array;

export interface ModelBundle {
  kind: string;
  /** Plain JSON: hyper-parameters, scalars (intercept, inertia) and training metrics. */
  params: Record<string, unknown>;
  arrays: Record<string, { data: BundleArray; shape: number[] }>;
  encoder: TableSchema | null;
}

export interface ModelManifest {
  format: typeof MODEL_FORMAT;
  version: number;
  kind: string;
  params: Record<string, unknown>;
  encoder: TableSchema | null;
  data: { file: string; bytes: number; sha256: string };
  arrays: Record<string, { dtype: ArrayDtype; shape: number[]; offset: number; length: number }>;
}

/** `model.json` → `model.bin`; any other name gets `.bin` appended. */
export function dataPathFor(manifestPath: string): string {
  return manifestPath.endsWith('.json') ? `${manifestPath.slice(0, -5)}.bin` : `${manifestPath}.bin`;
}

function dtypeOf(a: BundleArray): ArrayDtype {
  return a instanceof Float32Array ? 'f32' : a instanceof Float64Array ? 'f64' : 'i32';
}

export async function writeBundle(path: string, bundle: ModelBundle): Promise<void> {
  const entries = Object.entries(bundle.arrays);
  let size = 0;
  const layout: ModelManifest['arrays'] = {};
  for (const [name, { data, shape }] of entries) {
    const count = shape.reduce((a, b) => a * b, 1);
    if (count !== data.length) throw new QuiverError('INTERNAL', `array ${name}: shape ${shape.join('×')} for ${data.length} values`);
    size = Math.ceil(size / 8) * 8;
    layout[name] = { dtype: dtypeOf(data), shape, offset: size, length: data.length };
    size += data.byteLength;
  }
  const bytes = new Uint8Array(size);
  for (const [name, { data }] of entries) bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), layout[name]!.offset);
  const dataPath = dataPathFor(path);
  const manifest: ModelManifest = {
    format: MODEL_FORMAT,
    version: MODEL_FORMAT_VERSION,
    kind: bundle.kind,
    params: bundle.params,
    encoder: bundle.encoder,
    data: { file: basename(dataPath), bytes: size, sha256: createHash('sha256').update(bytes).digest('hex') },
    arrays: layout,
  };
  await writeFileAtomic(dataPath, bytes);
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readManifest(path: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new QuiverError('NOT_FOUND', `cannot read the model ${path}: ${(err as Error).message}`, { path });
  }
  let m: Partial<ModelManifest>;
  try {
    m = JSON.parse(text) as Partial<ModelManifest>;
  } catch {
    throw new QuiverError('INVALID_ARGUMENT', `${path} is not JSON; pass the model's .json manifest written by save()`, { path });
  }
  if (m?.format !== MODEL_FORMAT) throw new QuiverError('INVALID_ARGUMENT', `${path} is not a Quiver model manifest (format "${String(m?.format)}")`, { path });
  if (m.version !== MODEL_FORMAT_VERSION) {
    throw new QuiverError('INVALID_ARGUMENT', `${path} has model format version ${String(m.version)}; this Quiver reads version ${MODEL_FORMAT_VERSION}`, { path });
  }
  if (typeof m.kind !== 'string' || typeof m.data?.file !== 'string' || typeof m.arrays !== 'object' || m.arrays === null) {
    throw new QuiverError('INVALID_ARGUMENT', `${path}: the manifest is missing kind, data or arrays`, { path });
  }
  return m as ModelManifest;
}

export async function readBundle(path: string): Promise<ModelBundle> {
  const m = await readManifest(path);
  const dataPath = join(dirname(path), m.data.file);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(dataPath);
  } catch (err) {
    throw new QuiverError('NOT_FOUND', `cannot read the model's arrays ${dataPath}: ${(err as Error).message}`, { path: dataPath });
  }
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length !== m.data.bytes || sha !== m.data.sha256) {
    throw new QuiverError('INVALID_ARGUMENT', `${dataPath} does not belong to ${path} (size or checksum differ); save the model again`, { path });
  }
  const arrays: ModelBundle['arrays'] = {};
  for (const [name, a] of Object.entries(m.arrays)) {
    const width = a.dtype === 'f64' ? 8 : 4;
    const end = a.offset + a.length * width;
    if (!Number.isInteger(a.offset) || a.offset < 0 || end > bytes.length) throw new QuiverError('INVALID_ARGUMENT', `${path}: array ${name} lies outside ${dataPath}`);
    // Copy into a fresh buffer of its own (Buffer#slice would share Node's pooled buffer, which also
    // need not be aligned for the element size).
    const body = Uint8Array.prototype.slice.call(bytes, a.offset, end).buffer;
    const data = a.dtype === 'f32' ? new Float32Array(body) : a.dtype === 'f64' ? new Float64Array(body) : new Int32Array(body);
    arrays[name] = { data, shape: a.shape };
  }
  return { kind: m.kind, params: m.params ?? {}, arrays, encoder: m.encoder ?? null };
}

/** Reads a bundle written by a model's `save` and checks that it holds that model's kind (each class's `load`). */
export async function readBundleOf(path: string, kind: string): Promise<ModelBundle> {
  const b = await readBundle(path);
  if (b.kind !== kind) throw new QuiverError('INVALID_ARGUMENT', `${path} holds a "${b.kind}" model, not a ${kind} one; load it with loadModel`, { kind: b.kind });
  return b;
}

/** The feature names and the table encoder a bundle saved (either may be absent). */
export function bundleColumns(b: ModelBundle, source: string): { featureNames: string[] | null; encoder: TableEncoder | null } {
  const names = b.params['featureNames'];
  return { featureNames: Array.isArray(names) ? (names as string[]) : null, encoder: b.encoder ? TableEncoder.fromJSON(b.encoder, source) : null };
}
