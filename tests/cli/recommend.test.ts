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
    expect(algo.stderr).toMatch(/^quiver: INVALID_ARGUMENT: --algo must be one of itemknn, userknn, ease, popular \(got "svd"\)/);
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
});
