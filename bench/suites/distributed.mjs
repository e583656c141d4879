// Suite `distributed` (issue 12's benchmark): one nightly bulk run done two ways on the same cores.
//   D1  one process: `quiver recommend --threads 2` (fit + score, parquet out);
//       distributed: a Redis of its own, 2 × `quiver bulk worker --threads 1`, `quiver bulk submit` (fit job,
//       then shards, parquet parts), timed from submit to `bulk status --wait` returning.
//       The queue and store overhead is (distributed time − one-process time) / one-process time (target < 10%).
//   D1-retry  the same distributed run with one worker SIGKILLed mid-shard (a replacement started at once): the
//       time from the kill to the shard's restart on another worker (lock expiry + stalled check), and the run.
// Peak memory per process: the kernel's VmHWM of each process (workers include their pool threads), polled.
// Item kNN (K = 20, cosine), top 10 unseen items per user. Full size: 1,000,000 users × 20,000 items × 10M
// interactions; --quick: 50,000 × 2,000 × 500,000 and short locks.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootDir } from '../lib/context.mjs';
import { failedRow, fmtCount, measuredRow, skippedRow } from '../lib/report.mjs';

const BIN = join(rootDir, 'bin', 'quiver.js');
const SIZES = {
  full: { users: 1_000_000, items: 20_000, interactions: 10_000_000, shards: 16, lock: 30_000, stalled: 15_000 },
  quick: { users: 50_000, items: 2_000, interactions: 500_000, shards: 8, lock: 2_000, stalled: 1_000 },
};
const ONE = 'quiver recommend (1 process, 2 threads)';
const DIST = 'bulk submit + 2 workers × 1 thread';
const RETRY = 'same, one worker SIGKILLed mid-shard';

export const name = 'distributed';

export function targets(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'];
  return {
    D1: {
      impl: ONE,
      text: `synthetic ${fmtCount(s.users)} users × ${fmtCount(s.items)} items × ${fmtCount(s.interactions)}: itemknn K = 20, top 10, parquet; the distributed run within 10% of the one-process time (vs target ≥ 0.91×).`,
    },
  };
}

/** Peak resident memory (VmHWM) of a live process, in bytes; 0 once it is gone. */
function hwm(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

class Proc {
  constructor(args, env = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.out = '';
    this.err = '';
    this.peak = 0;
    this.child.stdout.on('data', (d) => (this.out += d));
    this.child.stderr.on('data', (d) => (this.err += d));
    this.timer = setInterval(() => (this.peak = Math.max(this.peak, hwm(this.child.pid))), 50);
    this.exited = new Promise((r) =>
      this.child.once('exit', (code, signal) => {
        clearInterval(this.timer);
        r({ code, signal });
      }),
    );
  }
  async waitFor(re, ms) {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.err);
      if (m) return m;
      if (this.child.exitCode !== null || Date.now() - t0 > ms) return null;
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  async stop(sig = 'SIGTERM') {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(sig);
    return this.exited;
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startRedis(dir) {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--maxmemory-policy', 'noeviction', '--save', '', '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') break;
    await new Promise((res) => setTimeout(res, 25));
  }
  const stop = () =>
    new Promise((r) => {
      if (child.exitCode !== null) return r();
      child.once('exit', r);
      child.kill('SIGTERM');
    });
  return { url, stop };
}

async function cli(args) {
  const p = new Proc(args);
  const { code } = await p.exited;
  return { code, stdout: p.out, stderr: p.err, peak: p.peak };
}

/** One distributed run; `kill` SIGKILLs a worker once it has started a shard and measures the retry. */
async function distributedRun(ctx, s, syn, work, redis, tag, kill) {
  const lock = ['--lock-duration', String(s.lock), '--stalled-interval', String(s.stalled)];
  const workers = [0, 1].map(() => new Proc(['bulk', 'worker', '--redis', redis.url, '--threads', '1', ...lock]));
  for (const w of workers) await w.waitFor(/serving/, 30_000);
  try {
    const t0 = performance.now();
    const sub = await cli(['bulk', 'submit', '--redis', redis.url, '--store', join(work, 'store'), '--out', join(work, `out-${tag}`), '--shards', String(s.shards), '--run-id', `bench-${tag}-${Date.now()}`, ...syn]);
    if (sub.code !== 0) throw new Error(`submit failed: ${sub.stderr.trim()}`);
    const run = sub.stdout.trim().split('\n').pop();
    let retry = null;
    if (kill) {
      const victim = workers[0];
      const m = await victim.waitFor(new RegExp(`${run}-shard-(\\d+): start`), 600_000);
      if (!m) throw new Error('no shard started on the worker to kill');
      // Into the shard, not at its first block (a quick run's shard lasts well under a second).
      await new Promise((r) => setTimeout(r, ctx.quick ? 50 : 1000));
      const killedAt = performance.now();
      await victim.stop('SIGKILL');
      const again = new RegExp(`${run}-shard-${m[1]}: start`);
      workers.push(new Proc(['bulk', 'worker', '--redis', redis.url, '--threads', '1', ...lock]));
      for (;;) {
        if (workers.slice(1).some((w) => again.test(w.err))) break;
        await new Promise((r) => setTimeout(r, 20));
        if (performance.now() - killedAt > 600_000) throw new Error('the killed shard was not retried within 600 s');
      }
      retry = (performance.now() - killedAt) / 1000;
    }
    const st = await cli(['bulk', 'status', '--redis', redis.url, run, '--wait', '--json', '--interval', '100']);
    const seconds = (performance.now() - t0) / 1000;
    for (const w of workers) await w.stop();
    if (st.code !== 0) throw new Error(`the run did not complete: ${st.stdout.slice(0, 500)}`);
    const status = JSON.parse(st.stdout);
    return { seconds, retry, status, peaks: workers.map((w) => w.peak) };
  } finally {
    // Whatever happened, no worker outlives its run.
    for (const w of workers) await w.stop();
  }
}

export async function run(ctx) {
  const rows = [];
  if (!ctx.wantWorkload('D1')) return rows;
  const s = SIZES[ctx.quick ? 'quick' : 'full'];
  const syn = ['--synthetic', `${s.users}x${s.items}x${s.interactions}:42`, '--algo', 'itemknn', '--neighbors', '20', '--n', '10'];
  const work = mkdtempSync(join(tmpdir(), 'quiver-bench-dist-'));
  const mib = (b) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  try {
    if (ctx.wantImpl(ONE)) {
      ctx.log(`D1 one process (${fmtCount(s.users)} users)`);
      const t0 = performance.now();
      const r = await cli(['recommend', '--threads', '2', ...syn, '--out', join(work, 'one.parquet')]);
      const seconds = (performance.now() - t0) / 1000;
      if (r.code !== 0) rows.push(failedRow('D1', ONE, r.stderr.trim()));
      else {
        const fit = /fit ([\d.]+) s/.exec(r.stderr)?.[1];
        rows.push(measuredRow({ workload: 'D1', impl: ONE, what: 'quiver recommend --threads 2 --out one.parquet, wall time of the process', seconds, work: s.users, unit: 'users/s', timer: 'wall clock, one run', notes: [`fit ${fit} s`, `peak ${mib(r.peak)}`] }));
      }
    }
    if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
      rows.push(skippedRow('D1', DIST, 'redis-server is not installed (apt-get install redis-server)'));
      return rows;
    }
    const redis = await startRedis(work);
    try {
      for (const [impl, kill] of [
        [DIST, false],
        [RETRY, true],
      ]) {
        if (!ctx.wantImpl(impl)) continue;
        ctx.log(`D1 ${impl}`);
        try {
          const r = await distributedRun(ctx, s, syn, work, redis, kill ? 'kill' : 'plain', kill);
          const notes = [`fit ${r.status.fitSeconds?.toFixed(2)} s on one worker`, `${s.shards} shards`, `peak per worker ${r.peaks.map(mib).join(', ')}`, `event-loop delay max ${r.status.final?.eventLoopDelayMaxMs} ms`];
          if (kill) notes.unshift(`kill → shard restarted in ${r.retry.toFixed(1)} s (lock ${s.lock / 1000} s, stalled check every ${s.stalled / 1000} s)`);
          rows.push(measuredRow({ workload: 'D1', impl, what: 'bulk submit → bulk status --wait returns (fit job, shard jobs, finaliser), wall time', seconds: r.seconds, work: s.users, unit: 'users/s', timer: 'wall clock, one run', notes, extra: { retrySeconds: r.retry, peaks: r.peaks, status: r.status } }));
        } catch (err) {
          rows.push(failedRow('D1', impl, err));
        }
      }
    } finally {
      await redis.stop();
    }
    const one = rows.find((r) => r.impl === ONE && r.seconds);
    const dist = rows.find((r) => r.impl === DIST && r.seconds);
    if (one && dist) dist.notes.unshift(`overhead ${(((dist.seconds - one.seconds) / one.seconds) * 100).toFixed(1)}% of the one-process time`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return rows;
}
