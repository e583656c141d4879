import { Type } from 'typebox';
import { RECOMMENDER_KINDS } from '../../models/registry.js';

const Id = Type.Union([Type.String({ maxLength: 256 }), Type.Number()]);

export const RecommenderBody = Type.Object(
  {
    algo: Type.Union(RECOMMENDER_KINDS.map((k) => Type.Literal(k))),
    interactions: Type.Optional(
      Type.Object(
        {
          users: Type.Array(Id, { minItems: 1 }),
          items: Type.Array(Id, { minItems: 1 }),
          ratings: Type.Optional(Type.Array(Type.Number())),
        },
        { additionalProperties: false, description: 'parallel arrays: one (user, item[, rating]) interaction per position' },
      ),
    ),
    file: Type.Optional(Type.String({ maxLength: 1024, description: 'a ratings file under the data directory (u.data, ratings.csv, ratings.dat or a delimited file with a header)' })),
    synthetic: Type.Optional(
      Type.Object(
        {
          users: Type.Integer({ minimum: 1 }),
          items: Type.Integer({ minimum: 1 }),
          interactions: Type.Integer({ minimum: 1 }),
          seed: Type.Optional(Type.Integer()),
        },
        { additionalProperties: false, description: 'the seeded synthetic interactions generator (power-law popularity and activity)' },
      ),
    ),
    feedback: Type.Optional(Type.Union([Type.Literal('explicit'), Type.Literal('binary'), Type.Literal('counts')])),
    minRating: Type.Optional(Type.Number()),
    neighbors: Type.Optional(Type.Integer({ minimum: 1 })),
    similarity: Type.Optional(Type.Union([Type.Literal('cosine'), Type.Literal('adjusted-cosine'), Type.Literal('pearson')])),
    shrink: Type.Optional(Type.Number({ minimum: 0 })),
    lambda: Type.Optional(Type.Number({ minimum: 0 })),
  },
  { additionalProperties: false },
);

export const RecommenderSummary = Type.Object(
  { id: Type.String(), kind: Type.String(), users: Type.Integer(), items: Type.Integer(), createdAt: Type.String() },
  { additionalProperties: true },
);

export const RecommendBody = Type.Object(
  {
    user: Type.Optional(Id),
    items: Type.Optional(Type.Array(Id, { minItems: 1, description: 'an anonymous basket: recommend from these items (item-based models)' })),
    n: Type.Integer({ minimum: 1 }),
    filterSeen: Type.Optional(Type.Boolean()),
    exclude: Type.Optional(Type.Array(Id)),
    include: Type.Optional(Type.Array(Id)),
  },
  { additionalProperties: false },
);

export const RecommendReply = Type.Object({
  items: Type.Array(Type.String()),
  scores: Type.Array(Type.Number()),
});

export const RecId = Type.Object({ id: Type.String({ maxLength: 128 }) });
export const SimilarParams = Type.Object({ id: Type.String({ maxLength: 128 }), item: Type.String({ maxLength: 256 }) });
export const SimilarQuery = Type.Object({ n: Type.Optional(Type.Integer({ minimum: 1, default: 10 })) });
