import { Type } from 'typebox';
import { Rows } from './common.js';

const Target = Type.Array(Type.Number(), { minItems: 1, description: 'one target value per row' });
const Weights = Type.Array(Type.Number({ minimum: 0 }), { description: 'one non-negative weight per row' });

export const KmeansBody = Type.Object(
  {
    rows: Rows,
    k: Type.Integer({ minimum: 1 }),
    init: Type.Optional(Type.Union([Type.Literal('k-means++'), Type.Literal('random'), Rows], { description: "'k-means++', 'random' or k initial centroids" })),
    nInit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    tol: Type.Optional(Type.Number({ minimum: 0 })),
    seed: Type.Optional(Type.Integer()),
    sampleWeight: Type.Optional(Weights),
  },
  { additionalProperties: false },
);

export const LinearBody = Type.Object(
  {
    rows: Rows,
    target: Target,
    l2: Type.Optional(Type.Number({ minimum: 0 })),
    fitIntercept: Type.Optional(Type.Boolean()),
    sampleWeight: Type.Optional(Weights),
    featureNames: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const LogisticBody = Type.Object(
  {
    rows: Rows,
    target: Target,
    l2: Type.Optional(Type.Number({ minimum: 0 })),
    fitIntercept: Type.Optional(Type.Boolean()),
    classWeight: Type.Optional(Type.Literal('balanced')),
    sampleWeight: Type.Optional(Weights),
    maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    tol: Type.Optional(Type.Number({ minimum: 0 })),
    featureNames: Type.Optional(Type.Array(Type.String())),
  },
  { additionalProperties: false },
);

export const ModelSummary = Type.Object(
  {
    id: Type.String(),
    kind: Type.String(),
    createdAt: Type.String(),
  },
  { additionalProperties: true, description: 'the fitted model: its id, kind and what it learned' },
);

export const ModelId = Type.Object({ id: Type.String({ maxLength: 128 }) });

export const PredictBody = Type.Object({ rows: Rows }, { additionalProperties: false });

export const PredictReply = Type.Object({
  predictions: Type.Array(Type.Number(), {
    description: 'one value per row: the value (linear), the positive-class probability (logistic) or the cluster index (kmeans)',
  }),
});
