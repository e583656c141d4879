// `quiver recommend` and `quiver evaluate` as a user runs them: child processes on the compiled dist/ (npm test
// builds it first), including a real kill -9 in the middle of a bulk run and a --resume that must finish with
// the same bytes as an uninterrupted run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bin, cliEnv as env, quiver } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-rec-'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a run and SIGKILLs it once its checkpoint says `atLeast` users are done (or at once if < 0). */
async function killMidRun(args: string[], ckpt: string, atLeast: number): Promise<{ killedAt: number }> {
  const child = spawn(process.execPath, [bin, 'recommend', ...args], { env, stdio: 'ignore' });
  let exited = false;
  child.on('exit', () => (exited = true));
  let killedAt = -1;
  const t0 = Date.now();
  while (!exited && Date.now() - t0 < 60_000) {
    if (atLeast < 0) break;
    if (existsSync(ckpt)) {
      try {
        const c = JSON.parse(readFileSync(ckpt, 'utf8')) as { nextUser: number };
        if (c.nextUser >= atLeast) {
          killedAt = c.nextUser;
          break;
        }
      } catch {
        // replaced while we read it: try again
      }
    }
    await sleep(2);
  }
  if (exited) throw new Error('the run finished before it could be killed; use more users or smaller blocks');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  return { killedAt };
}

const SYN = ['--synthetic', '6000x900x120000:5', '--algo', 'itemknn', '--n', '10', '--block-users', '16'];

describe('quiver recommend', () => {
  it('kill -9 at any point, then --resume: byte-identical to an uninterrupted run', async () => {
    const ref = join(dir, 'ref.csv');
    const r = await quiver('recommend', ...SYN, '--out', ref);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/recommend: itemknn on synthetic 6000 users × 900 items × 120000 interactions .* 6,000 users, 60,000 rows → .*ref\.csv in [\d.]+ s \([\d,]+ users\/s\)/);
    const want = readFileSync(ref);
    expect(want.subarray(0, 21).toString()).toBe('user,item,rank,score\n');

    // Killed mid-run (the checkpoint says some blocks are done, the output does not exist yet), resumed.
    const out = join(dir, 'killed.csv');
    const { killedAt } = await killMidRun([...SYN, '--out', out], `${out}.checkpoint.json`, 1500);
    expect(killedAt).toBeGreaterThanOrEqual(1500);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(true);
    const resumed = await quiver('recommend', ...SYN, '--out', out, '--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resumed at user [\d,]+ of 6,000/);
    expect(readFileSync(out).equals(want)).toBe(true);
    expect(existsSync(`${out}.checkpoint.json`)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
    // Only the outputs are left in the folder (no partial file, checkpoint or temporary checkpoint copy).
    expect(readdirSync(dir).filter((f) => f.includes('killed'))).toEqual(['killed.csv']);

    // Killed twice (the second time during the resumed run), then resumed again.
    const out2 = join(dir, 'twice.csv');
    await killMidRun([...SYN, '--out', out2], `${out2}.checkpoint.json`, 800);
    await killMidRun([...SYN, '--out', out2, '--resume'], `${out2}.checkpoint.json`, 3000);
    const r2 = await quiver('recommend', ...SYN, '--out', out2, '--resume');
    expect(r2.code, r2.stderr).toBe(0);
    expect(readFileSync(out2).equals(want)).toBe(true);

    // Killed at once (during the fit, before any checkpoint): --resume starts over and still matches.
    const out3 = join(dir, 'early.csv');
    await killMidRun([...SYN, '--out', out3], `${out3}.checkpoint.json`, -1);
    const r3 = await quiver('recommend', ...SYN, '--out', out3, '--resume');
    expect(r3.code, r3.stderr).toBe(0);
    expect(readFileSync(out3).equals(want)).toBe(true);

    // A resume with other options refuses the checkpoint instead of mixing two runs.
    const out4 = join(dir, 'other.csv');
    await killMidRun([...SYN, '--out', out4], `${out4}.checkpoint.json`, 500);
    const r4 = await quiver('recommend', ...SYN.map((a) => (a === '10' ? '5' : a)), '--out', out4, '--resume');
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/INVALID_ARGUMENT: .*belongs to a different run .*run without --resume to start over/);
  }, 180_000);

  it('shards split the users deterministically; jsonl and parquet outputs; MovieLens input', async () => {
    const ml = join(dir, 'small.data');
    const lines: string[] = [];
    for (let u = 1; u <= 60; u++) for (let i = 1; i <= 40; i++) if ((u * 7 + i * 13) % 5 === 0) lines.push(`${u}\t${i}\t${((u + i) % 5) + 1}\t0`);
    writeFileSync(ml, `${lines.join('\n')}\n`);
    const full = await quiver('recommend', '--ratings', ml, '--implicit', '--algo', 'popular', '--n', '3', '--out', join(dir, 'full.csv'));
    expect(full.code, full.stderr).toBe(0);
    let joined = 'user,item,rank,score\n';
    for (const i of [1, 2, 3]) {
      const s = await quiver('recommend', '--ratings', ml, '--implicit', '--algo', 'popular', '--n', '3', '--shard', `${i}/3`, '--out', join(dir, `shard${i}.csv`));
      expect(s.code, s.stderr).toBe(0);
      expect(s.stderr).toMatch(new RegExp(`20 users \\(shard ${i}/3\\)`));
      joined += readFileSync(join(dir, `shard${i}.csv`), 'utf8').split('\n').slice(1).join('\n');
    }
    expect(joined).toBe(readFileSync(join(dir, 'full.csv'), 'utf8'));
    const j = await quiver('recommend', '--ratings', ml, '--implicit', '--algo', 'itemknn', '--n', '3', '--out', join(dir, 'r.jsonl'));
    expect(j.code, j.stderr).toBe(0);
    const first = JSON.parse(readFileSync(join(dir, 'r.jsonl'), 'utf8').split('\n')[0]!) as { user: string; items: string[]; scores: number[] };
    expect(first.user).toBe(lines[0]!.split('\t')[0]);
    expect(first.items.length).toBe(first.scores.length);
    const p = await quiver('recommend', '--ratings', ml, '--implicit', '--algo', 'ease', '--n', '3', '--out', join(dir, 'r.parquet'));
    expect(p.code, p.stderr).toBe(0);
    expect(readFileSync(join(dir, 'r.parquet')).subarray(0, 4).toString()).toBe('PAR1');
  }, 120_000);

  it('bad input: a clear code and what to fix', async () => {
    const cases: [string[], RegExp][] = [
      [['--synthetic', '10x10x50', '--algo', 'popular', '--out', join(dir, 'x.txt')], /INVALID_ARGUMENT: --out must end in \.csv, \.jsonl or \.parquet/],
      [['--algo', 'popular', '--out', join(dir, 'x.csv')], /INVALID_ARGUMENT: give exactly one input: --ratings FILE or --synthetic/],
      [['--synthetic', '10x10', '--algo', 'popular', '--out', join(dir, 'x.csv')], /--synthetic must look like USERSxITEMSxINTERACTIONS/],
      [['--synthetic', '10x10x50', '--algo', 'popular', '--shard', '4/3', '--out', join(dir, 'x.csv')], /shard must be i\/N with 1 ≤ i ≤ N/],
      [['--ratings', join(dir, 'missing.data'), '--algo', 'popular', '--out', join(dir, 'x.csv')], /NOT_FOUND: cannot read ratings file/],
      [['--synthetic', '100x6000x500', '--algo', 'ease', '--memory-budget', '64M', '--out', join(dir, 'x.csv')], /TOO_LARGE: EASE needs dense item × item matrices: 6000 items take about (451\.9 MiB \(12|589\.3 MiB \(16) · items² bytes and the solve's scratch\), over the memory budget of 64\.0 MiB/],
    ];
    for (const [args, msg] of cases) {
      const r = await quiver('recommend', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const algo = await quiver('recommend', '--synthetic', '10x10x50', '--algo', 'svd', '--out', join(dir, 'x.csv'));
    expect(algo.code).toBe(2);
    expect(algo.stderr).toMatch(/^quiver: INVALID_ARGUMENT: --algo must be one of itemknn, userknn, ease, popular, als \(got "svd"\)/);
    writeFileSync(join(dir, 'hdr.data'), 'user\titem\trating\tts\n1\t2\t3\t4\n');
    const hdr = await quiver('recommend', '--ratings', join(dir, 'hdr.data'), '--format', 'movielens', '--algo', 'popular', '--out', join(dir, 'x.csv'));
    expect(hdr.code).toBe(2);
    expect(hdr.stderr).toMatch(/INVALID_ARGUMENT: .*hdr\.data: u\.data has no header/);
  }, 60_000);
});

describe('quiver evaluate', () => {
  it('prints one JSON object with precision, recall, ndcg, map, k and users', async () => {
    const r = await quiver('evaluate', '--synthetic', '400x120x8000:3', '--algo', 'itemknn', '--k', '5', '--split', '0.75', '--seed', '42');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number>;
    expect(Object.keys(out)).toEqual(['precision', 'recall', 'ndcg', 'map', 'k', 'users']);
    expect(out['k']).toBe(5);
    expect(out['users']).toBe(400);
    for (const key of ['precision', 'recall', 'ndcg', 'map']) {
      expect(out[key]).toBeGreaterThan(0);
      expect(out[key]).toBeLessThanOrEqual(1);
    }
    // The same seed gives the same numbers; another seed another split.
    const again = await quiver('evaluate', '--synthetic', '400x120x8000:3', '--algo', 'itemknn', '--k', '5', '--seed', '42');
    expect(again.stdout).toBe(r.stdout);
    const other = await quiver('evaluate', '--synthetic', '400x120x8000:3', '--algo', 'itemknn', '--k', '5', '--seed', '7');
    expect(other.stdout).not.toBe(r.stdout);
    const bad = await quiver('evaluate', '--synthetic', '400x120x8000:3', '--algo', 'itemknn', '--split', '1.5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/INVALID_ARGUMENT: the split ratio must be between 0 and 1/);
  }, 60_000);

  it('--algo als takes --factors, --iterations, --regularization and --alpha; bad values are typed errors', async () => {
    const args = ['evaluate', '--synthetic', '400x120x8000:3', '--algo', 'als', '--k', '5', '--seed', '42'];
    const a = await quiver(...args, '--factors', '8', '--iterations', '3', '--regularization', '2', '--alpha', '2');
    expect(a.code, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout) as Record<string, number>;
    expect(out['precision']).toBeGreaterThan(0);
    // The flags reach the model: other factors, another result.
    const b = await quiver(...args, '--factors', '4', '--iterations', '3', '--regularization', '2', '--alpha', '2');
    expect(b.stdout).not.toBe(a.stdout);
    const big = await quiver(...args, '--factors', '500');
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/INVALID_ARGUMENT: factors must be at most the number of items \(120\)/);
    const alpha = await quiver(...args, '--alpha', '0');
    expect(alpha.code).toBe(2);
    expect(alpha.stderr).toMatch(/INVALID_ARGUMENT: alpha must be a number > 0/);
    const rec = await quiver('recommend', '--synthetic', '50x40x600:3', '--algo', 'als', '--factors', '4', '--n', '3', '--out', join(dir, 'als.csv'));
    expect(rec.code, rec.stderr).toBe(0);
    expect(readFileSync(join(dir, 'als.csv'), 'utf8').trim().split('\n').length).toBeGreaterThan(50);
  }, 60_000);
});

describe('quiver evaluate: protocols, grid, and data that may mislead', () => {
  it('--grid prints a table sorted by --sort-by (or JSON with --json); bad grids stop before the data is read', async () => {
    const common = ['evaluate', '--synthetic', '300x80x5000:4', '--algo', 'itemknn', '--k', '5', '--split-by', 'item'];
    const table = await quiver(...common, '--grid', 'neighbors=3,12;shrink=0,4', '--sort-by', 'precision');
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^neighbors\s+shrink\s+precision\s+recall\s+ndcg\s+map\s+fit s$/);
    expect(lines).toHaveLength(6);
    const precisions = lines.slice(1, 5).map((l) => Number(l.trim().split(/\s+/)[2]));
    expect([...precisions].sort((a, b) => b - a)).toEqual(precisions);
    const json = await quiver(...common, '--grid', '{"neighbors":[3,12],"shrink":[0,4]}', '--sort-by', 'precision', '--json');
    const r = JSON.parse(json.stdout) as { rows: { params: Record<string, number>; precision: number }[]; splitBy: string };
    expect(r.splitBy).toBe('item');
    expect(r.rows.map((row) => row.precision.toFixed(4))).toEqual(precisions.map((p) => p.toFixed(4)));
    const unknown = await quiver(...common, '--grid', 'lambda=1,2');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/INVALID_ARGUMENT: unknown grid parameter "lambda" for itemknn \(lambda is a parameter of ease\); known: neighbors, similarity, shrink, normalizeSimilarity/);
    const empty = await quiver(...common, '--grid', 'neighbors=');
    expect(empty.stderr).toMatch(/INVALID_ARGUMENT: grid parameter neighbors has an empty value list/);
  }, 60_000);

  it('--split-by time needs timestamps; counts read as ratings warn on stderr and in the JSON', async () => {
    const path = join(dir, 'plays.tsv');
    writeFileSync(path, `userID\tartistID\tweight\n${Array.from({ length: 60 }, (_, i) => `u${i % 12}\ta${(i * 7) % 15}\t${(i * 97) % 500}`).join('\n')}\n`);
    const time = await quiver('evaluate', '--ratings', path, '--implicit', '--algo', 'popular', '--split-by', 'time');
    expect(time.code).toBe(2);
    expect(time.stderr).toMatch(/INVALID_ARGUMENT: a time split needs the time of each interaction.*--timestamp-col/);
    const counts = await quiver('evaluate', '--ratings', path, '--rating-col', 'weight', '--algo', 'popular', '--k', '3');
    expect(counts.code, counts.stderr).toBe(0);
    expect(counts.stderr).toMatch(/warning: .*the rating column "weight" holds non-negative whole numbers up to \d+, which look like counts.*--implicit/);
    expect((JSON.parse(counts.stdout) as { warnings: string[] }).warnings[0]).toMatch(/look like counts/);
    const implicit = await quiver('evaluate', '--ratings', path, '--implicit', '--algo', 'popular', '--k', '3');
    expect(implicit.stderr).not.toMatch(/warning/);
    expect(JSON.parse(implicit.stdout)).not.toHaveProperty('warnings');
  }, 60_000);
});
