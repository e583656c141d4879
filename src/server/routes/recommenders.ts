/** Recommenders: fit from interactions in the body, a file under the data directory, or the synthetic generator. */
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { interactionsFromTriples, readRatings, type Interactions } from '../../data/ratings.js';
import { SyntheticInteractions } from '../../data/synthetic.js';
import { QuiverError } from '../../errors.js';
import { fitRecommender, loadRecommender, type AnyRecommender } from '../../models/recommenders.js';
import { checkK, compute, COMPUTE, type Limits, type ServerContext } from '../context.js';
import { Registry, type Stored } from '../registry.js';
import { errorResponses, paramErrorResponses } from '../schemas/common.js';
import { RecId, RecommendReply, RecommenderList, RecommenderSummary, recommenderSchemas, SimilarParams } from '../schemas/recommenders.js';

type Schemas = ReturnType<typeof recommenderSchemas>;

export function recommenderRegistry(dataDir: string): Registry<AnyRecommender> {
  return new Registry<AnyRecommender>(dataDir, 'recommenders', 'rec', 'recommender', {
    save: (m, path) => m.save(path),
    load: loadRecommender,
  });
}

/** What a client sees of a recommender: its `summary()`, with its id and creation time. */
function summarize(s: Stored<AnyRecommender>): Record<string, unknown> {
  return { id: s.id, ...s.model.summary(), createdAt: s.createdAt };
}

/** A path under the data directory, after resolving links: nothing outside it can be read. */
async function fileUnder(dataDir: string, file: string): Promise<string> {
  const root = await realpath(dataDir);
  let full: string;
  try {
    full = await realpath(resolve(root, file));
  } catch {
    throw new QuiverError('NOT_FOUND', `no file "${file}" under the data directory`, { file });
  }
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) {
    throw new QuiverError('INVALID_ARGUMENT', `file must name a file under the data directory (got "${file}")`, { file });
  }
  return full;
}

async function interactionsOf(b: Static<Schemas['RecommenderBody']>, dataDir: string, limits: Limits): Promise<Interactions> {
  const sources = [b.interactions, b.file, b.synthetic].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new QuiverError('INVALID_ARGUMENT', 'give exactly one of interactions, file or synthetic');
  const opts = { feedback: b.feedback, minRating: b.minRating };
  if (b.interactions) {
    const { users, items, ratings } = b.interactions;
    return interactionsFromTriples(users, items, ratings ?? null, opts);
  }
  if (b.file) return readRatings(await fileUnder(dataDir, b.file), opts);
  const s = b.synthetic!;
  if (s.interactions > limits.maxCells) {
    throw new QuiverError('TOO_LARGE', `synthetic.interactions = ${s.interactions} is over the limit of ${limits.maxCells} (maxCells)`, { limit: 'maxCells' });
  }
  return new SyntheticInteractions({ users: s.users, items: s.items, interactions: s.interactions, seed: s.seed ?? 42 }).toInteractions();
}

export function recommenderRoutes(registry: Registry<AnyRecommender>) {
  return async (app: FastifyInstance, ctx: ServerContext): Promise<void> => {
    const { RecommenderBody, RecommendBody, SimilarQuery } = recommenderSchemas(ctx.limits);
    app.post(
      '/v1/recommenders',
      { config: COMPUTE, schema: { summary: 'fit a recommender (itemknn, userknn, ease, popular, als)', body: RecommenderBody, response: { 200: RecommenderSummary, ...errorResponses } } },
      async (request, reply) => {
        const b = request.body as Static<Schemas['RecommenderBody']>;
        const model = await compute(ctx, reply, async (signal) => {
          const data = await interactionsOf(b, ctx.dataDir, ctx.limits);
          return fitRecommender(ctx.engine, b.algo, data, {
            neighbors: b.neighbors,
            similarity: b.similarity,
            shrink: b.shrink,
            weighting: b.weighting,
            bm25K1: b.bm25K1,
            bm25B: b.bm25B,
            lambda: b.lambda,
            backfill: b.backfill,
            factors: b.factors,
            iterations: b.iterations,
            regularization: b.regularization,
            regularizationMode: b.regularizationMode,
            alpha: b.alpha,
            solver: b.solver,
            minItemSupport: b.minItemSupport,
            precision: b.precision,
            signal,
          });
        });
        return summarize(await registry.add(model));
      },
    );

    app.get('/v1/recommenders', { schema: { summary: 'list fitted recommenders', response: { 200: RecommenderList, ...errorResponses } } }, async () => ({ recommenders: registry.list().map(summarize) }));

    app.get('/v1/recommenders/:id', { schema: { summary: 'one fitted recommender', params: RecId, response: { 200: RecommenderSummary, ...paramErrorResponses } } }, async (request) =>
      summarize(registry.get((request.params as Static<typeof RecId>).id)),
    );

    app.delete('/v1/recommenders/:id', { schema: { summary: 'delete a recommender', params: RecId, response: { 204: Type.Null({ description: 'deleted' }), ...paramErrorResponses } } }, async (request, reply) => {
      await registry.delete((request.params as Static<typeof RecId>).id);
      return reply.status(204).send();
    });

    app.post(
      '/v1/recommenders/:id/recommend',
      {
config: COMPUTE,         schema: {
          summary: 'top-n items for a known user, or for an anonymous basket of items',
          params: RecId,
          body: RecommendBody,
          response: { 200: RecommendReply, ...paramErrorResponses },
        },
      },
      async (request, reply) => {
        const s = registry.get((request.params as Static<typeof RecId>).id);
        const b = request.body as Static<Schemas['RecommendBody']>;
        checkK(b.n, 'n', ctx.limits);
        if ((b.user === undefined) === (b.items === undefined)) throw new QuiverError('INVALID_ARGUMENT', 'give exactly one of user or items');
        const opts = { n: b.n, filterSeen: b.filterSeen, exclude: b.exclude?.map(String), include: b.include?.map(String), backfill: b.backfill };
        const recs = await compute(ctx, reply, async (signal) =>
          b.user !== undefined ? (await s.model.recommend(b.user, { ...opts, signal }))[0]!.items : s.model.recommendForItems(b.items!, { ...opts, signal }),
        );
        return recommendReply(recs);
      },
    );

    app.get(
      '/v1/recommenders/:id/similar/:item',
      { config: COMPUTE, schema: { summary: 'the n items most similar to an item', params: SimilarParams, querystring: SimilarQuery, response: { 200: RecommendReply, ...paramErrorResponses } } },
      async (request, reply) => {
        const { id, item } = request.params as Static<typeof SimilarParams>;
        const n = (request.query as Static<Schemas['SimilarQuery']>).n ?? 10;
        checkK(n, 'n', ctx.limits);
        const model = registry.get(id).model;
        // similarItems takes no signal: admission and the deadline still bound it (an aborted request answers 503).
        const recs = await compute(ctx, reply, async (signal) => {
          const r = await model.similarItems(item, n);
          if (signal.aborted) throw new QuiverError('ABORTED', 'the request was aborted');
          return r;
        });
        return recommendReply(recs);
      },
    );
  };
}

/** A recommend or similar-items answer: the items and their scores, best first. */
function recommendReply(recs: { item: string; score: number; source?: 'popular' }[]): { items: string[]; scores: number[]; sources?: ('model' | 'popular')[] } {
  const reply: { items: string[]; scores: number[]; sources?: ('model' | 'popular')[] } = { items: recs.map((r) => r.item), scores: recs.map((r) => r.score) };
  // Replies keep their two arrays unless something was back-filled.
  if (recs.some((r) => r.source !== undefined)) reply.sources = recs.map((r) => r.source ?? 'model');
  return reply;
}
