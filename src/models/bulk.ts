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
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../data/atomic.js';
import { QuiverError } from '../errors.js';
import type { TopKResult } from '../types.js';
import type { Recommender } from './recommender.js';

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
}

interface Checkpoint {
  format: 'quiver-bulk-checkpoint';
  version: 1;
  fingerprint: string;
  nextUser: number;
  bytes: number;
  rows: number;
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

/** f32 score with 7 significant digits, shortest form. */
export function formatScore(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(7)));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The text of one block; parquet runs keep `[user,item,rank,score]` JSON lines in their partial file. */
export function formatBlock(format: BulkFormat, res: TopKResult, userIds: readonly string[], itemIds: readonly string[], user0: number): { text: string; rows: number } {
  const parts: string[] = [];
  let rows = 0;
  const k = res.k;
  for (let r = 0; r < res.rows; r++) {
    const user = userIds[user0 + r]!;
    if (format === 'csv') {
      const u = csvField(user);
      for (let t = 0; t < k; t++) {
        const j = res.indices[r * k + t]!;
        if (j < 0) break;
        parts.push(`${u},${csvField(itemIds[j]!)},${t + 1},${formatScore(res.scores[r * k + t]!)}\n`);
        rows++;
      }
    } else if (format === 'parquet') {
      const u = JSON.stringify(user);
      for (let t = 0; t < k; t++) {
        const j = res.indices[r * k + t]!;
        if (j < 0) break;
        parts.push(`[${u},${JSON.stringify(itemIds[j]!)},${t + 1},${formatScore(res.scores[r * k + t]!)}]\n`);
        rows++;
      }
    } else {
      const items: string[] = [];
      const scores: string[] = [];
      for (let t = 0; t < k; t++) {
        const j = res.indices[r * k + t]!;
        if (j < 0) break;
        items.push(JSON.stringify(itemIds[j]!));
        scores.push(formatScore(res.scores[r * k + t]!));
        rows++;
      }
      parts.push(`{"user":${JSON.stringify(user)},"items":[${items.join(',')}],"scores":[${scores.join(',')}]}\n`);
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
  const partial = `${opts.out}.partial`;
  const ckptPath = `${opts.out}.checkpoint.json`;
  const header = opts.format === 'csv' ? 'user,item,rank,score\n' : '';
  const total = span.row1 - span.row0;

  let start = span.row0;
  let bytes = 0;
  let rows = 0;
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
      return { users: total, rows: ckpt.rows, bytes: ckpt.bytes, seconds: (performance.now() - t0) / 1000, usersComputed: 0, resumedAt: ckpt.nextUser };
    }
    if (size !== null && size >= ckpt.bytes && ckpt.nextUser >= span.row0 && ckpt.nextUser <= span.row1) {
      start = ckpt.nextUser;
      bytes = ckpt.bytes;
      rows = ckpt.rows;
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
      await writeCheckpoint(ckptPath, opts.fingerprint, start, bytes, rows);
    } else {
      await fh.truncate(bytes);
    }
    opts.onProgress?.(start - span.row0, total);
    const allow = opts.allow ?? null;
    const compute = (u0: number): Promise<TopKResult> =>
      model.recommendRows({ row0: u0, row1: Math.min(span.row1, u0 + blockUsers) }, { n: opts.n, filterSeen: opts.filterSeen, allow, signal: opts.signal });
    let next: Promise<TopKResult> | null = start < span.row1 ? compute(start) : null;
    let u0 = start;
    while (next) {
      const res = await next;
      const u1 = u0 + res.rows;
      // Compute the next block while this one is formatted and written.
      next = u1 < span.row1 ? compute(u1) : null;
      next?.catch(() => undefined);
      const block = formatBlock(opts.format, res, model.userIds, model.itemIds, u0);
      const buf = Buffer.from(block.text, 'utf8');
      await fh.write(buf, 0, buf.length, bytes);
      await fh.sync();
      bytes += buf.length;
      rows += block.rows;
      await writeCheckpoint(ckptPath, opts.fingerprint, u1, bytes, rows);
      u0 = u1;
      opts.onProgress?.(u0 - span.row0, total);
    }
    await fh.close();
    closed = true;
    if (opts.format === 'parquet') {
      await writeParquet(partial, opts.out);
      await rm(partial);
    } else {
      await rename(partial, opts.out);
    }
    await syncDir(opts.out);
    await rm(ckptPath, { force: true });
  } finally {
    if (!closed) await fh.close();
  }
  return { users: total, rows, bytes, seconds: (performance.now() - t0) / 1000, usersComputed: span.row1 - start, resumedAt };
}

const PARQUET_ROW_GROUP = 100_000;

/** One output row of a parquet file: user, item, rank (1 first), score (the value of its 7-digit text). */
export type ParquetRow = [user: string, item: string, rank: number, score: number];

/** The columns of every Quiver parquet output (bulk runs and the parts of a distributed run). */
export const PARQUET_SCHEMA = [
  { name: 'root', num_children: 4 },
  { name: 'user', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'item', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'rank', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'score', type: 'FLOAT', repetition_type: 'REQUIRED' },
] as const;

/** The rows of one block, as a parquet output holds them (users with no scored item have none). */
export function blockRows(res: TopKResult, userIds: readonly string[], itemIds: readonly string[], user0: number): ParquetRow[] {
  const rows: ParquetRow[] = [];
  const k = res.k;
  for (let r = 0; r < res.rows; r++) {
    const user = userIds[user0 + r]!;
    for (let t = 0; t < k; t++) {
      const j = res.indices[r * k + t]!;
      if (j < 0) break;
      rows.push([user, itemIds[j]!, t + 1, Number(formatScore(res.scores[r * k + t]!))]);
    }
  }
  return rows;
}

/** Converts the `[user,item,rank,score]` lines of a finished partial file to Parquet, atomically. */
async function writeParquet(partial: string, out: string): Promise<void> {
  async function* rows(): AsyncGenerator<ParquetRow> {
    // Opened here, when the writer starts pulling: a stream opened earlier would flow before anyone listens.
    const lines = createInterface({ input: createReadStream(partial, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) if (line.length > 0) yield JSON.parse(line) as ParquetRow;
  }
  await writeParquetRows(rows(), out);
}

/**
 * Writes rows to a parquet file atomically (temporary file, fsync, rename), by row groups of 100,000 rows: the
 * same bytes for the same rows, whoever writes them (the one-machine run and a distributed run's merge).
 */
export async function writeParquetRows(source: AsyncIterable<ParquetRow> | Iterable<ParquetRow>, out: string): Promise<void> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const tmp = `${out}.parquet.tmp`;
  const writer = new ParquetWriter({ writer: fileWriter(tmp), schema: PARQUET_SCHEMA.map((e) => ({ ...e })), createdBy: 'quiver' });
  let users: string[] = [];
  let items: string[] = [];
  let ranks: number[] = [];
  let scores: number[] = [];
  const flush = async (): Promise<void> => {
    if (users.length === 0) return;
    await writer.write({
      columnData: [
        { name: 'user', data: users },
        { name: 'item', data: items },
        { name: 'rank', data: Int32Array.from(ranks) },
        { name: 'score', data: Float32Array.from(scores) },
      ],
      rowGroupSize: users.length,
    });
    users = [];
    items = [];
    ranks = [];
    scores = [];
  };
  for await (const [u, i, r, sc] of source) {
    users.push(u);
    items.push(i);
    ranks.push(r);
    scores.push(sc);
    if (users.length === PARQUET_ROW_GROUP) await flush();
  }
  await flush();
  writer.finish();
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, out);
}

/** One self-contained parquet file of rows, in memory (one row group; the parts of a distributed run). */
export async function parquetBuffer(rows: readonly ParquetRow[]): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const buf = parquetWriteBuffer({
    schema: PARQUET_SCHEMA.map((e) => ({ ...e })),
    createdBy: 'quiver',
    rowGroupSize: Math.max(1, rows.length),
    columnData: [
      { name: 'user', data: rows.map((r) => r[0]) },
      { name: 'item', data: rows.map((r) => r[1]) },
      { name: 'rank', data: Int32Array.from(rows, (r) => r[2]) },
      { name: 'score', data: Float32Array.from(rows, (r) => r[3]) },
    ],
  });
  return new Uint8Array(buf);
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

async function writeCheckpoint(path: string, fingerprint: string, nextUser: number, bytes: number, rows: number): Promise<void> {
  const c: Checkpoint = { format: 'quiver-bulk-checkpoint', version: 1, fingerprint, nextUser, bytes, rows };
  await writeFileAtomic(path, `${JSON.stringify(c)}\n`);
}
