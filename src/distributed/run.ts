/**
 * Distributed bulk runs on BullMQ (Redis): the run's description, the queues, submit and status.
 *
 * A run is three kinds of jobs with ids derived from the run id, so a resubmitted run or a duplicated message
 * never makes a second copy:
 *   `<run>-fit`      (queue bulk-fit) loads the data, fits once, publishes the model to the store by content
 *                    hash, then adds the flow below;
 *   `<run>-final`    (queue bulk-shard) the parent of the shards: runs once every shard has completed; checks
 *                    coverage, writes the optional merge, `_manifest.json`, then `_SUCCESS`;
 *   `<run>-shard-N`  (queue bulk-shard) scores blocks [b0, b1) with the published model; a shard that fails
 *                    `attempts` times fails the parent, so the run is failed and has no `_SUCCESS`.
 */
import { type Job, Queue } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { QuiverError } from '../errors.js';
import { type BackfillMode, checkBackfill } from '../models/backfill.js';
import type { BulkFormat } from '../models/bulk.js';
import type { RecommenderKind } from '../models/recommender.js';
import type { RecommenderOptions } from '../models/recommenders.js';
import { checkWritableDir, exists, writeRunRecord } from './store.js';

export const PREFIX = 'quiver';
export const FIT_QUEUE = 'bulk-fit';
export const SHARD_QUEUE = 'bulk-shard';

/** Everything a worker needs to run a run's jobs: JSON, stored in the fit job and in STORE/runs/<run>.json. */
export interface RunSpec {
  format: 'quiver-bulk-run';
  version: 1;
  run: string;
  /** The data options of `quiver recommend`, as given (the worker's loader reads them). */
  input: Record<string, unknown>;
  /** What identifies the input (path, size and mtime, or the synthetic spec). */
  identity: Record<string, unknown>;
  algo: RecommenderKind;
  /** The model options, without `backfill` (the mode is `backfill` below). */
  options: RecommenderOptions;
  n: number;
  /** Top up short lists with popular items (absent in the specs of older submitters: none). */
  backfill?: BackfillMode;
  store: string;
  out: string;
  outputFormat: BulkFormat;
  shards: number;
  blockUsers: number;
  merge: string | null;
  attempts: number;
}

/** What the fit job hands to the shards and the finaliser. */
export interface FittedRun {
  model: string;
  users: number;
  items: number;
  blocks: number;
  shards: number;
  fitSeconds: number;
  backend: string;
}

export interface ShardData {
  spec: RunSpec;
  fit: FittedRun;
  shard: number;
  block0: number;
  block1: number;
}

export interface FinalData {
  spec: RunSpec;
  fit: FittedRun;
}

export const fitJobId = (run: string) => `${run}-fit`;
export const finalJobId = (run: string) => `${run}-final`;
export const shardJobId = (run: string, shard: number) => `${run}-shard-${shard}`;

/** Shard i (1-based) of S over K blocks: blocks [⌊(i−1)·K/S⌋, ⌊i·K/S⌋). */
export function shardBlocks(i: number, shards: number, blocks: number): { block0: number; block1: number } {
  return { block0: Math.floor(((i - 1) * blocks) / shards), block1: Math.floor((i * blocks) / shards) };
}

export function checkRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new QuiverError('INVALID_ARGUMENT', `--redis must be a URL such as redis://127.0.0.1:6379 (got "${url}")`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QuiverError('INVALID_ARGUMENT', `--redis must start with redis:// or rediss:// (got "${url}")`);
  return url;
}

/**
 * A connection for a short command (submit, status): a few quick retries, then a clear UNAVAILABLE error
 * instead of waiting forever. Workers use `workerConnection`, which waits and retries with backoff.
 */
export async function quickConnection(url: string): Promise<Redis> {
  checkRedisUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => (times > 3 ? null : 200 * times),
  });
  let last: unknown = null;
  redis.on('error', (err) => {
    last = err;
  });
  try {
    await redis.connect();
    await redis.ping();
    await checkPolicy(redis);
  } catch (err) {
    redis.disconnect();
    if (err instanceof QuiverError) throw err;
    const why = (last as Error | null)?.message ?? (err as Error).message;
    throw new QuiverError('UNAVAILABLE', `Redis at ${url} is unreachable (${why}); start it or check --redis`, { redis: url });
  }
  return redis;
}

/** BullMQ needs Redis to keep every key: a maxmemory-policy other than noeviction can drop jobs. */
async function checkPolicy(redis: Redis): Promise<void> {
  try {
    const r = (await redis.config('GET', 'maxmemory-policy')) as string[];
    const policy = r[1];
    if (policy && policy !== 'noeviction') {
      throw new QuiverError('INVALID_ARGUMENT', `Redis has maxmemory-policy ${policy}: set it to noeviction (BullMQ loses jobs when keys are evicted)`, { policy });
    }
  } catch (err) {
    // Managed Redis services may refuse CONFIG: nothing to check then.
    if (err instanceof QuiverError) throw err;
  }
}

/** Options for the long-lived connections of a worker: never give up, back off up to 5 s between tries. */
export function workerConnectionOptions(): RedisOptions {
  return { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(5000, 100 * 2 ** Math.min(times, 6)) };
}

export function runIdOf(parts: Record<string, unknown>): string {
  return `r${createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16)}`;
}

export interface SubmitInput {
  redis: string;
  store: string;
  out: string;
  outputFormat: BulkFormat;
  shards: number;
  blockUsers: number;
  merge: string | null;
  attempts: number;
  input: Record<string, unknown>;
  identity: Record<string, unknown>;
  algo: RecommenderKind;
  options: RecommenderOptions;
  n: number;
  /** Default: `options.backfill`, itself none unless set. */
  backfill?: BackfillMode;
  runId?: string;
}

export interface SubmitResult {
  run: string;
  /** False when a run with this id was already there (nothing was added). */
  created: boolean;
  state: string;
}

export async function submitRun(s: SubmitInput): Promise<SubmitResult> {
  const store = resolve(s.store);
  const out = resolve(s.out);
  const merge = s.merge === null ? null : resolve(s.merge);
  if (!Number.isInteger(s.shards) || s.shards < 1) throw new QuiverError('INVALID_ARGUMENT', `--shards must be a whole number ≥ 1 (got ${s.shards})`);
  if (merge !== null) {
    const ext = merge.toLowerCase().split('.').pop();
    const want = s.outputFormat === 'jsonl' ? ['jsonl', 'ndjson'] : [s.outputFormat];
    if (!want.includes(ext ?? '')) throw new QuiverError('INVALID_ARGUMENT', `--merge must end in .${s.outputFormat}, the --output-format of the parts (got "${s.merge}")`);
  }
  const backfill = checkBackfill(s.backfill ?? s.options.backfill);
  // The mode lives in the spec once (the fit hands it to the model); `--backfill none` and no --backfill are one run.
  const { backfill: _inOptions, ...options } = s.options;
  // Part of the id only when on: a run submitted without --backfill keeps the id it had before the option existed.
  const run =
    s.runId ??
    runIdOf({ identity: s.identity, algo: s.algo, options, n: s.n, out, store, format: s.outputFormat, shards: s.shards, blockUsers: s.blockUsers, merge, ...(backfill === 'none' ? {} : { backfill }) });
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(run)) throw new QuiverError('INVALID_ARGUMENT', `--run-id takes letters, digits, _, . and - (at most 64; got "${run}")`);
  await checkWritableDir(store, '--store');
  await checkWritableDir(out, '--out');
  if (await exists(join(out, '_SUCCESS'))) {
    const { readFile } = await import('node:fs/promises');
    let other = '?';
    try {
      other = (JSON.parse(await readFile(join(out, '_manifest.json'), 'utf8')) as { run?: string }).run ?? '?';
    } catch {
      // unreadable manifest: still another run's output
    }
    if (other !== run) throw new QuiverError('INVALID_ARGUMENT', `--out ${out} holds the finished output of run ${other}: give an empty directory`, { out, run: other });
  }
  const spec: RunSpec = {
    format: 'quiver-bulk-run',
    version: 1,
    run,
    input: s.input,
    identity: s.identity,
    algo: s.algo,
    options,
    n: s.n,
    backfill,
    store,
    out,
    outputFormat: s.outputFormat,
    shards: s.shards,
    blockUsers: s.blockUsers,
    merge,
    attempts: s.attempts,
  };
  const redis = await quickConnection(s.redis);
  const queue = new Queue(FIT_QUEUE, { connection: redis, prefix: PREFIX });
  try {
    const existing = await queue.getJob(fitJobId(run));
    if (existing) return { run, created: false, state: await existing.getState() };
    await writeRunRecord(store, run, spec);
    await queue.add('fit', spec, {
      jobId: fitJobId(run),
      attempts: s.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: false,
      removeOnFail: false,
    });
    return { run, created: true, state: 'waiting' };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

export type RunState = 'queued' | 'fitting' | 'scoring' | 'finalising' | 'complete' | 'failed';

export interface ShardStatus {
  shard: number;
  id: string;
  state: string;
  users: number;
  usersDone: number;
  attempts: number;
  error: { code: string; message: string } | null;
}

export interface RunStatus {
  run: string;
  state: RunState;
  users: number | null;
  usersDone: number;
  shards: { total: number; done: number; running: number; failed: number; waiting: number };
  usersPerSecond: number | null;
  etaSeconds: number | null;
  failed: { id: string; code: string; message: string; attempts: number }[];
  out: string;
  model: string | null;
  /** Seconds the fit job took to load the data and fit (once the fit is done). */
  fitSeconds: number | null;
  details: ShardStatus[];
  final: Record<string, unknown> | null;
  backfill: BackfillMode;
  /** Sums over the shards completed so far (the run's totals once it is complete; see the manifest). */
  usersBackfilled: number;
  usersWithout: number;
  usersShort: number;
}

/** The counts a completed shard returns (src/distributed/worker.ts ShardResult). */
interface ShardCounts {
  usersBackfilled: number;
  usersWithout: number;
  usersShort: number;
}

interface ShardProgress {
  usersDone?: number;
  usersTotal?: number;
}

function errorOf(reason: string | undefined): { code: string; message: string } {
  const e = QuiverError.from(new Error(reason ?? 'unknown failure'));
  return { code: e.code, message: e.message };
}

/**
 * A job and its state, the state read first. A job read before its state can predate the outcome the state then
 * reports: a failure seen with no reason and no attempts ("unknown failure"), as a status poll racing the
 * failure once showed. Read after a final state, the job carries that outcome: BullMQ records the reason and
 * moves the job to its final set in one step. 'missing' when there is no such job.
 */
async function jobAndState(q: Queue, id: string): Promise<{ job: Job | undefined; state: string }> {
  const first = await q.getJobState(id);
  const job = await q.getJob(id);
  if (!job) return { job: undefined, state: 'missing' };
  return { job, state: first === 'unknown' ? await job.getState() : first };
}

export async function runStatus(url: string, run: string): Promise<RunStatus> {
  const redis = await quickConnection(url);
  const fitQ = new Queue(FIT_QUEUE, { connection: redis, prefix: PREFIX });
  const shardQ = new Queue(SHARD_QUEUE, { connection: redis, prefix: PREFIX });
  try {
    const { job: fitJob, state: fitState } = await jobAndState(fitQ, fitJobId(run));
    if (!fitJob) throw new QuiverError('NOT_FOUND', `no run ${run} on ${url} (quiver bulk submit prints the run id as its last line)`, { run });
    const spec = fitJob.data as RunSpec;
    const st: RunStatus = {
      run,
      state: 'queued',
      users: null,
      usersDone: 0,
      shards: { total: spec.shards, done: 0, running: 0, failed: 0, waiting: spec.shards },
      usersPerSecond: null,
      etaSeconds: null,
      failed: [],
      out: spec.out,
      model: null,
      fitSeconds: null,
      details: [],
      final: null,
      backfill: spec.backfill ?? 'none',
      usersBackfilled: 0,
      usersWithout: 0,
      usersShort: 0,
    };
    if (fitState === 'failed') {
      st.state = 'failed';
      st.failed.push({ id: fitJob.id!, ...errorOf(fitJob.failedReason), attempts: fitJob.attemptsMade });
      return st;
    }
    if (fitState !== 'completed') {
      st.state = fitState === 'active' ? 'fitting' : 'queued';
      return st;
    }
    const fit = fitJob.returnvalue as FittedRun;
    st.users = fit.users;
    st.model = fit.model;
    st.fitSeconds = fit.fitSeconds;
    st.shards = { total: fit.shards, done: 0, running: 0, failed: 0, waiting: 0 };
    let firstStart = Number.POSITIVE_INFINITY;
    for (let i = 1; i <= fit.shards; i++) {
      const id = shardJobId(run, i);
      const { block0, block1 } = shardBlocks(i, fit.shards, fit.blocks);
      const users = Math.min(fit.users, block1 * spec.blockUsers) - Math.min(fit.users, block0 * spec.blockUsers);
      const { job, state } = await jobAndState(shardQ, id);
      let done = 0;
      if (state === 'completed') done = users;
      else if (job && typeof job.progress === 'object' && job.progress !== null) done = (job.progress as ShardProgress).usersDone ?? 0;
      if (job?.processedOn) firstStart = Math.min(firstStart, job.processedOn);
      const error = job?.failedReason ? errorOf(job.failedReason) : null;
      st.details.push({ shard: i, id, state, users, usersDone: done, attempts: job?.attemptsMade ?? 0, error });
      st.usersDone += done;
      if (state === 'completed') {
        st.shards.done++;
        const counts = job?.returnvalue as Partial<ShardCounts> | undefined;
        st.usersBackfilled += counts?.usersBackfilled ?? 0;
        st.usersWithout += counts?.usersWithout ?? 0;
        st.usersShort += counts?.usersShort ?? 0;
      }
      else if (state === 'active') st.shards.running++;
      else if (state === 'failed') {
        st.shards.failed++;
        st.failed.push({ id, ...(error ?? { code: 'INTERNAL', message: 'failed' }), attempts: job?.attemptsMade ?? 0 });
      } else st.shards.waiting++;
    }
    const { job: finalJob, state: finalState } = await jobAndState(shardQ, finalJobId(run));
    const end = finalState === 'completed' && finalJob?.finishedOn ? finalJob.finishedOn : Date.now();
    if (Number.isFinite(firstStart) && end > firstStart) {
      st.usersPerSecond = Math.round((st.usersDone / (end - firstStart)) * 1000);
      st.etaSeconds = st.usersPerSecond > 0 ? (fit.users - st.usersDone) / st.usersPerSecond : null;
    }
    if (finalState === 'completed') {
      st.state = 'complete';
      st.final = finalJob?.returnvalue as Record<string, unknown>;
      st.etaSeconds = 0;
    } else if (finalState === 'failed' || st.shards.failed > 0) {
      st.state = 'failed';
      if (finalState === 'failed' && st.shards.failed === 0) st.failed.push({ id: finalJobId(run), ...errorOf(finalJob?.failedReason), attempts: finalJob?.attemptsMade ?? 0 });
    } else {
      st.state = st.shards.done === fit.shards ? 'finalising' : 'scoring';
    }
    return st;
  } finally {
    await fitQ.close();
    await shardQ.close();
    redis.disconnect();
  }
}
