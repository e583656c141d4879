import { Type } from 'typebox';
import type { Limits } from '../context.js';
import { Metric, pairRows, rows } from './common.js';

export function computeSchemas(limits: Limits) {
  const k = Type.Integer({ minimum: 1, maximum: limits.maxK, description: 'neighbours per query (at most maxK)' });
  return {
    SimilarityBody: Type.Object({ a: pairRows(limits), b: Type.Optional(pairRows(limits)), metric: Type.Optional(Metric) }, { additionalProperties: false }),
    SimilarityQuery: Type.Object({ metric: Type.Optional(Metric) }, { additionalProperties: false }),
    SimilarityReply: Type.Object({
      rows: Type.Integer(),
      cols: Type.Integer(),
      similarities: Type.Array(Type.Array(Type.Number())),
    }),
    TopkBody: Type.Object(
      {
        queries: rows(limits.maxRows),
        base: Type.Optional(rows(limits.maxRows)),
        k,
        metric: Type.Optional(Metric),
        excludeSelf: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    TopkQuery: Type.Object(
      { k: Type.Optional(k), metric: Type.Optional(Metric), excludeSelf: Type.Optional(Type.Boolean()) },
      { additionalProperties: false, description: 'options of a binary body; with a JSON body they go in the body' },
    ),
    TopkReply: Type.Object({
      k: Type.Integer({ description: 'neighbours returned per query (the requested k clamped to the candidates)' }),
      requestedK: Type.Integer(),
      indices: Type.Array(Type.Array(Type.Integer())),
      scores: Type.Array(Type.Array(Type.Number())),
    }),
  };
}
