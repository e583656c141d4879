/**
 * The shared store of a distributed bulk run: where exactly-once output comes from (the queue delivers at least
 * once). Everything here is a plain directory that every worker reaches (a shared filesystem in production).
 *
 *   STORE/runs/<run>.json           the run as submitted (a worker that cannot read it is not on the shared store)
 *   STORE/models/<sha256>/model.*   the fitted model, published once under the sha256 of its saved bundle
 *   OUT/part-NNNNN.<ext>            block NNNNN of users [N·B, min((N+1)·B, U)), a table on its own
 *   OUT/_blocks/part-NNNNN.json     what the writer of that part wrote: its users, rows, bytes and sha256, and
 *                                   its users left short, without any item, and back-filled (the manifest's sums)
 *   OUT/_manifest.json, OUT/_SUCCESS  written by the finaliser, _SUCCESS last
 *
 * Every file is written to a temporary name, fsynced and renamed (src/data/atomic.ts), so a reader never sees
 * half a part; a part's record is written after the part, so a block with a record is complete. A block's bytes
 * depend only on the model artifact, the options and the backend, so a retried or revived shard that writes a
 * block again can only put the same bytes in place.
 */
import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { countShortRows, type FilledTopK } from '../models/backfill.js';
import { blockRows, type BulkFormat, formatBlock, type ParquetRow, parquetBuffer, writeParquetRows } from '../models/bulk.js';
import { type AnyRecommender, loadRecommender } from '../models/recommenders.js';
import { writeBundle } from '../models/bundle.js';

export const PART_EXT: Readonly<Record<BulkFormat, string>> = { csv: 'csv', jsonl: 'jsonl', parquet: 'parquet' };
const CSV_HEADER = 'user,item,rank,score\n';
const CSV_HEADER_WITH_SOURCE = 'user,item,rank,score,source\n';

/** The csv header of a run's parts and merge: with back-fill, `source` is its last column (as in quiver recommend). */
export function csvHeader(withSource: boolean): string {
  return withSource ? CSV_HEADER_WITH_SOURCE : CSV_HEADER;
}

export function partName(block: number, format: BulkFormat): string {
  return `part-${String(block).padStart(5, '0')}.${PART_EXT[format]}`;
}

/** Users of a block with fewer than n items, with none at all, and with at least one back-filled item. */
export interface BlockCounts {
  usersShort: number;
  usersWithout: number;
  usersBackfilled: number;
}

/** What the writer of a part records beside it (OUT/_blocks/part-NNNNN.json). */
export interface BlockRecord extends BlockCounts {
  block: number;
  part: string;
  row0: number;
  row1: number;
  rows: number;
  bytes: number;
  sha256: string;
  model: string;
  backend: string;
}

function sha256(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/** Turns a filesystem failure into an error that says which path and what to fix. */
export function storeError(err: unknown, what: string, path: string): QuiverError {
  if (err instanceof QuiverError) return err;
  const e = err as NodeJS.ErrnoException;
  const denied = e.code === 'EACCES' || e.code === 'EPERM' || e.code === 'EROFS';
  if (denied || e.code === 'ENOTDIR') {
    // The same on every attempt: a bad argument (jobs fail at once instead of retrying).
    const why = denied ? 'is not writable' : 'is not a directory';
    return new QuiverError('INVALID_ARGUMENT', `${what} ${path} ${why}: give a directory that every worker can write (a shared filesystem)`, { path, errno: e.code });
  }
  // Anything else (a full disk, an I/O error, a stale NFS handle, a directory in a file's place) may pass:
  // jobs retry it up to their attempts.
  return new QuiverError('UNAVAILABLE', `${what} ${path}: writing failed (${e.code ?? e.message})`, { path, errno: e.code });
}

/** Creates DIR if needed and proves it writable with a probe file. */
export async function checkWritableDir(dir: string, what: string): Promise<void> {
  const probe = join(dir, `.quiver-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'probe');
    await rm(probe, { force: true });
  } catch (err) {
    throw storeError(err, what, dir);
  }
}

export function runRecordPath(store: string, run: string): string {
  return join(store, 'runs', `${run}.json`);
}

export async function writeRunRecord(store: string, run: string, spec: unknown): Promise<void> {
  const path = runRecordPath(store, run);
  try {
    await mkdir(join(store, 'runs'), { recursive: true });
    await writeFileAtomic(path, `${JSON.stringify(spec, null, 2)}\n`);
  } catch (err) {
    throw storeError(err, '--store', store);
  }
}

/** A worker that cannot see the submitter's run record is not on the same store (not shared, or another path). */
export async function checkRunRecord(store: string, run: string): Promise<void> {
  try {
    await access(runRecordPath(store, run));
  } catch {
    throw new QuiverError('NOT_FOUND', `this worker cannot read ${runRecordPath(store, run)}: the store ${store} is not shared with the machine that submitted run ${run}`, { store, run });
  }
}

/**
 * Saves the fitted model and publishes it under the sha256 of the saved bundle (manifest and arrays): the
 * same content gets the same name, and a name always means the same content.
 */
export async function publishModel(model: AnyRecommender, store: string): Promise<string> {
  const models = join(store, 'models');
  const tmp = join(models, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await mkdir(tmp, { recursive: true });
    await writeBundle(join(tmp, 'model.json'), model.toBundle());
    const hash = await bundleHash(tmp);
    const dest = join(models, hash);
    try {
      await rename(tmp, dest);
    } catch (err) {
      // Published before (a retried fit that came out the same): the content is the same by its name.
      if (!['EEXIST', 'ENOTEMPTY'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await rm(tmp, { recursive: true, force: true });
    }
    return hash;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw storeError(err, '--store', store);
  }
}

async function bundleHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) {
    h.update(`${name}\0`);
    h.update(await readFile(join(dir, name)));
  }
  return h.digest('hex');
}

/** Loads a published model, checking that its bytes still hash to its name. */
export async function loadPublishedModel(store: string, hash: string, engine: Engine): Promise<AnyRecommender> {
  const dir = join(store, 'models', hash);
  let got: string;
  try {
    got = await bundleHash(dir);
  } catch {
    throw new QuiverError('NOT_FOUND', `model ${hash} is not in the store ${store} (not shared with the fit's machine?)`, { store, model: hash });
  }
  if (got !== hash) throw new QuiverError('INVALID_ARGUMENT', `the model files in ${dir} changed after they were published (sha256 ${got}); submit the run again`, { model: hash });
  return loadRecommender(join(dir, 'model.json'), engine);
}

function recordPath(out: string, block: number): string {
  return join(out, '_blocks', `part-${String(block).padStart(5, '0')}.json`);
}

/** The record of a finished block, or null when the block still has to be written (for this model). */
export async function finishedBlock(out: string, block: number, model: string): Promise<BlockRecord | null> {
  try {
    const r = JSON.parse(await readFile(recordPath(out, block), 'utf8')) as BlockRecord;
    // A record left by a run with another model does not count: that block is written again.
    return r.block === block && r.model === model ? r : null;
  } catch {
    return null;
  }
}

/**
 * The record of a finished block with its counts. Records written before the counts existed lack them; a run
 * resumed over such blocks would sum them as 0, so `count` recomputes them (the same model gives the same
 * block) and the record is rewritten with them; the part itself is kept.
 */
export async function countedBlock(out: string, rec: BlockRecord, count: () => Promise<BlockCounts>): Promise<BlockRecord> {
  if (typeof rec.usersShort === 'number' && typeof rec.usersWithout === 'number' && typeof rec.usersBackfilled === 'number') return rec;
  const full: BlockRecord = { ...rec, ...(await count()) };
  try {
    await writeFileAtomic(recordPath(out, rec.block), `${JSON.stringify(full)}\n`);
  } catch (err) {
    throw storeError(err, '--out', recordPath(out, rec.block));
  }
  return full;
}

/** The counts of a computed block (after any back-fill). */
export function blockCounts(res: FilledTopK, n: number): BlockCounts {
  const { empty, backfilled } = countShortRows(res);
  let short = 0;
  for (let r = 0; r < res.rows; r++) {
    let got = 0;
    while (got < res.k && res.indices[r * res.k + got]! >= 0) got++;
    if (got < n) short++;
  }
  return { usersShort: short, usersWithout: empty, usersBackfilled: backfilled };
}

/**
 * The bytes of one part file; with `withSource` (a run with back-fill) the csv and parquet parts end with a
 * `source` column and jsonl lines carry `sources`, as `quiver recommend --backfill popular` writes them.
 */
export async function partBytes(
  format: BulkFormat,
  res: FilledTopK,
  ids: { readonly userIds: readonly string[]; readonly itemIds: readonly string[] },
  row0: number,
  withSource = false,
): Promise<{ data: Uint8Array; rows: number }> {
  if (format === 'parquet') {
    const rows = blockRows(res, ids.userIds, ids.itemIds, row0, withSource);
    return { data: await parquetBuffer(rows, withSource), rows: rows.length };
  }
  const b = formatBlock(format, res, ids.userIds, ids.itemIds, row0, withSource);
  return { data: Buffer.from((format === 'csv' ? csvHeader(withSource) : '') + b.text, 'utf8'), rows: b.rows };
}

/**
 * Writes a block's part, then its record (both atomically). A block that already has a record for this model is
 * left alone and its record returned: a worker that wakes up after losing its lock (SIGSTOP, a long pause), even
 * after the run's `_SUCCESS`, then renames nothing over a finished part. Only a writer that checked before the
 * other's record landed can still rename, and its bytes are the same (a block depends only on the model, the
 * options and the backend).
 */
export async function writeBlock(out: string, format: BulkFormat, rec: Omit<BlockRecord, 'part' | 'bytes' | 'sha256'>, data: Uint8Array): Promise<BlockRecord> {
  const part = partName(rec.block, format);
  const full: BlockRecord = { ...rec, part, bytes: data.length, sha256: sha256(data) };
  const existing = await finishedBlock(out, rec.block, rec.model);
  if (existing) return existing;
  try {
    await writeFileAtomic(join(out, part), data);
    await mkdir(join(out, '_blocks'), { recursive: true });
    await writeFileAtomic(recordPath(out, rec.block), `${JSON.stringify(full)}\n`);
  } catch (err) {
    throw storeError(err, '--out', join(out, part));
  }
  return full;
}

export interface CoverageInput {
  out: string;
  format: BulkFormat;
  users: number;
  blockUsers: number;
  model: string;
}

/**
 * The finaliser's check: blocks 0..K−1 each have a record for this model, their user ranges tile [0, U) with
 * no gap and no overlap, each part's bytes hash to what its writer recorded, and no other part file is there.
 */
export async function checkCoverage(c: CoverageInput): Promise<BlockRecord[]> {
  const blocks = Math.ceil(c.users / c.blockUsers);
  const records: BlockRecord[] = [];
  let next = 0;
  for (let b = 0; b < blocks; b++) {
    const r = await finishedBlock(c.out, b, c.model);
    if (!r) throw new QuiverError('INTERNAL', `coverage check: block ${b} (${partName(b, c.format)}) has no record for model ${c.model.slice(0, 12)}`, { block: b });
    const row1 = Math.min(c.users, (b + 1) * c.blockUsers);
    if (r.row0 !== next || r.row1 !== row1) throw new QuiverError('INTERNAL', `coverage check: block ${b} holds users [${r.row0}, ${r.row1}), expected [${next}, ${row1})`, { block: b });
    let data: Buffer;
    try {
      data = await readFile(join(c.out, r.part));
    } catch {
      throw new QuiverError('INTERNAL', `coverage check: ${r.part} is missing`, { block: b });
    }
    if (data.length !== r.bytes || sha256(data) !== r.sha256) throw new QuiverError('INTERNAL', `coverage check: ${r.part} does not match its record (size or sha256)`, { block: b });
    records.push(r);
    next = row1;
  }
  if (next !== c.users) throw new QuiverError('INTERNAL', `coverage check: the blocks end at user ${next} of ${c.users}`);
  const expected = new Set(records.map((r) => r.part));
  const stray = (await readdir(c.out)).filter((n) => /^part-\d+\./.test(n) && !expected.has(n));
  if (stray.length > 0) throw new QuiverError('INTERNAL', `coverage check: ${c.out} holds part files of no block of this run: ${stray.slice(0, 5).join(', ')}`, { stray });
  return records;
}

/** The counts of a run: the sums over its blocks (a record written before the counts were kept adds 0). */
export function sumCounts(records: readonly Partial<BlockCounts>[]): BlockCounts {
  const sum: BlockCounts = { usersShort: 0, usersWithout: 0, usersBackfilled: 0 };
  for (const r of records) {
    sum.usersShort += r.usersShort ?? 0;
    sum.usersWithout += r.usersWithout ?? 0;
    sum.usersBackfilled += r.usersBackfilled ?? 0;
  }
  return sum;
}

/** One file with every block in order: byte-identical to `quiver recommend --out FILE` with the same options. */
export async function mergeParts(out: string, format: BulkFormat, records: readonly BlockRecord[], file: string, withSource = false): Promise<void> {
  try {
    if (format === 'parquet') {
      const { parquetReadObjects } = await import('hyparquet');
      async function* rows(): AsyncGenerator<ParquetRow> {
        for (const r of records) {
          const buf = await readFile(join(out, r.part));
          const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
          const objs = (await parquetReadObjects({ file })) as { user: string; item: string; rank: number; score: number; source?: string }[];
          for (const o of objs) yield withSource ? [o.user, o.item, o.rank, o.score, o.source ?? 'model'] : [o.user, o.item, o.rank, o.score];
        }
      }
      await writeParquetRows(rows(), file, withSource);
      return;
    }
    const header = csvHeader(withSource);
    const chunks: Buffer[] = format === 'csv' ? [Buffer.from(header)] : [];
    for (const r of records) {
      const data = await readFile(join(out, r.part));
      chunks.push(format === 'csv' ? data.subarray(header.length) : data);
    }
    await writeFileAtomic(file, Buffer.concat(chunks));
  } catch (err) {
    throw storeError(err, '--merge', file);
  }
}

/**
 * Temporary part and record files that a killed writer left (writeFileAtomic names them `.NAME.<pid>.<hex>.tmp`):
 * hidden, so no reader lists them, but they would pile up.
 */
export async function removeStaleTemps(out: string): Promise<void> {
  for (const d of [out, join(out, '_blocks')]) {
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue;
    }
    for (const n of names) if (n.startsWith('.part-') && n.endsWith('.tmp')) await rm(join(d, n), { force: true });
  }
}

export async function writeManifestAndSuccess(out: string, manifest: unknown): Promise<void> {
  try {
    await writeFileAtomic(join(out, '_manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    // Last: its presence says every part and the manifest are durable.
    await writeFileAtomic(join(out, '_SUCCESS'), '');
  } catch (err) {
    throw storeError(err, '--out', out);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
