/**
 * The nightly bulk run: recommend n items for every user of a span (all users, or one shard), streaming users
 * in blocks through the engine and writing each block as soon as it is computed, so memory is bounded by the
 * block size and the model, not by the number of users.
 *
 * Output: users in dense index order (= order of first appearance in the input), external ids.
 * - csv: header `user,item,rank,score`, one line per recommended item (rank 1 first); a user with no scored
 *   item has no line. Ids that contain a comma, quote or line break are quoted (RFC 4180).
 * - jsonl: one line per user, `{"user":"…","items":["…",…],"scores":[…]}` (items best first; [] when none).
 * - parquet: the csv columns (user STRING, item STRING, rank INT32, score FLOAT), written when every block is
 *   in, by row groups of 100,000 rows (hyparquet-writer, snappy), from the checkpointed partial file.
 * Scores are the f32 scores printed with 7 significant digits (shortest form; parquet stores that value as
 * FLOAT).
 * With back-fill (`backfill: 'popular'`, see backfill.ts) every format says where each item comes from: csv and
 * parquet gain a last column `source` (`model` or `popular`), jsonl lines a `sources` array beside `scores`.
 * Without it the outputs are exactly as before. The summary counts the users left without any item and the
 * users back-filled.
 *
 * Crash safety and `resume`: results go to `OUT.partial`; after each block the bytes are fsynced and a
 * checkpoint `OUT.checkpoint.json` (the run's fingerprint, the next user, the byte length of the partial file)
 * is replaced atomically. A run killed at any point (kill -9 included) and started again with `resume`
 * truncates the partial file to the checkpointed length and continues with the next user, so the final file
 * is byte-identical to an uninterrupted run: no user lost, none duplicated. When the last block is in, the
 * partial file is renamed to OUT and the checkpoint removed. A checkpoint whose fingerprint differs (other
 * input, options or backend) is refused, never mixed in.
 */
import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { QuiverError } from '../errors.js';
import { type BackfillMode, checkBackfill, countShortRows, type FilledTopK } from './backfill.js';
import { formatScore, writeParquetFile } from './bulk-parquet.js';
import type { Recommender } from './recommender.js';

export { blockRows, formatScore, PARQUET_SCHEMA, PARQUET_SCHEMA_WITH_SOURCE, type ParquetRow, parquetBuffer, writeParquetRows } from './bulk-parquet.js';

export type BulkFormat = 'csv' | 'jsonl' | 'parquet';

export interface BulkOptions {
  out: string;
  format: BulkFormat;
  n: number;
  filterSeen?: boolean;
  allow?: Int32Array | null;
  /** Users [row0, row1) by dense index (default: all). */
  span?: { row0: number; row1: number };
  /** Users per block (default 4096). */
  blockUsers?: number;
  resume?: boolean;
  /** Identifies the run (input, options, backend): a checkpoint of another run is refused. */
  fingerprint: string;
  /** Default: the model's `backfill`. */
  backfill?: BackfillMode;
  onProgress?: (usersDone: number, usersTotal: number) => void;
  signal?: AbortSignal;
}

export interface BulkSummary {
  users: number;
  rows: number;
  bytes: number;
  seconds: number;
  /** Users computed by this invocation (fewer than `users` after a resume). */
  usersComputed: number;
  resumedAt: number | null;
  /** Users of the span with no recommendation at all (after any back-fill). */
  usersWithout: number;
  /** Users of the span with at least one back-filled item. */
  usersBackfilled: number;
}

interface Checkpoint {
  format: 'quiver-bulk-checkpoint';
  version: 1;
  fingerprint: string;
  nextUser: number;
  bytes: number;
  rows: number;
  /** Counts so far (absent in checkpoints written before back-fill: read as 0). */
  empty?: number;
  filled?: number;
}

/** Shard i of n (1-based) of `users` as a contiguous span: [⌊(i−1)·U/n⌋, ⌊i·U/n⌋). */
export function shardSpan(shard: { index: number; count: number }, users: number): { row0: number; row1: number } {
  const { index, count } = shard;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 1 || index > count) {
    throw new QuiverError('INVALID_ARGUMENT', `shard must be i/N with 1 ≤ i ≤ N (got ${index}/${count})`);
  }
  return { row0: Math.floor(((index - 1) * users) / count), row1: Math.floor((index * users) / count) };
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new QuiverError('INVALID_ARGUMENT', `--shard must look like i/N, e.g. 2/8 (got "${text}")`);
  const s = { index: Number(m[1]), count: Number(m[2]) };
  shardSpan(s, 0);
  return s;
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The source of slot t of row r: a back-filled slot is one of the row's last `backfilled[r]` items. */
function sourceOf(res: FilledTopK, r: number, t: number, got: number): 'model' | 'popular' {
  return t >= got - (res.backfilled?.[r] ?? 0) ? 'popular' : 'model';
}

/**
 * The text of one block; parquet runs keep `[user,item,rank,score]` JSON lines in their partial file (and a
 * fifth element, the source, with `withSource`).
 */
export function formatBlock(format: BulkFormat, res: FilledTopK, userIds: readonly string[], itemIds: readonly string[], user0: number, withSource = false): { text: string; rows: number } {
  const parts: string[] = [];
  let rows = 0;
  const k = res.k;
  for (let r = 0; r < res.rows; r++) {
    const user = userIds[user0 + r]!;
    let got = 0;
    while (got < k && res.indices[r * k + got]! >= 0) got++;
    if (format === 'csv') {
      const u = csvField(user);
      for (let t = 0; t < got; t++) {
        const j = res.indices[r * k + t]!;
        const src = withSource ? `,${sourceOf(res, r, t, got)}` : '';
        parts.push(`${u},${csvField(itemIds[j]!)},${t + 1},${formatScore(res.scores[r * k + t]!)}${src}\n`);
        rows++;
      }
    } else if (format === 'parquet') {
      const u = JSON.stringify(user);
      for (let t = 0; t < got; t++) {
        const j = res.indices[r * k + t]!;
        const src = withSource ? `,"${sourceOf(res, r, t, got)}"` : '';
        parts.push(`[${u},${JSON.stringify(itemIds[j]!)},${t + 1},${formatScore(res.scores[r * k + t]!)}${src}]\n`);
        rows++;
      }
    } else {
      const items: string[] = [];
      const scores: string[] = [];
      const sources: string[] = [];
      for (let t = 0; t < got; t++) {
        const j = res.indices[r * k + t]!;
        items.push(JSON.stringify(itemIds[j]!));
        scores.push(formatScore(res.scores[r * k + t]!));
        sources.push(`"${sourceOf(res, r, t, got)}"`);
        rows++;
      }
      const src = withSource ? `,"sources":[${sources.join(',')}]` : '';
      parts.push(`{"user":${JSON.stringify(user)},"items":[${items.join(',')}],"scores":[${scores.join(',')}]${src}}\n`);
    }
  }
  return { text: parts.join(''), rows };
}

export function fingerprintOf(parts: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

async function readCheckpoint(path: string): Promise<Checkpoint | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  try {
    const c = JSON.parse(text) as Checkpoint;
    if (c.format === 'quiver-bulk-checkpoint' && c.version === 1 && Number.isInteger(c.nextUser) && Number.isInteger(c.bytes)) return c;
  } catch {
    // fall through
  }
  throw new QuiverError('INVALID_ARGUMENT', `${path} is not a readable checkpoint; delete it and run without --resume`);
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

async function syncDir(path: string): Promise<void> {
  const d = await open(dirname(path), 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/** Runs the bulk recommendation (see the module comment). */
export async function runBulk(model: Recommender, opts: BulkOptions): Promise<BulkSummary> {
  const t0 = performance.now();
  const span = opts.span ?? { row0: 0, row1: model.users };
  const blockUsers = opts.blockUsers ?? 4096;
  if (!Number.isInteger(blockUsers) || blockUsers < 1) throw new QuiverError('INVALID_ARGUMENT', `blockUsers must be a whole number ≥ 1 (got ${blockUsers})`);
  if (opts.format !== 'csv' && opts.format !== 'jsonl' && opts.format !== 'parquet') {
    throw new QuiverError('INVALID_ARGUMENT', `format must be csv, jsonl or parquet (got ${String(opts.format)})`);
  }
  const backfill = checkBackfill(opts.backfill ?? model.backfill);
  const withSource = backfill !== 'none';
  const partial = `${opts.out}.partial`;
  const ckptPath = `${opts.out}.checkpoint.json`;
  const header = opts.format === 'csv' ? (withSource ? 'user,item,rank,score,source\n' : 'user,item,rank,score\n') : '';
  const total = span.row1 - span.row0;

  let start = span.row0;
  let bytes = 0;
  let rows = 0;
  const counts = { empty: 0, filled: 0 };
  let resumedAt: number | null = null;
  await removeStaleTemps(ckptPath);
  const ckpt = opts.resume ? await readCheckpoint(ckptPath) : null;
  if (ckpt) {
    if (ckpt.fingerprint !== opts.fingerprint) {
      throw new QuiverError('INVALID_ARGUMENT', `${ckptPath} belongs to a different run (the input, options or backend changed); run without --resume to start over`, {
        checkpoint: ckptPath,
      });
    }
    const size = await fileSize(partial);
    if (size === null && ckpt.nextUser === span.row1 && (await fileSize(opts.out)) !== null) {
      // Killed after the output was complete (the partial file goes only once OUT is durable) but before the
      // checkpoint was removed.
      await rm(ckptPath, { force: true });
      return {
        users: total,
        rows: ckpt.rows,
        bytes: ckpt.bytes,
        seconds: (performance.now() - t0) / 1000,
        usersComputed: 0,
        resumedAt: ckpt.nextUser,
        usersWithout: ckpt.empty ?? 0,
        usersBackfilled: ckpt.filled ?? 0,
      };
    }
    if (size !== null && size >= ckpt.bytes && ckpt.nextUser >= span.row0 && ckpt.nextUser <= span.row1) {
      start = ckpt.nextUser;
      bytes = ckpt.bytes;
      rows = ckpt.rows;
      counts.empty = ckpt.empty ?? 0;
      counts.filled = ckpt.filled ?? 0;
      resumedAt = start;
    }
  } else if (!opts.resume) {
    await rm(ckptPath, { force: true });
  }

  const fh = await open(partial, resumedAt === null ? 'w' : 'r+');
  let closed = false;
  try {
    if (resumedAt === null) {
      await fh.truncate(0);
      if (header) {
        const buf = Buffer.from(header, 'utf8');
        await fh.write(buf, 0, buf.length, 0);
        bytes = buf.length;
      }
      await fh.sync();
      await writeCheckpoint(ckptPath, opts.fingerprint, start, bytes, rows, counts);
    } else {
      await fh.truncate(bytes);
    }
    opts.onProgress?.(start - span.row0, total);
    const allow = opts.allow ?? null;
    const compute = (u0: number): Promise<FilledTopK> =>
      model.recommendRows({ row0: u0, row1: Math.min(span.row1, u0 + blockUsers) }, { n: opts.n, filterSeen: opts.filterSeen, allow, backfill, signal: opts.signal });
    let next: Promise<FilledTopK> | null = start < span.row1 ? compute(start) : null;
    let u0 = start;
    while (next) {
      const res = await next;
      const u1 = u0 + res.rows;
      // Compute the next block while this one is formatted and written.
      next = u1 < span.row1 ? compute(u1) : null;
      next?.catch(() => undefined);
      const block = formatBlock(opts.format, res, model.userIds, model.itemIds, u0, withSource);
      const short = countShortRows(res);
      counts.empty += short.empty;
      counts.filled += short.backfilled;
      const buf = Buffer.from(block.text, 'utf8');
      await fh.write(buf, 0, buf.length, bytes);
      await fh.sync();
      bytes += buf.length;
      rows += block.rows;
      await writeCheckpoint(ckptPath, opts.fingerprint, u1, bytes, rows, counts);
      u0 = u1;
      opts.onProgress?.(u0 - span.row0, total);
    }
    await fh.close();
    closed = true;
    if (opts.format === 'parquet') {
      await writeParquetFile(partial, opts.out, withSource);
      await rm(partial);
    } else {
      await rename(partial, opts.out);
    }
    await syncDir(opts.out);
    await rm(ckptPath, { force: true });
  } finally {
    if (!closed) await fh.close();
  }
  return {
    users: total,
    rows,
    bytes,
    seconds: (performance.now() - t0) / 1000,
    usersComputed: span.row1 - start,
    resumedAt,
    usersWithout: counts.empty,
    usersBackfilled: counts.filled,
  };
}

/** Temporary checkpoint copies a kill -9 left behind (writeFileAtomic names them `.NAME.<pid>.<hex>.tmp`). */
async function removeStaleTemps(ckptPath: string): Promise<void> {
  const prefix = `.${basename(ckptPath)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(ckptPath));
  } catch {
    return;
  }
  for (const n of names) if (n.startsWith(prefix) && n.endsWith('.tmp')) await rm(`${dirname(ckptPath)}/${n}`, { force: true });
}

async function writeCheckpoint(path: string, fingerprint: string, nextUser: number, bytes: number, rows: number, counts: { empty: number; filled: number }): Promise<void> {
  const c: Checkpoint = { format: 'quiver-bulk-checkpoint', version: 1, fingerprint, nextUser, bytes, rows, empty: counts.empty, filled: counts.filled };
  await writeFileAtomic(path, `${JSON.stringify(c)}\n`);
}
