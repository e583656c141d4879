/**
 * Parquet output of the bulk runs: the fixed columns (user, item, rank, score, and with back-fill source), written
 * by row groups of 100,000 rows so that the one-machine run and a distributed run's merge give the same bytes.
 */
import { open, rename } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FilledTopK } from './backfill.js';

/** f32 score with 7 significant digits, shortest form (every bulk format prints scores this way). */
export function formatScore(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(7)));
}

const PARQUET_ROW_GROUP = 100_000;

/** One output row of a parquet file: user, item, rank (1 first), score (the value of its 7-digit text), and with back-fill the source. */
export type ParquetRow = [user: string, item: string, rank: number, score: number, source?: string];

/** The columns of every Quiver parquet output (bulk runs and the parts of a distributed run). */
export const PARQUET_SCHEMA = [
  { name: 'root', num_children: 4 },
  { name: 'user', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'item', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'rank', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'score', type: 'FLOAT', repetition_type: 'REQUIRED' },
] as const;

/** The parquet columns of a run with back-fill: the same, then `source` (model or popular). */
export const PARQUET_SCHEMA_WITH_SOURCE = [
  { name: 'root', num_children: 5 },
  ...PARQUET_SCHEMA.slice(1),
  { name: 'source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
] as const;

/**
 * The rows of one block, as a parquet output holds them (users with no scored item have none); with
 * `withSource`, each row ends with its source (a row's last `backfilled[r]` items are `popular`).
 */
export function blockRows(res: FilledTopK, userIds: readonly string[], itemIds: readonly string[], user0: number, withSource = false): ParquetRow[] {
  const rows: ParquetRow[] = [];
  const k = res.k;
  for (let r = 0; r < res.rows; r++) {
    const user = userIds[user0 + r]!;
    let got = 0;
    while (got < k && res.indices[r * k + got]! >= 0) got++;
    const firstFilled = got - (res.backfilled?.[r] ?? 0);
    for (let t = 0; t < got; t++) {
      const row: ParquetRow = [user, itemIds[res.indices[r * k + t]!]!, t + 1, Number(formatScore(res.scores[r * k + t]!))];
      if (withSource) row.push(t >= firstFilled ? 'popular' : 'model');
      rows.push(row);
    }
  }
  return rows;
}

/** Converts the `[user,item,rank,score(,source)]` lines of a finished partial file to Parquet, atomically. */
export async function writeParquetFile(partial: string, out: string, withSource: boolean): Promise<void> {
  async function* rows(): AsyncGenerator<ParquetRow> {
    // Opened here, when the writer starts pulling: a stream opened earlier would flow before anyone listens.
    const lines = createInterface({ input: createReadStream(partial, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) if (line.length > 0) yield JSON.parse(line) as ParquetRow;
  }
  await writeParquetRows(rows(), out, withSource);
}

/**
 * Writes rows to a parquet file atomically (temporary file, fsync, rename), by row groups of 100,000 rows: the
 * same bytes for the same rows, whoever writes them (the one-machine run and a distributed run's merge).
 */
export async function writeParquetRows(source: AsyncIterable<ParquetRow> | Iterable<ParquetRow>, out: string, withSource = false): Promise<void> {
  const { ParquetWriter, fileWriter } = await import('hyparquet-writer');
  const tmp = `${out}.parquet.tmp`;
  const schema = withSource ? PARQUET_SCHEMA_WITH_SOURCE : PARQUET_SCHEMA;
  const writer = new ParquetWriter({ writer: fileWriter(tmp), schema: schema.map((e) => ({ ...e })), createdBy: 'quiver' });
  let users: string[] = [];
  let items: string[] = [];
  let ranks: number[] = [];
  let scores: number[] = [];
  let sources: string[] = [];
  const flush = async (): Promise<void> => {
    if (users.length === 0) return;
    const columnData = [
      { name: 'user', data: users },
      { name: 'item', data: items },
      { name: 'rank', data: Int32Array.from(ranks) },
      { name: 'score', data: Float32Array.from(scores) },
    ];
    if (withSource) columnData.push({ name: 'source', data: sources });
    await writer.write({ columnData, rowGroupSize: users.length });
    users = [];
    items = [];
    ranks = [];
    scores = [];
    sources = [];
  };
  for await (const [u, i, r, sc, src] of source) {
    users.push(u);
    items.push(i);
    ranks.push(r);
    scores.push(sc);
    sources.push(src ?? 'model');
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
export async function parquetBuffer(rows: readonly ParquetRow[], withSource = false): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import('hyparquet-writer');
  const schema = withSource ? PARQUET_SCHEMA_WITH_SOURCE : PARQUET_SCHEMA;
  const columnData = [
    { name: 'user', data: rows.map((r) => r[0]) },
    { name: 'item', data: rows.map((r) => r[1]) },
    { name: 'rank', data: Int32Array.from(rows, (r) => r[2]) },
    { name: 'score', data: Float32Array.from(rows, (r) => r[3]) },
  ];
  if (withSource) columnData.push({ name: 'source', data: rows.map((r) => r[4] ?? 'model') });
  const buf = parquetWriteBuffer({ schema: schema.map((e) => ({ ...e })), createdBy: 'quiver', rowGroupSize: Math.max(1, rows.length), columnData });
  return new Uint8Array(buf);
}
