/**
 * Types of the engine's sparse entry points (`Engine.stageCsr`, `sparseSimilarityTopK`, `sparseScoreTopN`):
 * CSR inputs, staged once in shared regions for repeated calls (bulk runs), and the call options.
 */
import type { CsrMatrix } from '../types.js';
import type { F32, I32 } from '../pool/tasks.js';

/** A CSR matrix copied once into shared regions; pass it to many calls, then `release()` it. */
export interface StagedCsr {
  readonly staged: true;
  readonly rows: number;
  readonly cols: number;
  readonly nnz: number;
  readonly indptr: I32;
  readonly indices: I32;
  readonly data: F32;
  readonly released: boolean;
  release(): void;
}

export type CsrInput = CsrMatrix | StagedCsr;

/** Rows [row0, row1) of the left operand (default: all rows). */
export interface RowSpan {
  row0: number;
  row1: number;
}

export interface SparseSimilarityOptions {
  signal?: AbortSignal;
  /** Neighbours kept per row. */
  k: number;
  /** Norm of each row of A (score denominator factor); null or absent: 1. */
  rowNorms?: Float32Array | null;
  /** Norm of each result column; null or absent: 1. */
  colNorms?: Float32Array | null;
  /** Added to the denominator: dot / (‖a‖·‖b‖ + shrink). Default 0. */
  shrink?: number;
  /** Skip column r for row r (self-similarity). */
  excludeSelf?: boolean;
  rows?: RowSpan;
}

export interface SparseScoreOptions {
  signal?: AbortSignal;
  /** Results kept per row. */
  n: number;
  /** Columns never returned for row r: row r of this matrix (same row numbering as A). */
  seen?: CsrInput | null;
  /** allow[j] = 0 removes column j from every row's candidates. */
  allow?: Int32Array | null;
  /** 0: raw weighted sums; 1: divided by Σ|a|; 2: divided by Σ|m| over the contributing terms. */
  normalize?: 0 | 1 | 2;
  rows?: RowSpan;
}
