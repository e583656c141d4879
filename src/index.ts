// Quiver's public API: everything a library user imports is re-exported here, and only here.
export { createEngine, Quiver } from './quiver.js';
export { AllocatedMatrix, AllocatedVector, Engine, StagedMatrix, StagedVector } from './engine/engine.js';
export type {
  AlsSolveOptions,
  CallOptions,
  CopyStats,
  CsrInput,
  EngineInfo,
  EngineOptions,
  GramOptions,
  GramResult,
  KmeansStepOptions,
  KmeansStepResult,
  LloydOptions,
  LloydResult,
  LogisticPassOptions,
  LogisticPassResult,
  MatrixInput,
  RowSpan,
  SparseScoreOptions,
  SparseSimilarityOptions,
  StagedCsr,
  TopKOptions,
  VectorInput,
} from './engine/engine.js';
export { QuiverError, ERROR_CODES, HTTP_STATUS } from './errors.js';
export type { ErrorCode, ErrorDetails, SerializedError } from './errors.js';
export type { BackendChoice, BackendName, CsrMatrix, Matrix, MatrixAllocator, Metric, TopKResult } from './types.js';
export { LINK_IDENTITY, LINK_SIGMOID } from './backends/types.js';
export type { Backend, BackendInfo, Link } from './backends/types.js';
export { encodeNpy, npyToMatrix, parseNpy, readNpyMatrix, writeNpy } from './data/npy.js';
export { matrixFromRows, matrixToRows } from './data/matrix.js';
export type { IntoOption } from './data/matrix.js';
export { CsvTable, detectDelimiter, formatCsv, parseCsv, readCsv, writeCsv } from './data/csv.js';
export type { CsvOptions } from './data/csv.js';
export { TableEncoder, constantColumns, parseDropLevels, parseImputeSpec, tableRows, tableToDesign } from './data/table.js';
export type { ColumnSpec, EncoderOptions, ImputeSpec, ImputeStrategy, Standardization, TableSchema, TargetSpec } from './data/table.js';
export { KMeansModel, fitKMeans } from './models/kmeans.js';
export type { KMeansInit, KMeansIteration, KMeansOptions } from './models/kmeans.js';
export { ELBOW_RULE, chooseK, pickK } from './models/kmeans-choose.js';
export type { ChooseKOptions, ChooseKPick, ChooseKRow } from './models/kmeans-choose.js';
export { LinearModel, fitLinearRegression } from './models/linear.js';
export type { LinearRegressionOptions } from './models/linear.js';
export { LogisticModel, fitLogisticRegression } from './models/logistic.js';
export { MultinomialModel, fitMultinomialLogistic } from './models/multinomial.js';
export type { MultinomialOptions } from './models/multinomial.js';
export type { ClassWeight, LogisticIteration, LogisticRegressionOptions } from './models/logistic.js';
export { accuracy, logLoss, r2Score, rmse, rocAuc, silhouetteScore } from './models/metrics.js';
export type { SilhouetteOptions } from './models/metrics.js';
export { loadModel, saveModel } from './models/persist.js';
export { formatLiftTable, gainChartSvg, liftTable } from './models/lift.js';
export type { LiftRow, LiftTable } from './models/lift.js';
export {
  confusionMetrics,
  crossValidate,
  foldAssignment,
  heldOutMetrics,
  holdoutSplit,
  holdoutValidate,
  kFoldSplits,
  meanAbsoluteError,
  summarizeFolds,
} from './models/validation.js';
export type {
  CrossValidateOptions,
  CrossValidationResult,
  FoldSummary,
  HoldoutOptions,
  HoldoutResult,
  MetricOptions,
  Metrics,
  Split,
  SplitOptions,
  SupervisedFit,
  UnsupervisedFit,
} from './models/validation.js';
export type { Model, ModelKind } from './models/persist.js';
export { Rng } from './data/random.js';
export { COUNT_LIKE_ABOVE, countsWarning, interactionsFromTriples, parseRatings, readRatings } from './data/ratings.js';
export type { DuplicatePolicy, Feedback, Interactions, RatingsFormat, RatingsLayout, RatingsOptions } from './data/ratings.js';
export { parseSyntheticSpec, SyntheticInteractions } from './data/synthetic.js';
export type { SyntheticOptions } from './data/synthetic.js';
export { checkCsr, gatherRows, transposeCsr } from './data/csr.js';
export { Recommender } from './models/recommender.js';
export type { RecommendOptions, RecommenderKind, RowRecommendOptions, ScoredItem, UserRecommendations } from './models/recommender.js';
export { fitRecommender, loadRecommender, RECOMMENDER_KINDS } from './models/recommenders.js';
export type { AnyRecommender, RecommenderOptions } from './models/recommenders.js';
export { fitItemKnn, ItemKnnModel } from './models/itemknn.js';
export type { ItemKnnOptions } from './models/itemknn.js';
export { fitUserKnn, UserKnnModel } from './models/userknn.js';
export type { UserKnnOptions } from './models/userknn.js';
export type { KnnKernel, KnnSimilarity } from './models/knn.js';
export { defaultEaseBudget, EaseModel, easeBytes, fitEase } from './models/ease.js';
export type { EaseOptions } from './models/ease.js';
export { ALS_DEFAULTS, AlsModel, fitAls } from './models/als.js';
export type { AlsOptions, AlsProgress, AlsRegularizationMode, AlsRow, AlsSolver } from './models/als.js';
export { fitPopular, PopularModel } from './models/popular.js';
export { evaluateRecommender, rankingMetrics, stratifiedSplit } from './models/evaluate.js';
export type { EvaluateOptions, EvaluationResult, ProtocolOptions, RankingMetrics } from './models/evaluate.js';
export { SPLIT_BY, splitInteractions } from './models/split.js';
export type { InteractionSplitOptions, SplitBy, SplitResult } from './models/split.js';
export { METRICS_AS } from './models/metrics.js';
export type { MetricsAs } from './models/metrics.js';
export { evaluateGrid, GRID_METRICS, GRID_PARAMETERS, gridCombinations, parseGrid } from './models/grid.js';
export type { GridMetric, GridOptions, GridParam, GridResult, GridRow, GridSpec, GridValue } from './models/grid.js';
export { fingerprintOf, parseShard, runBulk, shardSpan } from './models/bulk.js';
export type { BulkFormat, BulkOptions, BulkSummary } from './models/bulk.js';
export type { FittedModel, FittedRecommender, ModelColumns, ModelSummary, RecommenderSummary } from './models/model.js';
export { MODEL_KINDS } from './models/registry.js';
export { KnnModel } from './models/knn.js';
export type { KnnOrientation } from './models/knn.js';
export type { KnnWeighting } from './models/weighting.js';
export type { BackfillMode } from './models/backfill.js';
export type { FitProgress } from './models/neighbours.js';
export type { ExclusionLists, StageOptions, TopKExcludingOptions } from './engine/engine.js';
