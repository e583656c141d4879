import { Type } from 'typebox';
import { RECOMMENDER_KINDS } from '../../models/registry.js';
import type { Limits } from '../context.js';
import { Cell } from './common.js';
import { ID_MAX } from './models.js';

/** A user or item id as the caller knows it: a string or a number. */
const Id = Type.Union([Type.String({ minLength: 1, maxLength: 256 }), Type.Number()]);

export function recommenderSchemas(limits: Limits) {
  const n = Type.Integer({ minimum: 1, maximum: limits.maxK, description: 'items to return (at most maxK)' });
  const ids = (what: string) => Type.Array(Id, { minItems: 1, maxItems: limits.maxCells, description: what });
  return {
    RecommenderBody: Type.Object(
      {
        algo: Type.Union(RECOMMENDER_KINDS.map((k) => Type.Literal(k))),
        interactions: Type.Optional(
          Type.Object(
            {
              users: ids('the user of each interaction'),
              items: ids('the item of each interaction (as many as users)'),
              ratings: Type.Optional(Type.Array(Cell, { minItems: 1, maxItems: limits.maxCells, description: 'the rating of each interaction (as many as users)' })),
            },
            { additionalProperties: false, description: 'parallel arrays: one (user, item[, rating]) interaction per position' },
          ),
        ),
        file: Type.Optional(
          Type.String({ minLength: 1, maxLength: 1024, description: 'a ratings file under the data directory (u.data, ratings.csv, ratings.dat or a delimited file with a header)' }),
        ),
        synthetic: Type.Optional(
          Type.Object(
            {
              users: Type.Integer({ minimum: 1, maximum: limits.maxRows }),
              items: Type.Integer({ minimum: 1, maximum: limits.maxRows }),
              interactions: Type.Integer({ minimum: 1, maximum: limits.maxCells }),
              seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 32 - 1 })),
            },
            { additionalProperties: false, description: 'the seeded synthetic interactions generator (power-law popularity and activity)' },
          ),
        ),
        feedback: Type.Optional(Type.Union([Type.Literal('explicit'), Type.Literal('binary'), Type.Literal('counts')])),
        minRating: Type.Optional(Cell),
        neighbors: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
        similarity: Type.Optional(Type.Union([Type.Literal('cosine'), Type.Literal('adjusted-cosine'), Type.Literal('pearson')])),
        shrink: Type.Optional(Type.Number({ minimum: 0, maximum: 1e30 })),
        weighting: Type.Optional(
          Type.Union([Type.Literal('none'), Type.Literal('tfidf'), Type.Literal('bm25')], { description: 'itemknn: weighting of the items × users matrix before the similarity (default none)' }),
        ),
        bm25K1: Type.Optional(Type.Number({ minimum: 1e-12, maximum: 1e30, description: 'itemknn with bm25: K1 > 0 (default 1.2)' })),
        bm25B: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'itemknn with bm25: B in [0, 1] (default 0.75)' })),
        lambda: Type.Optional(Type.Number({ minimum: 1e-12, maximum: 1e30, description: 'EASE: the L2 penalty (> 0)' })),
        backfill: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('popular')], { description: 'top up short lists with the most popular unseen items, marked in the sources of each reply (default none)' })),
        factors: Type.Optional(Type.Integer({ minimum: 1, maximum: 4096, description: 'ALS: latent factors (default 32, at most the number of items)' })),
        iterations: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'ALS: iterations (default 15)' })),
        regularization: Type.Optional(Type.Number({ minimum: 0, maximum: 1e30, description: 'ALS: the L2 penalty λ (default 20)' })),
        regularizationMode: Type.Optional(Type.Union([Type.Literal('plain'), Type.Literal('count')], { description: "ALS: 'plain' λ, or 'count' λ times each row's interactions (ALS-WR)" })),
        alpha: Type.Optional(Type.Number({ minimum: 1e-12, maximum: 1e30, description: 'ALS: confidence slope > 0, c = 1 + alpha·r (default 1)' })),
        solver: Type.Optional(Type.Union([Type.Literal('cholesky'), Type.Literal('cg')], { description: 'ALS: exact Cholesky (default) or conjugate gradient' })),
        precision: Type.Optional(Type.Union([Type.Literal('f64'), Type.Literal('f32')], { description: 'EASE: f64 (default) or f32 (half the memory)' })),
        minItemSupport: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1, description: 'EASE: leave out items with fewer training interactions (never recommended)' })),
      },
      {
        additionalProperties: false,
        description: 'give exactly one source of interactions: interactions, file or synthetic',
        oneOf: [{ required: ['interactions'] }, { required: ['file'] }, { required: ['synthetic'] }],
      },
    ),
    RecommendBody: Type.Object(
      {
        user: Type.Optional(Id),
        items: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: limits.maxRows, description: 'an anonymous basket: recommend from these items (item-based models)' })),
        n,
        filterSeen: Type.Optional(Type.Boolean()),
        exclude: Type.Optional(Type.Array(Id, { maxItems: limits.maxRows })),
        include: Type.Optional(Type.Array(Id, { maxItems: limits.maxRows })),
        backfill: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('popular')], { description: 'this request only: none or popular (default: what the recommender was fitted with)' })),
      },
      { additionalProperties: false, description: 'give exactly one of user or items', oneOf: [{ required: ['user'] }, { required: ['items'] }] },
    ),
    SimilarQuery: Type.Object({ n: Type.Optional({ ...n, default: 10 }) }, { additionalProperties: false }),
  };
}

export const RecommenderSummary = Type.Object(
  { id: Type.String(), kind: Type.String(), users: Type.Integer(), items: Type.Integer(), createdAt: Type.String() },
  { additionalProperties: true },
);

export const RecommenderList = Type.Object({ recommenders: Type.Array(RecommenderSummary) });

export const RecommendReply = Type.Object({
  items: Type.Array(Type.String()),
  scores: Type.Array(Type.Number()),
  sources: Type.Optional(
    Type.Array(Type.Union([Type.Literal('model'), Type.Literal('popular')]), {
      description: 'present only when some item was back-filled: where each item comes from (back-filled items come last, scored below every model item)',
    }),
  ),
});

export const RecId = Type.Object({ id: Type.String({ minLength: 1, maxLength: ID_MAX }) }, { additionalProperties: false });
export const SimilarParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: ID_MAX }), item: Type.String({ minLength: 1, maxLength: 256 }) }, { additionalProperties: false });
