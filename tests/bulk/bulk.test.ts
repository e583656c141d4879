// `quiver bulk` with a real Redis (tests/helpers/redis.ts starts one) and worker processes on the compiled dist/:
// the output of a distributed run against the one-machine `quiver recommend` (the oracle: its bytes), every user
// exactly once, and the faults the queue must survive: SIGTERM, SIGKILL and SIGSTOP of a worker mid-shard, a
// Redis restart mid-run, a shard that keeps failing, and bad input. Short locks (2 s, stalled checks every 1 s)
// so a dead worker's shard is retried within seconds.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep, WorkerProc } from '../helpers/bulk-worker.js';
import { quiver } from '../helpers/cli.js';
import { redisMissing, startRedis, type TestRedis } from '../helpers/redis.js';

const missing = redisMissing();
if (missing) console.log(`tests/bulk: skipped: ${missing}`);

const dir = mkdtempSync(join(tmpdir(), 'quiver-bulk-'));
const store = join(dir, 'store');
const SYN = ['--synthetic', '6000x900x120000:5', '--algo', 'itemknn', '--n', '10'];
const USERS = 6000;

const workers: WorkerProc[] = [];
let redis: TestRedis;

function startWorkers(n: number): WorkerProc[] {
  const ws = Array.from({ length: n }, () => new WorkerProc(redis.url));
  workers.push(...ws);
  return ws;
}

async function submit(out: string, ...extra: string[]): Promise<string> {
  const r = await quiver('bulk', 'submit', '--redis', redis.url, '--store', store, '--out', out, ...extra, ...SYN);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split('\n').at(-1)!;
}

async function waitDone(run: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return quiver('bulk', 'status', '--redis', redis.url, run, '--wait', '--interval', '200');
}

/** Blocks with a record in OUT/_blocks (not counting a temporary file a writer has not renamed yet). */
function recorded(out: string): number {
  return existsSync(join(out, '_blocks')) ? readdirSync(join(out, '_blocks')).filter((f) => /^part-\d+\.json$/.test(f)).length : 0;
}

async function waitRecorded(out: string, n: number): Promise<void> {
  const t0 = Date.now();
  while (recorded(out) < n) {
    if (Date.now() - t0 > 30_000) throw new Error(`fewer than ${n} blocks in ${out} after 30 s`);
    await sleep(5);
  }
}

/** The jsonl parts in order: one line per user; each user in exactly one line of one part. */
function checkJsonlOnce(out: string): string {
  const parts = readdirSync(out).filter((f) => /^part-\d{5}\.jsonl$/.test(f)).sort();
  const seen = new Map<string, string>();
  let text = '';
  for (const p of parts) {
    const body = readFileSync(join(out, p), 'utf8');
    text += body;
    for (const line of body.split('\n').filter(Boolean)) {
      const u = (JSON.parse(line) as { user: string }).user;
      expect(seen.has(u), `user ${u} in ${seen.get(u)} and ${p}`).toBe(false);
      seen.set(u, p);
    }
  }
  expect(seen.size).toBe(USERS);
  return text;
}

describe.skipIf(missing !== null)('quiver bulk on BullMQ and a real Redis', () => {
  let refCsv: Buffer;
  let refJsonl: Buffer;
  let refParquet: Buffer;

  beforeAll(async () => {
    redis = await startRedis();
    // The oracle: the one-machine run with the same options.
    const outs = { csv: join(dir, 'ref.csv'), jsonl: join(dir, 'ref.jsonl'), parquet: join(dir, 'ref.parquet') };
    const rs = await Promise.all(Object.values(outs).map((o) => quiver('recommend', ...SYN, '--out', o)));
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    refCsv = readFileSync(outs.csv);
    refJsonl = readFileSync(outs.jsonl);
    refParquet = readFileSync(outs.parquet);
  });

  // A test that failed half-way must not leave its workers to take the next test's jobs.
  const killAll = async () => {
    for (const w of workers.splice(0)) await w.kill();
  };
  afterEach(killAll);
  afterAll(async () => {
    await killAll();
    await redis?.stop();
  });

  it('three workers: parts and --merge byte-identical to quiver recommend; a resubmission adds nothing; SIGTERM exits 0', async () => {
    const ws = startWorkers(3);
    const out = join(dir, 'three');
    const merged = join(dir, 'three.csv');
    const run = await submit(out, '--output-format', 'csv', '--shards', '6', '--block-users', '250', '--merge', merged);
    expect(run).toMatch(/^r[0-9a-f]{16}$/);
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`^${run}: complete; shards 6/6 done, 0 running, 0 failed; users 6,000/6,000`));
    expect(readFileSync(merged).equals(refCsv)).toBe(true);
    // Parts in order, each with its header: the reference's lines, each once.
    const parts = readdirSync(out).filter((f) => f.startsWith('part-')).sort();
    expect(parts).toEqual(Array.from({ length: 24 }, (_, i) => `part-${String(i).padStart(5, '0')}.csv`));
    const body = parts.map((p) => readFileSync(join(out, p), 'utf8').replace(/^user,item,rank,score\n/, '')).join('');
    expect(`user,item,rank,score\n${body}`).toBe(refCsv.toString());
    // _SUCCESS comes last, after the manifest; the manifest lists every part with its sha256.
    const manifest = JSON.parse(readFileSync(join(out, '_manifest.json'), 'utf8')) as { run: string; users: number; rows: number; parts: { part: string }[] };
    expect(manifest).toMatchObject({ run, users: USERS, rows: 60_000 });
    expect(manifest.parts.map((p) => p.part)).toEqual(parts);
    expect(statSync(join(out, '_SUCCESS')).mtimeMs).toBeGreaterThanOrEqual(statSync(join(out, '_manifest.json')).mtimeMs);
    // The same submission again: the same run id, nothing added, still complete with 6 shards.
    const again = await quiver('bulk', 'submit', '--redis', redis.url, '--store', store, '--out', out, '--output-format', 'csv', '--shards', '6', '--block-users', '250', '--merge', merged, ...SYN);
    expect(again.stdout.trim()).toBe(run);
    expect(again.stderr).toMatch(/submitted before \(completed\); nothing added/);
    const json = await quiver('bulk', 'status', '--redis', redis.url, run, '--json');
    const s = JSON.parse(json.stdout) as { state: string; shards: { total: number; done: number }; details: { state: string }[]; final: { eventLoopDelayMaxMs: number } };
    expect(s.state).toBe('complete');
    expect(s.shards).toMatchObject({ total: 6, done: 6 });
    expect(s.details.map((d) => d.state)).toEqual(Array(6).fill('completed'));
    // Scoring runs in the pool: the event loop that renews the locks was never held as long as a lock (2 s
    // here), or the shards would have stalled and been handed to another worker.
    expect(s.final.eventLoopDelayMaxMs).toBeGreaterThan(0);
    expect(s.final.eventLoopDelayMaxMs).toBeLessThan(2000);
    // Every shard was run by some worker, and each worker stops cleanly on SIGTERM.
    const logs = ws.map((w) => w.log).join('');
    for (let i = 1; i <= 6; i++) expect(logs).toMatch(new RegExp(`${run}-shard-${i}: done`));
    for (const w of ws) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('parquet parts read by DuckDB as one table; --merge byte-identical to quiver recommend', async () => {
    const ws = startWorkers(2);
    const out = join(dir, 'pq');
    const merged = join(dir, 'pq.parquet');
    const run = await submit(out, '--shards', '3', '--block-users', '1000', '--merge', merged);
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(readFileSync(merged).equals(refParquet)).toBe(true);
    const { DuckDBInstance } = await import('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    const r = await con.runAndReadAll(`SELECT count(*)::INTEGER, count(DISTINCT "user")::INTEGER, min("rank"), max("rank") FROM read_parquet('${join(out, '*.parquet')}')`);
    // 10 items for each of the 6,000 users (the reference csv has 60,000 lines after its header).
    expect(refCsv.toString().split('\n').length - 2).toBe(60_000);
    expect(r.getRows()).toEqual([[60_000, USERS, 1, 10]]);
    con.closeSync();
    db.closeSync();
    for (const w of ws) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('SIGTERM hands the shard back, SIGKILL mid-shard: another worker retries it, skips the finished blocks, every user once', async () => {
    const [a] = startWorkers(1);
    const out = join(dir, 'killed');
    const run = await submit(out, '--output-format', 'jsonl', '--shards', '2', '--block-users', '10');
    await a!.waitFor(new RegExp(`${run}-shard-1: start`));
    await waitRecorded(out, 20);
    expect(await a!.stop()).toBe(0);
    expect(a!.log).toMatch(new RegExp(`${run}-shard-1: handed back at block \\d+`));
    const [b] = startWorkers(1);
    await b!.waitFor(new RegExp(`${run}-shard-\\d: start`));
    await waitRecorded(out, recorded(out) + 20);
    b!.child.kill('SIGKILL');
    await b!.exited;
    const before = recorded(out);
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    const [c, d] = startWorkers(2);
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(checkJsonlOnce(out)).toBe(refJsonl.toString());
    // The temporary files of the killed writer were cleared by the finaliser.
    expect([...readdirSync(out), ...readdirSync(join(out, '_blocks'))].filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // The retry resumed from the store: the blocks written before the kill were skipped, not written again.
    const skipped = [...`${c!.log}${d!.log}`.matchAll(new RegExp(`${run}-shard-\\d: done, (\\d+) blocks written, (\\d+) skipped`, 'g'))].map((m) => Number(m[2]));
    expect(skipped.reduce((x, y) => x + y, 0)).toBeGreaterThanOrEqual(before);
    for (const w of [c!, d!]) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('the fit job killed: another worker fits again, and the run is still exact', async () => {
    const [a] = startWorkers(1);
    const out = join(dir, 'fitkill');
    const merged = join(dir, 'fitkill.jsonl');
    const run = await submit(out, '--output-format', 'jsonl', '--shards', '2', '--block-users', '1000', '--merge', merged);
    await a!.waitFor(new RegExp(`${run}-fit: fitting`));
    a!.child.kill('SIGKILL');
    await a!.exited;
    expect(a!.log).not.toMatch(/published/);
    const [b] = startWorkers(1);
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(b!.log).toMatch(new RegExp(`${run}-fit: model [0-9a-f]{12} published`));
    expect(readFileSync(merged).equals(refJsonl)).toBe(true);
    // One model in the store for this run's shards: the manifest names it, and it is the one b published.
    const manifest = JSON.parse(readFileSync(join(out, '_manifest.json'), 'utf8')) as { model: string };
    expect(b!.log).toContain(`model ${manifest.model.slice(0, 12)} published`);
    expect(await b!.stop()).toBe(0);
  }, 60_000);

  it('a worker paused (SIGSTOP) past its lock and resumed: its shard is taken over and the output is still exact', async () => {
    const [a] = startWorkers(1);
    const out = join(dir, 'paused');
    const merged = join(dir, 'paused.csv');
    const run = await submit(out, '--output-format', 'csv', '--shards', '1', '--block-users', '10', '--merge', merged);
    await a!.waitFor(new RegExp(`${run}-shard-1: start`));
    await waitRecorded(out, 20);
    a!.child.kill('SIGSTOP');
    const [b] = startWorkers(1);
    // The lock (2 s) runs out while A sleeps; the stalled check hands the shard to B.
    await b!.waitFor(new RegExp(`${run}-shard-1: start`), 20_000);
    a!.child.kill('SIGCONT');
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(readFileSync(merged).equals(refCsv)).toBe(true);
    // Whatever A wrote after waking were the same bytes: the parts still match their records and the oracle.
    await sleep(500);
    const body = readdirSync(out)
      .filter((f) => f.startsWith('part-'))
      .sort()
      .map((p) => readFileSync(join(out, p), 'utf8').replace(/^user,item,rank,score\n/, ''))
      .join('');
    expect(`user,item,rank,score\n${body}`).toBe(refCsv.toString());
    for (const w of [a!, b!]) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('Redis restarted mid-run: the workers reconnect and the run completes, every user once', async () => {
    const ws = startWorkers(3);
    const out = join(dir, 'restart');
    const run = await submit(out, '--output-format', 'jsonl', '--shards', '3', '--block-users', '10');
    await waitRecorded(out, 30);
    await redis.restart(1000);
    const st = await waitDone(run);
    expect(st.code, st.stderr).toBe(0);
    expect(checkJsonlOnce(out)).toBe(refJsonl.toString());
    expect(ws.map((w) => w.log).join('')).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ is unreachable .*retrying with backoff/);
    for (const w of ws) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('a shard that fails every attempt: the run is failed with the shard, its code and message, and no _SUCCESS', async () => {
    const ws = startWorkers(1);
    const out = join(dir, 'failing');
    // A directory where block 1's part must go: that block can never be written.
    mkdirSync(join(out, 'part-00001.csv'), { recursive: true });
    writeFileSync(join(out, 'part-00001.csv', 'x'), 'x');
    const run = await submit(out, '--output-format', 'csv', '--shards', '2', '--block-users', '1500', '--attempts', '2');
    const st = await waitDone(run);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(new RegExp(`^${run}: failed; shards [01]/2 done, [01] running, 1 failed`));
    // Retried (a write error may pass), then failed with its code and message after its 2 attempts.
    expect(st.stdout).toMatch(new RegExp(`\n  ${run}-shard-1 failed after 2 attempts: UNAVAILABLE: --out .*/part-00001\\.csv: writing failed \\(EISDIR\\)\n`));
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
    expect(existsSync(join(out, '_manifest.json'))).toBe(false);
    for (const w of ws) expect(await w.stop()).toBe(0);
  }, 60_000);

  it('a store the worker does not share: the fit fails with NOT_FOUND naming the store, the run is failed', async () => {
    const out = join(dir, 'unshared');
    // Submitted with no worker up, then the run record disappears: what a worker sees on another filesystem.
    const run = await submit(out, '--output-format', 'csv', '--attempts', '1');
    rmSync(join(store, 'runs', `${run}.json`));
    startWorkers(1);
    const st = await waitDone(run);
    expect(st.code).toBe(1);
    expect(st.stdout).toMatch(new RegExp(`^${run}: failed;`));
    expect(st.stdout).toMatch(new RegExp(`${run}-fit failed after 1 attempt: NOT_FOUND: this worker cannot read .*/runs/${run}\\.json: the store .* is not shared with the machine that submitted run ${run}`));
    expect(existsSync(join(out, '_SUCCESS'))).toBe(false);
  }, 60_000);

  it('bad input: unreachable Redis, unknown run, unwritable store, a --merge of another format; a worker waits for Redis', async () => {
    const t0 = Date.now();
    const down = await quiver('bulk', 'submit', '--redis', 'redis://127.0.0.1:1', '--store', store, '--out', join(dir, 'x'), ...SYN);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(/^quiver: UNAVAILABLE: Redis at redis:\/\/127\.0\.0\.1:1 is unreachable \(.*\); start it or check --redis\n$/);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const unknown = await quiver('bulk', 'status', '--redis', redis.url, 'rnosuchrun');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/NOT_FOUND: no run rnosuchrun on redis:\/\/127\.0\.0\.1:\d+/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const bad = await quiver('bulk', 'submit', '--redis', redis.url, '--store', join(file, 'store'), '--out', join(dir, 'y'), ...SYN);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT: --store .*a-file\/store is not a directory: give a directory that every worker can write/);
    const fmt = await quiver('bulk', 'submit', '--redis', redis.url, '--store', store, '--out', join(dir, 'z'), '--merge', join(dir, 'z.csv'), ...SYN);
    expect(fmt.code).toBe(2);
    expect(fmt.stderr).toMatch(/INVALID_ARGUMENT: --merge must end in \.parquet, the --output-format of the parts/);
    // A worker whose Redis is away says so once, keeps retrying (no crash loop) and still stops cleanly.
    const w = new WorkerProc('redis://127.0.0.1:1');
    workers.push(w);
    await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:1 is unreachable .*retrying with backoff/);
    await sleep(1500);
    expect(w.child.exitCode).toBe(null);
    expect(w.log.match(/is unreachable/g)).toHaveLength(1);
    expect(await w.stop()).toBe(0);
  }, 60_000);
});
