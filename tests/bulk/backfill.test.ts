// `quiver bulk submit --backfill popular` with a real Redis and worker processes on the compiled dist/: on a small
// input where some users only touched items nobody else has, the merged output (csv, jsonl, parquet) is
// byte-identical to the one-machine `quiver recommend --backfill popular`, the back-filled items are the most
// popular unseen ones (popularity counted here), after the model's items and marked `popular`, and the manifest
// and `bulk status` count the users back-filled and without recommendations over every block.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkerProc } from '../helpers/bulk-worker.js';
import { quiver } from '../helpers/cli.js';
import { redisMissing, startRedis, type TestRedis } from '../helpers/redis.js';

const missing = redisMissing();
const dir = mkdtempSync(join(tmpdir(), 'quiver-bulkfill-'));
const store = join(dir, 'store');
const N = 5;

// 200 users over 30 common items (skewed, so popularity has a clear order with some ties), 15 loners who each
// touched one item nobody else has (item kNN has nothing for them), and one user who touched every common item.
// With 3 neighbours per item, a user of one or two items gets fewer than n from the model: topped up after them.
const lines: string[] = [];
const seen = new Map<string, Set<string>>();
const touch = (u: string, i: string) => {
  if (!seen.has(u)) seen.set(u, new Set());
  if (seen.get(u)!.has(i)) return;
  seen.get(u)!.add(i);
  lines.push(`${u},${i}`);
};
let state = 12345;
const rand = () => {
  state = (Math.imul(state, 1103515245) + 12345) >>> 0;
  return state / 2 ** 32;
};
for (let u = 0; u < 200; u++) {
  const count = 1 + Math.floor(rand() * 5);
  for (let t = 0; t < count; t++) touch(`c${u}`, `i${Math.floor(30 * rand() ** 2)}`);
  if (u % 13 === 6) touch(`l${(u - 6) / 13}`, `x${(u - 6) / 13}`);
  if (u === 100) for (let i = 0; i < 30; i++) touch('g', `i${i}`);
}
const input = join(dir, 'loners.csv');
writeFileSync(input, `user,item\n${lines.join('\n')}\n`);
const users = [...seen.keys()];
const loners = users.filter((u) => u.startsWith('l'));

/** The oracle's popularity order: items by distinct users, most first, ties to the item that appeared first. */
function popularity(): string[] {
  const first = new Map<string, number>();
  const count = new Map<string, number>();
  for (const l of lines) {
    const i = l.split(',')[1]!;
    if (!first.has(i)) first.set(i, first.size);
    count.set(i, (count.get(i) ?? 0) + 1);
  }
  return [...first.keys()].sort((a, b) => count.get(b)! - count.get(a)! || first.get(a)! - first.get(b)!);
}

const ALGO = ['--ratings', input, '--implicit', '--algo', 'itemknn', '--neighbors', '3', '--n', String(N)];
let redis: TestRedis;
const workers: WorkerProc[] = [];

async function submit(out: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string; run: string }> {
  const r = await quiver('bulk', 'submit', '--redis', redis.url, '--store', store, '--out', out, '--shards', '3', '--block-users', '40', ...extra, ...ALGO);
  return { ...r, run: r.stdout.trim().split('\n').at(-1) ?? '' };
}

interface Manifest {
  run: string;
  backfill: string;
  users: number;
  rows: number;
  usersBackfilled: number;
  usersWithout: number;
  usersShort: number;
  parts: { usersBackfilled: number; usersWithout: number }[];
}
const manifestOf = (out: string) => JSON.parse(readFileSync(join(out, '_manifest.json'), 'utf8')) as Manifest;

describe.skipIf(missing !== null)('quiver bulk submit --backfill popular', () => {
  const ref: Record<string, Buffer> = {};

  beforeAll(async () => {
    redis = await startRedis();
    for (const f of ['csv', 'jsonl', 'parquet']) {
      const out = join(dir, `ref.${f}`);
      const r = await quiver('recommend', ...ALGO, '--backfill', 'popular', '--out', out);
      expect(r.code, r.stderr).toBe(0);
      ref[f] = readFileSync(out);
    }
    workers.push(new WorkerProc(redis.url), new WorkerProc(redis.url));
  });
  afterAll(async () => {
    for (const w of workers.splice(0)) await w.kill();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('csv: the merge is byte-identical to quiver recommend; the fillers are the most popular unseen items, marked and after the model', async () => {
    const out = join(dir, 'csv');
    const merged = join(dir, 'csv-merged.csv');
    const s = await submit(out, '--output-format', 'csv', '--merge', merged, '--backfill', 'popular');
    expect(s.code, s.stderr).toBe(0);
    const st = await quiver('bulk', 'status', '--redis', redis.url, s.run, '--wait', '--interval', '200');
    expect(st.code, `${st.stdout}${st.stderr}${workers.map((w) => w.log).join('')}`).toBe(0);
    expect(readFileSync(merged).equals(ref.csv!)).toBe(true);
    // The parts in order, each with the source header: the reference's lines, each once.
    const parts = readdirSync(out).filter((f) => f.startsWith('part-')).sort();
    expect(parts).toHaveLength(Math.ceil(users.length / 40));
    const header = 'user,item,rank,score,source\n';
    const texts = parts.map((p) => readFileSync(join(out, p), 'utf8'));
    for (const t of texts) expect(t.startsWith(header)).toBe(true);
    expect(header + texts.map((t) => t.slice(header.length)).join('')).toBe(ref.csv!.toString());

    // The oracle: per user, the model's items (source model) come first, then the most popular items that are
    // neither seen nor already listed, scored −1, −2, … (item kNN scores are ≥ 0), up to n in all.
    const pop = popularity();
    const rows = new Map<string, string[][]>();
    for (const l of readFileSync(merged, 'utf8').trim().split('\n').slice(1)) {
      const f = l.split(',');
      rows.set(f[0]!, [...(rows.get(f[0]!) ?? []), f]);
    }
    let filled = 0;
    let mixed = 0;
    for (const u of users) {
      const got = rows.get(u) ?? [];
      expect(got.map((f) => Number(f[2])), u).toEqual(Array.from({ length: N }, (_, t) => t + 1));
      const model = got.filter((f) => f[4] === 'model');
      expect(got.slice(0, model.length), u).toEqual(model);
      const want = pop.filter((i) => !seen.get(u)!.has(i) && !model.some((f) => f[1] === i)).slice(0, N - model.length);
      const fill = got.slice(model.length);
      expect(fill.map((f) => f[1]), u).toEqual(want);
      expect(fill.map((f) => [f[3], f[4]])).toEqual(want.map((_, t) => [String(-(t + 1)), 'popular']));
      if (fill.length > 0) filled++;
      if (fill.length > 0 && model.length > 0) mixed++;
    }
    // Users topped up after some model items, not only users with none.
    expect(mixed).toBeGreaterThan(5);
    // The loners and the user who has every common item get nothing from the model.
    for (const u of [...loners, 'g']) expect((rows.get(u) ?? []).every((f) => f[4] === 'popular'), u).toBe(true);
    expect(filled).toBeGreaterThanOrEqual(loners.length + 1);

    const m = manifestOf(out);
    expect(m).toMatchObject({ run: s.run, backfill: 'popular', users: users.length, rows: users.length * N, usersBackfilled: filled, usersWithout: 0, usersShort: 0 });
    // Summed over the blocks, each of which keeps its own.
    expect(m.parts.reduce((a, p) => a + p.usersBackfilled, 0)).toBe(filled);
    expect(m.parts.filter((p) => p.usersBackfilled > 0).length).toBeGreaterThan(1);
    expect(st.stdout).toMatch(new RegExp(`^${s.run}: complete; .*; ${filled} users back-filled from popularity, 0 without recommendations\n`));
    const json = JSON.parse((await quiver('bulk', 'status', '--redis', redis.url, s.run, '--json')).stdout) as { backfill: string; usersBackfilled: number; usersWithout: number };
    expect(json).toMatchObject({ backfill: 'popular', usersBackfilled: filled, usersWithout: 0 });

    // The mode is part of the run id: the same submission is the same run, without back-fill another run
    // (refused here, since this output directory holds the finished run).
    const again = await submit(out, '--output-format', 'csv', '--merge', merged, '--backfill', 'popular');
    expect(again.run).toBe(s.run);
    expect(again.stderr).toMatch(/submitted before \(completed\); nothing added/);
    const other = await submit(out, '--output-format', 'csv', '--merge', merged);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`holds the finished output of run ${s.run}`);
  }, 60_000);

  it('jsonl and parquet: the merges are byte-identical to quiver recommend --backfill popular', async () => {
    const runs = [];
    for (const f of ['jsonl', 'parquet']) {
      const s = await submit(join(dir, f), '--output-format', f, '--merge', join(dir, `merged.${f}`), '--backfill', 'popular');
      expect(s.code, s.stderr).toBe(0);
      runs.push(s.run);
    }
    for (const run of runs) {
      const st = await quiver('bulk', 'status', '--redis', redis.url, run, '--wait', '--interval', '200');
      expect(st.code, st.stdout).toBe(0);
    }
    expect(readFileSync(join(dir, 'merged.jsonl')).equals(ref.jsonl!)).toBe(true);
    expect(readFileSync(join(dir, 'merged.parquet')).equals(ref.parquet!)).toBe(true);
    // Each jsonl line says where its items come from; the loners' all come from popularity.
    const byUser = new Map(
      readFileSync(join(dir, 'merged.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { user: string; items: string[]; sources: string[] })
        .map((o) => [o.user, o]),
    );
    for (const u of loners) expect(byUser.get(u)!.sources).toEqual(Array(N).fill('popular'));
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const r = await con.runAndReadAll(`SELECT count(*)::INTEGER, count(DISTINCT "user")::INTEGER, count(*) FILTER (WHERE source = 'popular')::INTEGER FROM read_parquet('${join(dir, 'parquet', '*.parquet')}')`);
    const popularRows = [...byUser.values()].reduce((a, o) => a + o.sources.filter((x) => x === 'popular').length, 0);
    expect(r.getRows()).toEqual([[users.length * N, users.length, popularRows]]);
    con.closeSync();
    db.closeSync();
    expect(manifestOf(join(dir, 'parquet')).usersBackfilled).toBe(manifestOf(join(dir, 'jsonl')).usersBackfilled);
  }, 60_000);

  it('without back-fill the manifest counts the users left without recommendations, as quiver recommend does', async () => {
    const out = join(dir, 'none');
    const s = await submit(out, '--output-format', 'csv');
    expect(s.code, s.stderr).toBe(0);
    const st = await quiver('bulk', 'status', '--redis', redis.url, s.run, '--wait', '--interval', '200');
    expect(st.code, st.stdout).toBe(0);
    const body = readdirSync(out)
      .filter((f) => f.startsWith('part-'))
      .sort()
      .map((p) => readFileSync(join(out, p), 'utf8'))
      .join('');
    expect(body.split('\n')[0]).toBe('user,item,rank,score');
    const listed = new Set(body.split('\n').filter((l) => l && !l.startsWith('user,item')).map((l) => l.split(',')[0]));
    const without = users.filter((u) => !listed.has(u));
    for (const u of [...loners, 'g']) expect(without).toContain(u);
    const m = manifestOf(out);
    expect(m).toMatchObject({ backfill: 'none', usersBackfilled: 0, usersWithout: without.length });
    expect(m.usersShort).toBeGreaterThanOrEqual(without.length);
    const one = await quiver('recommend', ...ALGO, '--out', join(dir, 'none-ref.csv'));
    expect(one.stderr).toContain(`; ${without.length} users without recommendations (--backfill popular tops them up)`);
    expect(st.stdout).toContain(`; ${without.length} users without recommendations (--backfill popular tops them up)`);
  }, 60_000);
});
