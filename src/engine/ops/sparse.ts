/**
 * The sparse family (ratings, recommendation): CSR inputs staged once in shared regions, and two scatter
 * kernels over rows of A: similarity top-k (A·B, scored by dot / (‖a‖·‖b‖ + shrink)) and scoring top-n
 * (A·M minus seen and disallowed columns). Rows are split into tasks of about equal scatter work; rows are
 * independent outputs and each row accumulates in f64 in CSR order, so the split never changes a result.
 */
import type { Backend } from '../../backends/types.js';
import { checkCsr } from '../../data/csr.js';
import { QuiverError } from '../../errors.js';
import type { CsrMatrix, TopKResult } from '../../types.js';
import type { RowRange, Scheduler, TaskKind } from '../schedule.js';
import { Scope, type F32, type F64, type I32 } from '../scope.js';
import { checkPositiveInt, checkVector } from '../validate.js';
import { topkOutputs } from './topk.js';

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

/** Per-task scratch (acc, mark, list, den): zero on entry and left zero by the kernel. */
interface Scratch {
  acc: F64;
  mark: I32;
  list: I32;
}

/**
 * Rows [row0, row1) of A (global numbering); the call's outputs start at global row outRow0.
 */
export interface SparseSimilarityTask extends RowRange, Scratch {
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
  outRow0: number;
  idx: I32;
  scores: F32;
}

export interface SparseScoreTask extends RowRange, Scratch {
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
  den: F64 | null;
  outRow0: number;
  idx: I32;
  scores: F32;
}

export const sparseSimilarityTask: TaskKind<SparseSimilarityTask, null> = {
  name: 'sparseSimilarity',
  run(b: Backend, t: SparseSimilarityTask): null {
    const o0 = (t.row0 - t.outRow0) * t.k;
    const o1 = (t.row1 - t.outRow0) * t.k;
    b.sparseSimilarityTopk({
      aPtr: b.view(t.aPtr),
      aIdx: b.view(t.aIdx),
      aVal: b.view(t.aVal),
      bPtr: b.view(t.bPtr),
      bIdx: b.view(t.bIdx),
      bVal: b.view(t.bVal),
      row0: t.row0,
      row1: t.row1,
      nCols: t.nCols,
      rowNorms: t.rowNorms ? b.view(t.rowNorms) : null,
      colNorms: t.colNorms ? b.view(t.colNorms) : null,
      shrink: t.shrink,
      k: t.k,
      excludeSelf: t.excludeSelf,
      acc: b.view(t.acc),
      mark: b.view(t.mark),
      list: b.view(t.list),
      outIdx: b.view(t.idx).subarray(o0, o1),
      outScores: b.view(t.scores).subarray(o0, o1),
    });
    return null;
  },
};

export const sparseScoreTask: TaskKind<SparseScoreTask, null> = {
  name: 'sparseScore',
  run(b: Backend, t: SparseScoreTask): null {
    const o0 = (t.row0 - t.outRow0) * t.n;
    const o1 = (t.row1 - t.outRow0) * t.n;
    b.sparseScoreTopn({
      aPtr: b.view(t.aPtr),
      aIdx: b.view(t.aIdx),
      aVal: b.view(t.aVal),
      mPtr: b.view(t.mPtr),
      mIdx: b.view(t.mIdx),
      mVal: b.view(t.mVal),
      seenPtr: t.seenPtr ? b.view(t.seenPtr) : null,
      seenIdx: t.seenIdx ? b.view(t.seenIdx) : null,
      allow: t.allow ? b.view(t.allow) : null,
      normalize: t.normalize,
      row0: t.row0,
      row1: t.row1,
      nCols: t.nCols,
      n: t.n,
      acc: b.view(t.acc),
      den: t.den ? b.view(t.den) : null,
      mark: b.view(t.mark),
      list: b.view(t.list),
      outIdx: b.view(t.idx).subarray(o0, o1),
      outScores: b.view(t.scores).subarray(o0, o1),
    });
    return null;
  },
};

export interface CsrRegions {
  rows: number;
  cols: number;
  nnz: number;
  indptr: I32;
  indices: I32;
  data: F32;
}

function copyCsr(s: Scope, m: CsrMatrix): CsrRegions {
  const nnz = m.indptr[m.rows]!;
  const indptr = s.copy('i32', m.indptr);
  const indices = s.copy('i32', m.indices.subarray(0, nnz));
  const data = s.copy('f32', m.data.subarray(0, nnz));
  return { rows: m.rows, cols: m.cols, nnz, indptr, indices, data };
}

/** Copies a CSR matrix into shared regions once (validated); pass it to many sparse calls, then `release()` it. */
export function stageCsr(backend: Backend, m: CsrMatrix, name: string): StagedCsr {
  checkCsr(m, name);
  // The staged matrix owns a scope of its own, released with it.
  const scope = new Scope(backend);
  const r = copyCsr(scope, m);
  let released = false;
  return {
    staged: true,
    ...r,
    get released() {
      return released;
    },
    release() {
      if (released) return;
      released = true;
      scope.release();
    },
  };
}

export function csrInput(s: Scope, m: CsrInput, name: string): CsrRegions {
  if ('staged' in m) {
    if (m.released) throw new QuiverError('INVALID_ARGUMENT', `${name} was released; stage it again`);
    return m;
  }
  checkCsr(m, name);
  return copyCsr(s, m);
}

function span(rows: RowSpan | undefined, total: number): RowRange {
  if (rows === undefined) return { row0: 0, row1: total };
  const { row0, row1 } = rows;
  if (!Number.isInteger(row0) || !Number.isInteger(row1) || row0 < 0 || row1 < row0 || row1 > total) {
    throw new QuiverError('INVALID_ARGUMENT', `rows [${row0}, ${row1}) must lie within [0, ${total}) with row0 ≤ row1`);
  }
  return { row0, row1 };
}

function sparseVector(s: Scope, v: Float32Array | null | undefined, length: number, name: string): F32 | null {
  if (v === null || v === undefined) return null;
  checkVector(v, name, length);
  return s.copy('f32', v);
}

/**
 * Rows [row0, row1) of the scatter A·B split into tasks of about equal work (work of row r = 1 + Σ over A's
 * entries of the length of the B row they name), or into tiles of `tileRows` rows when the engine was given
 * one; and the total work.
 */
function scatterTiles(sched: Scheduler, s: Scope, A: { indptr: I32; indices: I32 }, B: { indptr: I32 }, row0: number, row1: number): { tiles: RowRange[]; total: number } {
  const aPtr = s.view(A.indptr);
  const aIdx = s.view(A.indices);
  const bPtr = s.view(B.indptr);
  const rows = row1 - row0;
  const work = new Float64Array(rows);
  let total = 0;
  for (let r = row0; r < row1; r++) {
    let w = 1;
    for (let p = aPtr[r]!, e = aPtr[r + 1]!; p < e; p++) {
      const c = aIdx[p]!;
      w += bPtr[c + 1]! - bPtr[c]!;
    }
    work[r - row0] = w;
    total += w;
  }
  const tiles: RowRange[] = [];
  if (rows === 0) return { tiles, total };
  if (sched.tileRows !== undefined) {
    for (let r = row0; r < row1; r += sched.tileRows) tiles.push({ row0: r, row1: Math.min(row1, r + sched.tileRows) });
    return { tiles, total };
  }
  const target = Math.min(rows, sched.threads * 4);
  let start = row0;
  let acc = 0;
  for (let i = 0; i < rows; i++) {
    acc += work[i]!;
    if (acc >= (total * (tiles.length + 1)) / target && tiles.length < target - 1) {
      tiles.push({ row0: start, row1: row0 + i + 1 });
      start = row0 + i + 1;
    }
  }
  if (start < row1) tiles.push({ row0: start, row1 });
  return { tiles, total };
}

/** Per-task scratch; one shared set when the call runs inline (tasks run one after another). */
function scratchSets(s: Scope, tasks: number, nCols: number, inline: boolean, withDen: boolean): (Scratch & { den: F64 | null })[] {
  const sets: (Scratch & { den: F64 | null })[] = [];
  for (let t = 0; t < tasks; t++) {
    if (inline && t > 0) {
      sets.push(sets[0]!);
      continue;
    }
    sets.push({ acc: s.alloc('f64', nCols), mark: s.alloc('i32', nCols), list: s.alloc('i32', nCols), den: withDen ? s.alloc('f64', nCols) : null });
  }
  return sets;
}

/**
 * Sparse similarity top-k: for each row r of A (rows × inner, CSR) the k best columns j of A·B (B: inner ×
 * cols, CSR) by dot / (rowNorms[r]·colNorms[j] + shrink), among the columns that co-occur with r (a dot of
 * exactly zero from no shared entries is never a candidate). Item-item: A = Xᵀ, B = X; user-user: A = X,
 * B = Xᵀ. Never builds the dense rows × cols result; scratch is O(cols) per task.
 */
export async function sparseSimilarityTopK(sched: Scheduler, a: CsrInput, b: CsrInput, opts: SparseSimilarityOptions): Promise<TopKResult> {
  const requestedK = checkPositiveInt(opts.k, 'k');
  const shrink = opts.shrink ?? 0;
  if (!Number.isFinite(shrink) || shrink < 0) throw new QuiverError('INVALID_ARGUMENT', `shrink must be a finite number ≥ 0 (got ${shrink})`);
  const excludeSelf = opts.excludeSelf === true;
  return sched.job(async (s) => {
    const A = csrInput(s, a, 'a');
    const B = csrInput(s, b, 'b');
    if (A.cols !== B.rows) {
      throw new QuiverError('SHAPE_MISMATCH', `a is ${A.rows} × ${A.cols} but b has ${B.rows} rows; a's columns must index b's rows`);
    }
    const nCols = B.cols;
    const { row0, row1 } = span(opts.rows, A.rows);
    const candidates = excludeSelf ? nCols - 1 : nCols;
    if (candidates < 1) throw new QuiverError('INVALID_ARGUMENT', `there are no candidate columns (${nCols} column${nCols === 1 ? '' : 's'}${excludeSelf ? ', and excludeSelf removes one' : ''})`);
    const k = Math.min(requestedK, candidates);
    const rowNorms = sparseVector(s, opts.rowNorms, A.rows, 'rowNorms');
    const colNorms = sparseVector(s, opts.colNorms, nCols, 'colNorms');
    const rows = row1 - row0;
    const { idx, scores } = topkOutputs(s, rows * k);
    const { tiles, total } = scatterTiles(sched, s, A, B, row0, row1);
    const scratch = scratchSets(s, tiles.length, nCols, total <= sched.inlineWork, false);
    const tasks = tiles.map((t, i) => {
      const { acc, mark, list } = scratch[i]!;
      return { ...t, aPtr: A.indptr, aIdx: A.indices, aVal: A.data, bPtr: B.indptr, bIdx: B.indices, bVal: B.data, nCols, rowNorms, colNorms, shrink, k, excludeSelf, acc, mark, list, outRow0: row0, idx, scores };
    });
    await sched.dispatch(sparseSimilarityTask, tasks, total, opts.signal);
    return { indices: s.take(idx), scores: s.take(scores), rows, k, requestedK };
  });
}

/**
 * Sparse scoring top-n (recommendation): for each row r of A, the n best columns j of A·M by weighted sum
 * (normalize 0), or divided by Σ|a| (1) or Σ|m| (2) over the contributing terms, among the columns the
 * scatter touches, minus row r of `seen` and the columns with allow[j] = 0. Item kNN: A = user rows,
 * M = item neighbour lists; user kNN: A = user neighbour lists, M = user rows; EASE: M = the dense B rows.
 * `n` larger than the columns is clamped (the result's `k`); rows with fewer candidates end in -1 slots.
 */
export async function sparseScoreTopN(sched: Scheduler, a: CsrInput, m: CsrInput, opts: SparseScoreOptions): Promise<TopKResult> {
  const requestedN = checkPositiveInt(opts.n, 'n');
  const normalize = opts.normalize ?? 0;
  if (normalize !== 0 && normalize !== 1 && normalize !== 2) throw new QuiverError('INVALID_ARGUMENT', `normalize must be 0, 1 or 2 (got ${String(normalize)})`);
  return sched.job(async (s) => {
    const A = csrInput(s, a, 'a');
    const M = csrInput(s, m, 'm');
    if (A.cols !== M.rows) {
      throw new QuiverError('SHAPE_MISMATCH', `a is ${A.rows} × ${A.cols} but m has ${M.rows} rows; a's columns must index m's rows`);
    }
    const nCols = M.cols;
    const S = opts.seen ? csrInput(s, opts.seen, 'seen') : null;
    if (S && (S.rows !== A.rows || S.cols !== nCols)) {
      throw new QuiverError('SHAPE_MISMATCH', `seen is ${S.rows} × ${S.cols}; it must be ${A.rows} × ${nCols} (a's rows × m's columns)`);
    }
    let allow: I32 | null = null;
    if (opts.allow) {
      if (!(opts.allow instanceof Int32Array) || opts.allow.length !== nCols) {
        throw new QuiverError('SHAPE_MISMATCH', `allow must be an Int32Array with one flag per column (${nCols})`);
      }
      allow = s.copy('i32', opts.allow);
    }
    const { row0, row1 } = span(opts.rows, A.rows);
    const n = Math.min(requestedN, nCols);
    const rows = row1 - row0;
    const { idx, scores } = topkOutputs(s, rows * n);
    const { tiles, total } = scatterTiles(sched, s, A, M, row0, row1);
    const scratch = scratchSets(s, tiles.length, nCols, total <= sched.inlineWork, normalize !== 0);
    const tasks = tiles.map((t, i) => ({
      ...t,
      ...scratch[i]!,
      aPtr: A.indptr,
      aIdx: A.indices,
      aVal: A.data,
      mPtr: M.indptr,
      mIdx: M.indices,
      mVal: M.data,
      seenPtr: S ? S.indptr : null,
      seenIdx: S ? S.indices : null,
      allow,
      normalize,
      nCols,
      n,
      outRow0: row0,
      idx,
      scores,
    }));
    await sched.dispatch(sparseScoreTask, tasks, total, opts.signal);
    return { indices: s.take(idx), scores: s.take(scores), rows, k: n, requestedK: requestedN };
  });
}
