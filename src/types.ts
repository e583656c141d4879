/** Dense row-major matrix with f32 storage. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Sparse matrix in CSR form (ratings, baskets). */
export interface CsrMatrix {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  data: Float32Array;
}

export type Metric = 'cosine' | 'dot';
export type BackendName = 'native' | 'wasm' | 'js';
export type BackendChoice = BackendName | 'auto';

/** Result of a top-k search: row-major, `k` entries per query, best first. */
export interface TopKResult {
  /** Base-row index of each neighbour; -1 where fewer than `k` candidates exist. */
  indices: Int32Array;
  /** Similarity of each neighbour; -Infinity where `indices` is -1. */
  scores: Float32Array;
  /** Number of queries. */
  rows: number;
  /** Neighbours per query actually returned (the requested k, clamped to the candidates available). */
  k: number;
  /** The k the caller asked for. */
  requestedK: number;
}

/**
 * Where a loader puts a matrix it reads: anything with `allocMatrix`, such as an engine
 * (`readNpyMatrix(path, { into: engine })`), so the parsed values land in memory the engine's workers read in
 * place. The data layer knows only this shape, never the engine.
 */
export interface MatrixAllocator<M extends Matrix = Matrix> {
  allocMatrix(rows: number, cols: number): M;
}
