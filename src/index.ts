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
