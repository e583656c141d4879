/**
 * `quiver recommend`: the nightly bulk run. Fits the chosen algorithm on the interactions, then streams every
 * user (or one shard of them) through the engine in blocks and writes the top-n unseen items per user as the
 * blocks complete (see src/models/bulk.ts for the output format, checkpoints and --resume).
 */
import type { Command } from 'commander';
import { extname } from 'node:path';
import { QuiverError } from '../errors.js';
import { type BulkFormat, fingerprintOf, parseShard, runBulk, shardSpan } from '../models/bulk.js';
import { fitRecommender } from '../models/recommenders.js';
import { FitProgressLine, fitUnits, intOption, Progress, withEngine, withEngineOptions, type GlobalOptions } from './common.js';
import { type AlgoOptions, algoOptionsOf, type DataOptions, loadData, withAlgoOptions, withDataOptions } from './data-options.js';

interface Opts extends GlobalOptions, DataOptions, AlgoOptions {
  n: number;
  out: string;
  shard?: string;
  resume?: boolean;
  blockUsers?: number;
}

export function formatFromPath(out: string): BulkFormat {
  const ext = extname(out).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new QuiverError('INVALID_ARGUMENT', `--out must end in .csv, .jsonl or .parquet (got "${out}")`);
}

/**
 * The summary's count of short lists: users left without any item, and back-filled users; without back-fill,
 * a hint when some users got nothing (they used to go unnoticed).
 */
export function shortListsLine(without: number, backfilled: number, backfill: boolean): string {
  const fmt = (x: number) => x.toLocaleString('en-US');
  if (backfill) return `${fmt(backfilled)} user${backfilled === 1 ? '' : 's'} back-filled from popularity, ${fmt(without)} without recommendations`;
  return without === 0 ? 'every user has recommendations' : `${fmt(without)} user${without === 1 ? '' : 's'} without recommendations (--backfill popular tops them up)`;
}

export function registerRecommend(program: Command): void {
  const cmd = program
    .command('recommend')
    .description('bulk run: fit, then write the top-n unseen items of every user (streamed in blocks; --shard, --resume)');
  withDataOptions(cmd);
  withAlgoOptions(cmd);
  withEngineOptions(
    cmd
      .option('--n <n>', 'items per user', intOption('--n'), 10)
      .requiredOption('--out <file>', 'output: .csv (user,item,rank,score), .jsonl (one line per user) or .parquet')
      .option('--shard <i/N>', 'compute only shard i of N (1-based, contiguous slices of the users in input order)')
      .option('--resume', 'continue a killed run from its checkpoint (same input and options)')
      .option('--block-users <b>', 'users per block (default 4096)', intOption('--block-users')),
  ).action(async (opts: Opts) => {
    const format = formatFromPath(opts.out);
    const shard = opts.shard === undefined ? null : parseShard(opts.shard);
    const t0 = performance.now();
    const line = new FitProgressLine(`recommend ${opts.algo}`, fitUnits(opts.algo));
    line.note(`reading ${opts.ratings ?? `synthetic ${opts.synthetic ?? ''}`}`);
    const { data, identity, describe } = await loadData(opts).finally(() => line.done());
    await withEngine(opts, async (engine) => {
      const info = engine.info();
      const algo = algoOptionsOf(opts);
      const fitStart = performance.now();
      line.note('fit: preparing');
      let model: Awaited<ReturnType<typeof fitRecommender>>;
      try {
        model = await fitRecommender(engine, opts.algo, data, { ...algo, onProgress: line.update });
      } finally {
        line.done();
      }
      const fitSeconds = (performance.now() - fitStart) / 1000;
      const span = shard ? shardSpan(shard, model.users) : { row0: 0, row1: model.users };
      const fingerprint = fingerprintOf({ input: identity, algo: opts.algo, options: algo, n: opts.n, span, format, backend: info.backend });
      const progress = new Progress('recommend', span.row1 - span.row0, 'users');
      try {
        const s = await runBulk(model, {
          out: opts.out,
          format,
          n: opts.n,
          span,
          blockUsers: opts.blockUsers,
          resume: opts.resume === true,
          fingerprint,
          onProgress: (done) => progress.update(done),
        });
        progress.done();
        const rate = s.seconds > 0 ? Math.round(s.usersComputed / s.seconds) : 0;
        const resumed = s.resumedAt === null ? '' : `, resumed at user ${(s.resumedAt - span.row0).toLocaleString('en-US')} of ${s.users.toLocaleString('en-US')}`;
        const short = shortListsLine(s.usersWithout, s.usersBackfilled, model.backfill !== 'none');
        process.stderr.write(
          `recommend: ${opts.algo} on ${describe}; fit ${fitSeconds.toFixed(2)} s; ` +
            `${s.users.toLocaleString('en-US')} users${shard ? ` (shard ${shard.index}/${shard.count})` : ''}, ${s.rows.toLocaleString('en-US')} rows → ${opts.out} ` +
            `in ${s.seconds.toFixed(2)} s (${rate.toLocaleString('en-US')} users/s${resumed}); total ${((performance.now() - t0) / 1000).toFixed(2)} s on ${info.backend} (${info.simd}), ${info.threads} thread${info.threads === 1 ? '' : 's'}; ${short}\n`,
        );
      } finally {
        model.release();
      }
    });
  });
}
