/**
 * `quiver bulk submit|worker|status`: one bulk run split over many machines on BullMQ and Redis (see
 * src/distributed/run.ts for the jobs, src/distributed/store.ts for the output and its exactly-once rules).
 */
import { type Command, Option } from 'commander';
import { resolve } from 'node:path';
import { QuiverError } from '../errors.js';
import type { BulkFormat } from '../models/bulk.js';
import { type RunStatus, runStatus, submitRun } from '../distributed/run.js';
import { startWorker } from '../distributed/worker.js';
import { engineFrom, intOption, type GlobalOptions, withEngineOptions } from './common.js';
import { shortListsLine } from './recommend.js';
import { type AlgoOptions, algoOptionsOf, type DataOptions, identityOf, loadData, withAlgoOptions, withDataOptions } from './data-options.js';

interface SubmitOpts extends DataOptions, AlgoOptions {
  redis: string;
  store: string;
  out: string;
  outputFormat: BulkFormat;
  shards: number;
  merge?: string;
  n: number;
  blockUsers: number;
  attempts: number;
  runId?: string;
}

interface WorkerOpts extends GlobalOptions {
  redis: string;
  concurrency: number;
  lockDuration: number;
  fitLockDuration: number;
  stalledInterval: number;
}

interface StatusOpts {
  redis: string;
  json?: boolean;
  wait?: boolean;
  interval: number;
}

const DATA_KEYS = ['ratings', 'synthetic', 'format', 'userCol', 'itemCol', 'ratingCol', 'delimiter', 'implicit', 'minRating', 'duplicates'] as const;

function line(st: RunStatus): string {
  const users = st.users === null ? '?' : st.users.toLocaleString('en-US');
  const s = st.shards;
  let text = `${st.run}: ${st.state}; shards ${s.done}/${s.total} done, ${s.running} running, ${s.failed} failed; users ${st.usersDone.toLocaleString('en-US')}/${users}`;
  if (st.usersPerSecond !== null) text += `, ${st.usersPerSecond.toLocaleString('en-US')} users/s`;
  if (st.etaSeconds !== null && st.state !== 'complete') text += `, ETA ${st.etaSeconds.toFixed(0)} s`;
  for (const f of st.failed) text += `\n  ${f.id} failed after ${f.attempts} attempt${f.attempts === 1 ? '' : 's'}: ${f.code}: ${f.message}`;
  if (st.state === 'complete') {
    text += `; ${shortListsLine(st.usersWithout, st.usersBackfilled, st.backfill !== 'none')}`;
    text += `\n  output: ${st.out} (_manifest.json, _SUCCESS)`;
  }
  return text;
}

export function registerBulk(program: Command): void {
  const bulk = program.command('bulk').description('a bulk recommendation run split over many machines (BullMQ on Redis): submit, worker, status');

  const submit = bulk
    .command('submit')
    .description('queue a run: one fit job, then shards of users scored by any worker; prints the run id last (--backfill popular: parts and merge gain the source column of quiver recommend)')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .requiredOption('--store <dir>', 'shared directory for the run record and the fitted model (every worker must reach it)')
    .requiredOption('--out <dir>', 'shared output directory: part-NNNNN.<format>, _manifest.json, _SUCCESS')
    .addOption(new Option('--output-format <f>', 'format of the parts').choices(['parquet', 'csv', 'jsonl']).default('parquet'))
    .option('--shards <s>', 'shard jobs (contiguous runs of blocks)', intOption('--shards'), 16)
    .option('--merge <file>', 'also write one file byte-identical to `quiver recommend --out FILE` (same format as the parts)')
    .option('--n <n>', 'items per user', intOption('--n'), 10)
    .option('--block-users <b>', 'users per block (one part file each)', intOption('--block-users'), 4096)
    .option('--attempts <a>', 'tries per job before the run is failed', intOption('--attempts'), 3)
    .option('--run-id <id>', 'the run id (default: a hash of the input, options and directories, so a resubmission is the same run)');
  withDataOptions(submit);
  withAlgoOptions(submit);
  submit.action(async (opts: SubmitOpts) => {
    const input: Record<string, unknown> = {};
    for (const k of DATA_KEYS) if (opts[k] !== undefined) input[k] = opts[k];
    if (typeof input.ratings === 'string') input.ratings = resolve(input.ratings);
    const identity = await identityOf(opts);
    const r = await submitRun({
      redis: opts.redis,
      store: opts.store,
      out: opts.out,
      outputFormat: opts.outputFormat,
      shards: opts.shards,
      blockUsers: opts.blockUsers,
      merge: opts.merge ?? null,
      attempts: opts.attempts,
      input,
      identity,
      algo: opts.algo,
      options: algoOptionsOf(opts),
      n: opts.n,
      backfill: opts.backfill ?? 'none',
      runId: opts.runId,
    });
    process.stderr.write(r.created ? `bulk submit: run queued (fit, then ${opts.shards} shards)\n` : `bulk submit: this run was submitted before (${r.state}); nothing added\n`);
    process.stdout.write(`${r.run}\n`);
  });

  withEngineOptions(
    bulk
      .command('worker')
      .description('serve the jobs of every run on this Redis until SIGTERM (then finish or hand back the current block, exit 0)')
      .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
      .option('--concurrency <c>', 'shard jobs at a time', intOption('--concurrency'), 1)
      .option('--lock-duration <ms>', 'shard job lock, renewed every half of it (ms)', intOption('--lock-duration', 100), 30_000)
      .option('--fit-lock-duration <ms>', 'fit job lock (ms)', intOption('--fit-lock-duration', 100), 600_000)
      .option('--stalled-interval <ms>', 'how often to look for the jobs of dead workers (ms)', intOption('--stalled-interval', 100), 15_000),
  ).action(async (opts: WorkerOpts) => {
    const engine = await engineFrom(opts);
    const info = engine.info();
    const log = (s: string) => process.stderr.write(`bulk worker ${process.pid}: ${s}\n`);
    const worker = startWorker({
      redis: opts.redis,
      engine,
      concurrency: opts.concurrency,
      lockDuration: opts.lockDuration,
      fitLockDuration: opts.fitLockDuration,
      stalledInterval: opts.stalledInterval,
      load: async (input) => {
        const d = await loadData(input as DataOptions);
        return { data: d.data, identity: d.identity };
      },
      log,
    });
    log(`serving ${opts.redis} on ${info.backend} (${info.simd}), ${info.threads} thread${info.threads === 1 ? '' : 's'}, concurrency ${opts.concurrency}`);
    await new Promise<void>((done) => {
      let once = false;
      const stop = (sig: string) => {
        if (once) return;
        once = true;
        log(`${sig}: finishing the current block, then stopping`);
        worker
          .stop()
          .then(() => engine.close())
          .then(() => {
            log('stopped');
            done();
          }, (err: unknown) => {
            log(`stop failed: ${(err as Error).message}`);
            process.exitCode = 1;
            done();
          });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  });

  bulk
    .command('status')
    .description('a run: shards done/running/failed, users done, users/s, ETA (--wait: until complete, exit 0, or failed, exit 1)')
    .argument('<run>', 'the run id that submit printed')
    .requiredOption('--redis <url>', 'Redis URL, e.g. redis://127.0.0.1:6379')
    .option('--json', 'the status as JSON')
    .option('--wait', 'wait until the run is complete (exit 0) or failed (exit 1)')
    .option('--interval <ms>', '--wait: time between looks (ms)', intOption('--interval', 50), 1000)
    .action(async (run: string, opts: StatusOpts) => {
      let st = await runStatus(opts.redis, run);
      const tty = process.stderr.isTTY === true;
      while (opts.wait && st.state !== 'complete' && st.state !== 'failed') {
        if (tty && !opts.json) process.stderr.write(`\r\x1b[2K${line(st).split('\n')[0]}`);
        await new Promise((r) => setTimeout(r, opts.interval));
        try {
          st = await runStatus(opts.redis, run);
        } catch (err) {
          // Redis away for a moment (a restart): keep waiting; anything else is an answer.
          if (!(err instanceof QuiverError && err.code === 'UNAVAILABLE')) throw err;
        }
      }
      if (tty && opts.wait && !opts.json) process.stderr.write('\r\x1b[2K');
      process.stdout.write(opts.json ? `${JSON.stringify(st, null, 2)}\n` : `${line(st)}\n`);
      if (opts.wait && st.state === 'failed') process.exitCode = 1;
    });
}
