/**
 * A bulk worker: serves the fit, shard and finalise jobs of every run on one Redis until it is stopped.
 *
 * Scoring runs in the engine's Piscina pool, so the main event loop (where BullMQ renews its job locks) stays
 * free; each shard measures the loop's delay while it runs and reports it with its result. Fits get their own
 * queue and a longer lock (they parse files and build matrices on the main thread too).
 *
 * Stopping (`stop()`, SIGTERM in the CLI): a shard finishes the block it is writing, hands itself back to the
 * queue (delayed by 0 ms, no attempt used) and the worker closes; a fit or finalise job runs to its end.
 */
import { DelayedError, FlowProducer, type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Engine } from '../engine/engine.js';
import type { Interactions } from '../data/ratings.js';
import { QuiverError } from '../errors.js';
import { type AnyRecommender, fitRecommender } from '../models/recommenders.js';
import {
  checkRedisUrl,
  FIT_QUEUE,
  type FinalData,
  finalJobId,
  type FittedRun,
  PREFIX,
  type RunSpec,
  SHARD_QUEUE,
  type ShardData,
  shardBlocks,
  shardJobId,
  workerConnectionOptions,
} from './run.js';
import {
  blockCounts,
  checkCoverage,
  checkRunRecord,
  checkWritableDir,
  finishedBlock,
  loadPublishedModel,
  mergeParts,
  partBytes,
  publishModel,
  removeStaleTemps,
  countedBlock,
  sumCounts,
  writeBlock,
  writeManifestAndSuccess,
  type BlockCounts,
} from './store.js';

export interface WorkerOptions {
  redis: string;
  engine: Engine;
  /** Loads a run's input from its data options (the CLI's loader). */
  load: (input: Record<string, unknown>) => Promise<{ data: Interactions; identity: Record<string, unknown> }>;
  /** Shard jobs at a time (default 1). */
  concurrency?: number;
  /** Lock of a shard job; renewed every half of it while the job runs (default 30 s). */
  lockDuration?: number;
  /** Lock of a fit job (default 10 min). */
  fitLockDuration?: number;
  /** How often stalled jobs (a dead worker's) are looked for (default 15 s). */
  stalledInterval?: number;
  /** How often a job may stall before it fails (default 5: a stall is what retries are for here). */
  maxStalledCount?: number;
  log?: (line: string) => void;
}

export interface ShardResult {
  shard: number;
  blocks: number;
  blocksWritten: number;
  blocksSkipped: number;
  users: number;
  rows: number;
  /** Sums over the shard's blocks (written or skipped): users back-filled, without any item, short of n. */
  usersBackfilled: number;
  usersWithout: number;
  usersShort: number;
  seconds: number;
  /** Event-loop delay while the shard ran (ms): what lock renewal waited at worst. */
  eventLoopDelayMs: { p50: number; p99: number; max: number };
  backend: string;
}

export interface BulkWorker {
  /** Resolves when the worker's connections are up (it keeps retrying while Redis is away). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/** BullMQ keeps only an error's message: the code travels in it as `CODE: message`, which QuiverError.from reads. */
function jobError(err: unknown): Error {
  const e = QuiverError.from(err);
  const text = `${e.code}: ${e.message}`;
  // A bad argument fails the same way on every attempt: fail at once instead of retrying.
  return e.code === 'INVALID_ARGUMENT' || e.code === 'SHAPE_MISMATCH' ? new UnrecoverableError(text) : new Error(text);
}

export function startWorker(opts: WorkerOptions): BulkWorker {
  checkRedisUrl(opts.redis);
  const log = opts.log ?? (() => undefined);
  const engine = opts.engine;
  const backend = engine.info().backend;
  const conn = new Redis(opts.redis, workerConnectionOptions());
  let outage = false;
  conn.on('error', (err: Error) => {
    if (!outage) log(`Redis at ${opts.redis} is unreachable (${err.message}); retrying with backoff`);
    outage = true;
  });
  conn.on('ready', () => {
    if (outage) log(`Redis at ${opts.redis} is back`);
    outage = false;
  });
  const flows = new FlowProducer({ connection: conn, prefix: PREFIX });
  const shardQueue = new Queue(SHARD_QUEUE, { connection: conn, prefix: PREFIX });
  // Loaded models by hash, shared by the shards of a run; the shards using one are counted, and a model no
  // shard uses is released once a newer one is loaded (a worker serves nightly runs for weeks).
  const models = new Map<string, { model: Promise<AnyRecommender>; users: number }>();
  let stopping = false;

  const acquireModel = (spec: RunSpec, hash: string): Promise<AnyRecommender> => {
    let m = models.get(hash);
    if (!m) {
      m = { model: loadPublishedModel(spec.store, hash, engine), users: 0 };
      models.set(hash, m);
      m.model.catch(() => models.delete(hash));
      for (const [h, other] of models) if (h !== hash && other.users === 0) dropModel(h);
    }
    m.users++;
    return m.model;
  };
  const releaseModel = (hash: string): void => {
    const m = models.get(hash);
    if (m) m.users--;
  };
  const dropModel = (hash: string): void => {
    const m = models.get(hash);
    models.delete(hash);
    m?.model.then(
      (x) => x.release(),
      () => undefined,
    );
  };

  async function fit(job: Job<RunSpec>): Promise<FittedRun> {
    const spec = job.data;
    await checkRunRecord(spec.store, spec.run);
    await checkWritableDir(spec.out, '--out');
    // A fit that died after queueing its shards (killed, or its lock lost) is not fitted again: the shards
    // already name their model.
    const queued = await shardQueue.getJob(finalJobId(spec.run));
    if (queued) {
      log(`${job.id}: shards were queued by an earlier attempt; nothing to fit`);
      return (queued.data as FinalData).fit;
    }
    log(`${job.id}: fitting ${spec.algo}`);
    const t0 = performance.now();
    const { data, identity } = await opts.load(spec.input);
    if (JSON.stringify(identity) !== JSON.stringify(spec.identity)) {
      throw new QuiverError('INVALID_ARGUMENT', `the input of run ${spec.run} changed after it was submitted (or this worker sees another file): submit it again`, { submitted: spec.identity, seen: identity });
    }
    // The mode is saved with the model, so a run with back-fill publishes (and its shards load) another model.
    const model = await fitRecommender(engine, spec.algo, data, { ...spec.options, backfill: spec.backfill ?? 'none' });
    try {
      const fitSeconds = (performance.now() - t0) / 1000;
      const hash = await publishModel(model, spec.store);
      const blocks = Math.ceil(model.users / spec.blockUsers);
      const shards = Math.max(1, Math.min(spec.shards, blocks));
      const fitted: FittedRun = { model: hash, users: model.users, items: model.items, blocks, shards, fitSeconds, backend };
      const attempts = { attempts: spec.attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
      // Ids from the run: a retried fit that gets here again adds nothing new (BullMQ keeps the first jobs,
      // with the first fit's model hash, so shards never mix two models).
      await flows.add({
        name: 'final',
        queueName: SHARD_QUEUE,
        data: { spec, fit: fitted } satisfies FinalData,
        opts: { jobId: finalJobId(spec.run), ...attempts },
        children: Array.from({ length: shards }, (_, k) => ({
          name: 'shard',
          queueName: SHARD_QUEUE,
          data: { spec, fit: fitted, shard: k + 1, ...shardBlocks(k + 1, shards, blocks) } satisfies ShardData,
          opts: { jobId: shardJobId(spec.run, k + 1), ...attempts, failParentOnFailure: true },
        })),
      });
      log(`${job.id}: model ${hash.slice(0, 12)} published (${fitSeconds.toFixed(2)} s); ${shards} shards of ${blocks} blocks queued`);
      return fitted;
    } finally {
      model.release();
    }
  }

  async function shard(job: Job<ShardData>, token: string | undefined): Promise<ShardResult> {
    const { spec, fit: fitted, shard: index, block0, block1 } = job.data;
    const t0 = performance.now();
    const eld = monitorEventLoopDelay({ resolution: 10 });
    eld.enable();
    let acquired = false;
    try {
      await checkRunRecord(spec.store, spec.run);
      acquired = true;
      const model = await acquireModel(spec, fitted.model);
      const U = fitted.users;
      const B = spec.blockUsers;
      const usersTotal = Math.min(U, block1 * B) - Math.min(U, block0 * B);
      const backfill = spec.backfill ?? 'none';
      let usersDone = 0;
      let rows = 0;
      let written = 0;
      let skipped = 0;
      const counted: BlockCounts[] = [];
      log(`${job.id}: start, blocks ${block0}..${block1 - 1} (attempt ${job.attemptsMade + 1})`);
      for (let b = block0; b < block1; b++) {
        if (stopping) {
          // Hand the shard back: the blocks done so far stay, the next worker skips them.
          await job.moveToDelayed(Date.now(), token);
          log(`${job.id}: handed back at block ${b}`);
          throw new DelayedError();
        }
        const row0 = b * B;
        const row1 = Math.min(U, row0 + B);
        const found = await finishedBlock(spec.out, b, fitted.model);
        if (found) {
          const done = await countedBlock(spec.out, found, async () => blockCounts(await model.recommendRows({ row0, row1 }, { n: spec.n, allow: null, backfill }), spec.n));
          skipped++;
          rows += done.rows;
          counted.push(done);
        } else {
          const res = await model.recommendRows({ row0, row1 }, { n: spec.n, allow: null, backfill });
          const { data, rows: r } = await partBytes(spec.outputFormat, res, model, row0, backfill !== 'none');
          const counts = blockCounts(res, spec.n);
          // The record that lands wins (a late writer of the same block gets the first one back): count that.
          counted.push(await writeBlock(spec.out, spec.outputFormat, { block: b, row0, row1, rows: r, model: fitted.model, backend, ...counts }, data));
          written++;
          rows += r;
        }
        usersDone += row1 - row0;
        await job.updateProgress({ usersDone, usersTotal, blocksDone: b + 1 - block0, blocksTotal: block1 - block0 });
      }
      const ms = (x: number) => Math.round(x / 1e4) / 100;
      const result: ShardResult = {
        shard: index,
        blocks: block1 - block0,
        blocksWritten: written,
        blocksSkipped: skipped,
        users: usersTotal,
        rows,
        ...sumCounts(counted),
        seconds: (performance.now() - t0) / 1000,
        eventLoopDelayMs: { p50: ms(eld.percentile(50)), p99: ms(eld.percentile(99)), max: ms(eld.max) },
        backend,
      };
      log(`${job.id}: done, ${written} blocks written, ${skipped} skipped, ${result.seconds.toFixed(2)} s, event-loop delay p99 ${result.eventLoopDelayMs.p99} ms, max ${result.eventLoopDelayMs.max} ms`);
      return result;
    } finally {
      eld.disable();
      if (acquired) releaseModel(fitted.model);
    }
  }

  async function finalise(job: Job<FinalData>): Promise<Record<string, unknown>> {
    const { spec, fit: fitted } = job.data;
    const records = await checkCoverage({ out: spec.out, format: spec.outputFormat, users: fitted.users, blockUsers: spec.blockUsers, model: fitted.model });
    const children = Object.values(await job.getChildrenValues()) as ShardResult[];
    const backfill = spec.backfill ?? 'none';
    if (spec.merge) await mergeParts(spec.out, spec.outputFormat, records, spec.merge, backfill !== 'none');
    const rows = records.reduce((s, r) => s + r.rows, 0);
    const counts = sumCounts(records);
    const backends = [...new Set(records.map((r) => r.backend))];
    const eldMax = children.reduce((m, c) => Math.max(m, c?.eventLoopDelayMs?.max ?? 0), 0);
    const manifest = {
      format: 'quiver-bulk-manifest',
      version: 1,
      run: spec.run,
      algo: spec.algo,
      options: spec.options,
      n: spec.n,
      backfill,
      input: spec.identity,
      model: fitted.model,
      users: fitted.users,
      items: fitted.items,
      rows,
      // As the summary of quiver recommend: users topped up from popularity, users left with no item at all,
      // and users left with fewer than n items (after any back-fill).
      usersBackfilled: counts.usersBackfilled,
      usersWithout: counts.usersWithout,
      usersShort: counts.usersShort,
      outputFormat: spec.outputFormat,
      blockUsers: spec.blockUsers,
      shards: fitted.shards,
      backends,
      merge: spec.merge,
      eventLoopDelayMaxMs: eldMax,
      parts: records.map(({ part, block, row0, row1, rows: r, bytes, sha256, usersBackfilled, usersWithout, usersShort }) => ({
        part,
        block,
        row0,
        row1,
        rows: r,
        bytes,
        sha256,
        usersBackfilled,
        usersWithout,
        usersShort,
      })),
    };
    await removeStaleTemps(spec.out);
    await writeManifestAndSuccess(spec.out, manifest);
    log(`${job.id}: complete, ${fitted.users} users, ${rows} rows in ${records.length} parts → ${spec.out}`);
    return { users: fitted.users, rows, parts: records.length, backends, eventLoopDelayMaxMs: eldMax, merge: spec.merge, backfill, ...counts };
  }

  const common = {
    connection: conn,
    prefix: PREFIX,
    stalledInterval: opts.stalledInterval ?? 15_000,
    maxStalledCount: opts.maxStalledCount ?? 5,
    autorun: true,
  };
  const wrap =
    <T, R>(fn: (job: Job<T>, token: string | undefined) => Promise<R>) =>
    async (job: Job<T>, token?: string): Promise<R> => {
      try {
        return await fn(job, token);
      } catch (err) {
        if (err instanceof DelayedError) throw err;
        const e = jobError(err);
        log(`${job.id}: failed (attempt ${job.attemptsMade + 1}): ${e.message}`);
        throw e;
      }
    };
  const fitWorker = new Worker<RunSpec, FittedRun>(FIT_QUEUE, wrap(fit), { ...common, concurrency: 1, lockDuration: opts.fitLockDuration ?? 600_000 });
  const shardWorker = new Worker<ShardData | FinalData>(
    SHARD_QUEUE,
    wrap((job: Job<ShardData | FinalData>, token): Promise<ShardResult | Record<string, unknown>> => (job.name === 'final' ? finalise(job as Job<FinalData>) : shard(job as Job<ShardData>, token))),
    { ...common, concurrency: opts.concurrency ?? 1, lockDuration: opts.lockDuration ?? 30_000 },
  );
  // Without a listener an 'error' event would end the process; connection problems are logged once above.
  const onError = (err: Error) => {
    if (!outage && !/ECONNREFUSED|Connection is closed|ETIMEDOUT|ECONNRESET/.test(err.message)) log(`worker error: ${err.message}`);
  };
  fitWorker.on('error', onError);
  shardWorker.on('error', onError);
  const ready = Promise.all([fitWorker.waitUntilReady(), shardWorker.waitUntilReady()]).then(() => undefined);
  ready.catch(() => undefined);

  return {
    ready,
    async stop() {
      stopping = true;
      // With Redis away a graceful close would wait for it forever; nothing can be handed back then anyway
      // (the job's lock runs out and the stalled check gives the shard to another worker).
      const force = conn.status !== 'ready';
      await Promise.all([shardWorker.close(force), fitWorker.close(force)]);
      if (force) conn.disconnect();
      await flows.close();
      await shardQueue.close();
      for (const m of models.values()) {
        try {
          (await m.model).release();
        } catch {
          // a model that failed to load holds nothing
        }
      }
      conn.disconnect();
    },
  };
}
