// Quiver's public API: everything a library user imports is re-exported here, and only here.
export { createEngine, Engine, StagedMatrix } from './engine/engine.js';
export type {
  CallOptions,
  EngineInfo,
  EngineOptions,
  GramOptions,
  GramResult,
  KmeansStepResult,
  MatrixInput,
  TopKOptions,
} from './engine/engine.js';
export { QuiverError, ERROR_CODES, HTTP_STATUS } from './errors.js';
export type { ErrorCode, ErrorDetails, SerializedError } from './errors.js';
export type { BackendChoice, BackendName, CsrMatrix, Matrix, Metric, TopKResult } from './types.js';
export { LINK_IDENTITY, LINK_SIGMOID } from './backends/types.js';
export type { Backend, BackendInfo, Link } from './backends/types.js';
export { encodeNpy, npyToMatrix, parseNpy, readNpyMatrix, writeNpy } from './data/npy.js';
export { matrixFromRows, matrixToRows } from './data/matrix.js';
export { CsvTable, detectDelimiter, formatCsv, parseCsv, readCsv, writeCsv } from './data/csv.js';
export type { CsvOptions } from './data/csv.js';
export { TableEncoder, constantColumns, tableToDesign } from './data/table.js';
export type { ColumnSpec, EncoderOptions, Standardization, TableSchema, TargetSpec } from './data/table.js';
export { KMeansModel, chooseK, fitKMeans } from './models/kmeans.js';
export type { ChooseKOptions, ChooseKRow, KMeansInit, KMeansIteration, KMeansOptions } from './models/kmeans.js';
export { LinearModel, fitLinearRegression } from './models/linear.js';
export type { LinearRegressionOptions } from './models/linear.js';
export { LogisticModel, fitLogisticRegression } from './models/logistic.js';
export type { ClassWeight, LogisticIteration, LogisticRegressionOptions } from './models/logistic.js';
export { accuracy, logLoss, r2Score, rmse, rocAuc, silhouetteScore } from './models/metrics.js';
export type { SilhouetteOptions } from './models/metrics.js';
export { loadModel, saveModel } from './models/persist.js';
export type { Model, ModelKind } from './models/persist.js';
export { Rng } from './models/random.js';
