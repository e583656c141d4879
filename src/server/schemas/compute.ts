import { Type } from 'typebox';
import { Metric, Rows } from './common.js';

export const SimilarityBody = Type.Object(
  {
    a: Rows,
    b: Type.Optional(Rows),
    metric: Type.Optional(Metric),
  },
  { additionalProperties: false },
);

export const SimilarityQuery = Type.Object({ metric: Type.Optional(Metric) });

export const SimilarityReply = Type.Object({
  rows: Type.Integer(),
  cols: Type.Integer(),
  similarities: Type.Array(Type.Array(Type.Number())),
});

export const TopkBody = Type.Object(
  {
    queries: Rows,
    base: Type.Optional(Rows),
    k: Type.Integer({ minimum: 1 }),
    metric: Type.Optional(Metric),
    excludeSelf: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const TopkQuery = Type.Object({
  k: Type.Optional(Type.Integer({ minimum: 1 })),
  metric: Type.Optional(Metric),
  excludeSelf: Type.Optional(Type.Boolean()),
});

export const TopkReply = Type.Object({
  k: Type.Integer({ description: 'neighbours returned per query (the requested k clamped to the candidates)' }),
  requestedK: Type.Integer(),
  indices: Type.Array(Type.Array(Type.Integer())),
  scores: Type.Array(Type.Array(Type.Number())),
});
