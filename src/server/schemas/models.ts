import { Type } from 'typebox';
import { Rows } from './common.js';

const Target = Type.Array(Type.Number(), { minItems: 1, description: 'one target value per row' });
/** Measure the model on rows it does not see: one of holdout (a fraction) or folds (K-fold cross-validation). */
export const Validation = Type.Object(
  {
    holdout: Type.Optional(Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, description: 'fraction of rows held out (stratified by class for logistic)' })),
    folds: Type.Optional(Type.Integer({ minimum: 2, maximum: 100, description: 'K of K-fold cross-validation (stratified by class for logistic)' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, description: 'seed of the split or folds (default 0)' })),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'logistic: also report accuracy, precision and recall at p > threshold' })),
  },
  { additionalProperties: false, description: 'held-out or cross-validated metrics, returned under `validation`; the model itself is fitted on all rows' },
);

// String first: where the server coerces types, a union tries its members in turn, so a number becomes its text
// and null becomes "" (both read as the CSV reader would read them); without coercion each matches its own type.
const Cell = Type.Union([Type.String(), Type.Number(), Type.Null()]);

/** A table instead of numeric rows: named columns, text columns one-hot encoded, as the CLI reads a CSV. */
export const TableInput = Type.Object(
  {
    columns: Type.Array(Type.String(), { minItems: 1, description: 'column names' }),
    records: Type.Array(Type.Array(Cell), { minItems: 1, description: 'one array of cells per row; null, "" or "NA" is a missing cell' }),
  },
  { additionalProperties: false, description: 'instead of rows: a table whose text columns are one-hot encoded (the encoder is saved with the model)' },
);

/** Encoding options for a `table` input (the CLI's --categorical, --drop-level, --impute, --standardize). */
const TableOptions = {
  table: Type.Optional(TableInput),
  categorical: Type.Optional(Type.Array(Type.String(), { description: 'table: one-hot encode these numeric-looking columns (codes)' })),
  dropLevel: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'table: column → the level to drop (the all-zero reference)' })),
  impute: Type.Optional(Type.String({ description: 'table: mean, median, most-frequent or constant:V, and/or COLUMN=STRATEGY, comma-separated' })),
  standardize: Type.Optional(Type.Boolean({ description: 'table: standardise every design column (saved with the model)' })),
};

const Weights = Type.Array(Type.Number({ minimum: 0 }), { description: 'one non-negative weight per row' });

export const KmeansBody = Type.Object(
  {
    rows: Type.Optional(Rows),
    ...TableOptions,
    k: Type.Integer({ minimum: 1 }),
    init: Type.Optional(Type.Union([Type.Literal('k-means++'), Type.Literal('random'), Rows], { description: "'k-means++', 'random' or k initial centroids" })),
    nInit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    tol: Type.Optional(Type.Number({ minimum: 0 })),
    seed: Type.Optional(Type.Integer()),
    sampleWeight: Type.Optional(Weights),
    validation: Type.Optional(Validation),
  },
  { additionalProperties: false },
);

export const LinearBody = Type.Object(
  {
    rows: Type.Optional(Rows),
    ...TableOptions,
    target: Target,
    l2: Type.Optional(Type.Number({ minimum: 0 })),
    fitIntercept: Type.Optional(Type.Boolean()),
    sampleWeight: Type.Optional(Weights),
    featureNames: Type.Optional(Type.Array(Type.String())),
    validation: Type.Optional(Validation),
  },
  { additionalProperties: false },
);

export const LogisticBody = Type.Object(
  {
    rows: Type.Optional(Rows),
    ...TableOptions,
    target: Target,
    l2: Type.Optional(Type.Number({ minimum: 0 })),
    fitIntercept: Type.Optional(Type.Boolean()),
    classWeight: Type.Optional(Type.Literal('balanced')),
    sampleWeight: Type.Optional(Weights),
    maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
    tol: Type.Optional(Type.Number({ minimum: 0 })),
    featureNames: Type.Optional(Type.Array(Type.String())),
    validation: Type.Optional(Validation),
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

export const PredictBody = Type.Object({ rows: Type.Optional(Rows), table: Type.Optional(TableInput) }, { additionalProperties: false });

export const PredictReply = Type.Object({
  predictions: Type.Array(Type.Number(), {
    description: 'one value per row: the value (linear), the positive-class probability (logistic) or the cluster index (kmeans)',
  }),
});

export const LiftBody = Type.Object(
  {
    rows: Rows,
    target: Type.Array(Type.Union([Type.Literal(0), Type.Literal(1)]), { minItems: 10, description: 'the 0/1 outcome of each row' }),
  },
  { additionalProperties: false },
);

const LiftRow = Type.Object({
  decile: Type.Integer(),
  rows: Type.Integer(),
  positives: Type.Integer(),
  minScore: Type.Number(),
  maxScore: Type.Number(),
  rate: Type.Number(),
  lift: Type.Number(),
  cumulativeRows: Type.Integer(),
  cumulativePositives: Type.Integer(),
  cumulativeGain: Type.Number(),
  cumulativeLift: Type.Number(),
});

export const LiftReply = Type.Object({
  rows: Type.Integer(),
  positives: Type.Integer(),
  baseRate: Type.Number(),
  deciles: Type.Array(LiftRow, { description: 'highest-scored tenth first; ties split in input order across a boundary' }),
});

export const ChooseKBody = Type.Object(
  {
    rows: Rows,
    ks: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 50, description: 'the values of k to compare (default 2..10)' })),
    init: Type.Optional(Type.Union([Type.Literal('k-means++'), Type.Literal('random')])),
    nInit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    maxIter: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })),
    tol: Type.Optional(Type.Number({ minimum: 0 })),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
    sampleSize: Type.Optional(Type.Integer({ minimum: 2, maximum: 100000, description: 'silhouettes on a seeded sample of this many rows (default 4000)' })),
  },
  { additionalProperties: false },
);

export const ChooseKReply = Type.Object({
  chooseK: Type.Array(Type.Object({ k: Type.Integer(), inertia: Type.Number(), silhouette: Type.Union([Type.Number(), Type.Null()]), nIter: Type.Integer() })),
  elbow: Type.Union([Type.Integer(), Type.Null()]),
  bestSilhouette: Type.Union([Type.Integer(), Type.Null()]),
  elbowRule: Type.String(),
});
