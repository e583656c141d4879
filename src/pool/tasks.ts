/**
 * Task messages between the engine (main thread) and the pool's workers. Matrices travel as
 * `SharedRegion`s (no copy); the worker takes views and calls one kernel per tile or reduction block.
 */
import type { SerializedError } from '../errors.js';
import type { Link, SharedRegion } from '../backends/types.js';

export type F32 = SharedRegion & { kind: 'f32' };
export type F64 = SharedRegion & { kind: 'f64' };
export type I32 = SharedRegion & { kind: 'i32' };

/** Rows [row0, row1) of a row-major matrix with `cols` columns. */
export interface RowRange {
  row0: number;
  row1: number;
}

export interface NormalizeTask extends RowRange {
  x: F32;
  cols: number;
  out: F32;
  norms: F32;
}

export interface SimilarityTask extends RowRange {
  a: F32;
  b: F32;
  bRows: number;
  cols: number;
  out: F32;
  /**
   * Self-similarity (a and b are the same rows): compute only columns ≥ row0 of this strip and mirror the part
   * right of the strip's diagonal block into the rows below it. Strips write disjoint cells.
   */
  symmetric?: boolean;
}

export interface TopkTask extends RowRange {
  q: F32;
  x: F32;
  xRows: number;
  cols: number;
  k: number;
  excludeSelf: boolean;
  idx: I32;
  scores: F32;
}

/** Reductions: rows are split in fixed blocks of `blockRows`; block b writes partial slot b. */
export interface BlockRange {
  block0: number;
  block1: number;
  blockRows: number;
  rows: number;
}

export interface KmeansTask extends BlockRange {
  x: F32;
  cols: number;
  centroids: F32;
  k: number;
  weights: F32 | null;
  labels: I32;
  minDist2: F64 | null;
  /** nBlocks × k × cols partial sums, nBlocks × k partial counts. */
  sums: F64;
  counts: F64;
  /** Count the rows whose label differs from what `labels` held before the step. */
  changes: boolean;
}

/** One member of a run of Lloyd steps in the pool (see `engine/lloyd.ts`). */
export interface LloydTask {
  member: number;
  members: number;
  x: F32;
  rows: number;
  cols: number;
  k: number;
  blockRows: number;
  nBlocks: number;
  weights: F32 | null;
  labels: I32;
  /** members × k × cols: member m's f32 copy of the step's centroids at m·k·cols. */
  centroids: F32;
  /** 2 × nBlocks × k × cols partial sums and 2 × nBlocks × k partial counts (by step parity). */
  sums: F64;
  counts: F64;
  /** SharedArrayBuffer-backed control words (`lloydControlLength(maxSteps)`). */
  control: Int32Array;
  /** The centroids (f64, k × cols) the first step starts from. */
  start: Float64Array;
  maxSteps: number;
  /** Count label changes in the first step (later steps always count). */
  countFirst: boolean;
  /** Σ w‖x‖², for each step's inertia from its sums. */
  sumSq: number;
  /** Stop when the shift is at most this. */
  tolScaled: number;
  /** Date.now() after which the job stops at the next step's end. */
  deadline: number;
}

export type LloydStop = 'strict' | 'tol' | 'steps' | 'empty' | 'budget';

export interface LloydMemberResult {
  /** Per completed step (member 0 only): inertia from sums, centroid shift, label changes (−1: not counted). */
  inertia: number[];
  shift: number[];
  changed: number[];
  /** The centroids after the last completed step. */
  centers: Float64Array;
  stop: LloydStop;
  /** With stop 'empty': the label changes of the step that left a cluster empty (null: not counted). */
  emptyChanged: number | null;
  /** Another member failed; its error is the job's. */
  peerFailed: boolean;
}

export interface GramTask extends BlockRange {
  x: F32;
  cols: number;
  w: F64 | null;
  center: F64 | null;
  v: F64 | null;
  /** nBlocks × cols × cols partial Gram matrices and nBlocks × cols partial Xᵀv. */
  g: F64;
  xty: F64 | null;
}

export interface LogisticTask extends BlockRange {
  x: F32;
  cols: number;
  y: F64;
  s: F64 | null;
  beta: F64;
  bias: number;
  hessian: boolean;
  z: F64;
  /** nBlocks × logisticLayout(cols).length partial sums. */
  out: F64;
}

export interface MatvecTask extends RowRange {
  x: F32;
  cols: number;
  w: F64;
  bias: number;
  link: Link;
  out: F32;
}

export interface CholeskyTask {
  g: F64;
  n: number;
  b: F64;
  nrhs: number;
}

/**
 * Sparse kernels: rows [row0, row1) of A (global numbering); the call's outputs start at global row outRow0.
 * Each task owns its scratch (acc, mark, list, den), zero on entry and left zero by the kernel.
 */
export interface SparseSimilarityTask extends RowRange {
  aPtr: I32;
  aIdx: I32;
  aVal: F32;
  bPtr: I32;
  bIdx: I32;
  bVal: F32;
  nCols: number;
  rowNorms: F32 | null;
  colNorms: F32 | null;
  shrink: number;
  k: number;
  excludeSelf: boolean;
  acc: F64;
  mark: I32;
  list: I32;
  outRow0: number;
  idx: I32;
  scores: F32;
}

export interface SparseScoreTask extends RowRange {
  aPtr: I32;
  aIdx: I32;
  aVal: F32;
  mPtr: I32;
  mIdx: I32;
  mVal: F32;
  seenPtr: I32 | null;
  seenIdx: I32 | null;
  allow: I32 | null;
  normalize: number;
  nCols: number;
  n: number;
  acc: F64;
  den: F64 | null;
  mark: I32;
  list: I32;
  outRow0: number;
  idx: I32;
  scores: F32;
}

export type TaskResult<T> = { ok: true; value: T } | { ok: false; error: SerializedError };

export interface TaskMap {
  normalize: [NormalizeTask, null];
  similarity: [SimilarityTask, null];
  topk: [TopkTask, null];
  kmeans: [KmeansTask, { inertia: number[]; changed: number }];
  lloyd: [LloydTask, LloydMemberResult];
  gram: [GramTask, null];
  logistic: [LogisticTask, null];
  matvec: [MatvecTask, null];
  cholesky: [CholeskyTask, null];
  sparseSimilarity: [SparseSimilarityTask, null];
  sparseScore: [SparseScoreTask, null];
}
export type TaskName = keyof TaskMap;
