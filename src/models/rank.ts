/**
 * Rank diagnostics for least-squares problems, on the small cols × cols Gram matrix (never on the rows):
 * constant columns, and columns that are (numerically) linear combinations of earlier ones, named with
 * the combination, so the error can say exactly which columns to drop. Also the symmetric (Jacobi)
 * scaling used before every solve: S G S with S = diag(1/√G_jj) has a unit diagonal, which makes the
 * Cholesky solve insensitive to the columns' units.
 */
import { QuiverError } from '../errors.js';
import type { Matrix } from '../types.js';
import { constantColumns } from '../data/table.js';
import { columnName } from './common.js';

/**
 * A column whose share of variance not explained by the earlier columns (1 − R², the Cholesky pivot of
 * the correlation matrix) is below this is treated as a linear combination of them. f32 inputs carry
 * about 7 significant digits, so 1 − R² < 1e-9 means the data cannot tell the coefficients apart.
 */
export const COLLINEAR_PIVOT = 1e-9;

export interface Collinear {
  column: number;
  /** Earlier columns and their coefficients in the combination. */
  combination: { column: number; coefficient: number }[];
}

/** Unit-diagonal scaling of a symmetric positive semi-definite matrix: returns S G S and s (S = diag(s)). */
export function jacobiScale(g: Float64Array, p: number): { scaled: Float64Array; s: Float64Array } {
  const s = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const d = g[j * p + j]!;
    s[j] = d > 0 ? 1 / Math.sqrt(d) : 1;
  }
  const scaled = new Float64Array(p * p);
  for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) scaled[a * p + b] = g[a * p + b]! * s[a]! * s[b]!;
  return { scaled, s };
}

/**
 * Columns of a (centred) Gram matrix that are linear combinations of earlier columns. `g` must be
 * symmetric; columns with a zero diagonal are reported by the caller as constant and skipped here.
 */
export function findCollinear(g: Float64Array, p: number): Collinear[] {
  const { scaled: c } = jacobiScale(g, p);
  // Lower-triangular L with C = L Lᵀ over the kept columns; removed columns get a zero row and column.
  const l = new Float64Array(p * p);
  const removed = new Uint8Array(p);
  const out: Collinear[] = [];
  for (let j = 0; j < p; j++) {
    if (g[j * p + j]! <= 0) {
      removed[j] = 1;
      continue;
    }
    for (let i = 0; i < j; i++) {
      if (removed[i]) continue;
      let s = c[j * p + i]!;
      for (let q = 0; q < i; q++) s -= l[j * p + q]! * l[i * p + q]!;
      l[j * p + i] = s / l[i * p + i]!;
    }
    let pivot = c[j * p + j]!;
    for (let q = 0; q < j; q++) pivot -= l[j * p + q]! ** 2;
    if (pivot > COLLINEAR_PIVOT) {
      l[j * p + j] = Math.sqrt(pivot);
      continue;
    }
    // Column j ≈ Σ_i β_i column i over kept i < j: solve Lᵀ β = l_j (back substitution), then unscale.
    const beta = new Float64Array(j);
    for (let i = j - 1; i >= 0; i--) {
      if (removed[i]) continue;
      let s = l[j * p + i]!;
      for (let q = i + 1; q < j; q++) if (!removed[q]) s -= l[q * p + i]! * beta[q]!;
      beta[i] = s / l[i * p + i]!;
    }
    const sj = Math.sqrt(g[j * p + j]!);
    const combination: Collinear['combination'] = [];
    for (let i = 0; i < j; i++) {
      if (removed[i] || Math.abs(beta[i]!) < 1e-6) continue;
      combination.push({ column: i, coefficient: (beta[i]! * sj) / Math.sqrt(g[i * p + i]!) });
    }
    out.push({ column: j, combination });
    removed[j] = 1;
    for (let q = 0; q < j; q++) l[j * p + q] = 0;
  }
  return out;
}

function formatCombination(c: Collinear, names: readonly string[] | null, centred: boolean): string {
  const terms = c.combination
    .sort((a, b) => Math.abs(b.coefficient) - Math.abs(a.coefficient))
    .slice(0, 6)
    .map((t) => `${Number(t.coefficient.toPrecision(4))}·${columnName(names, t.column)}`);
  const more = c.combination.length > 6 ? ' + …' : '';
  const rhs = terms.length > 0 ? terms.join(' + ').replaceAll('+ -', '− ') + more : '0';
  return `${columnName(names, c.column)} = ${rhs}${centred ? ' + constant' : ''}`;
}

/**
 * Throws INVALID_ARGUMENT when an unpenalised least-squares problem is rank-deficient: constant columns
 * (with an intercept; an all-zero column without one), then exact or near-exact linear combinations.
 * `g` is the Gram matrix the solve would use (centred when there is an intercept).
 */
export function checkFullRank(x: Matrix, g: Float64Array, names: readonly string[] | null, fitIntercept: boolean, what: string): void {
  const p = x.cols;
  const constant = fitIntercept ? constantColumns(x) : zeroColumns(g, p);
  if (constant.length > 0) {
    const list = constant.map((j) => columnName(names, j)).join(', ');
    throw new QuiverError(
      'INVALID_ARGUMENT',
      fitIntercept
        ? `${what}: ${constant.length === 1 ? 'column' : 'columns'} ${list} ${constant.length === 1 ? 'is' : 'are'} constant, so ${constant.length === 1 ? 'its coefficient is' : 'their coefficients are'} not identifiable next to the intercept; drop ${constant.length === 1 ? 'it' : 'them'}, or add an L2 penalty (ridge, l2 > 0)`
        : `${what}: ${constant.length === 1 ? 'column' : 'columns'} ${list} ${constant.length === 1 ? 'is' : 'are'} all zero; drop ${constant.length === 1 ? 'it' : 'them'}, or add an L2 penalty (ridge, l2 > 0)`,
      { constant, columns: constant.map((j) => names?.[j] ?? j) },
    );
  }
  const collinear = findCollinear(g, p);
  if (collinear.length > 0) {
    const shown = collinear.slice(0, 5).map((c) => formatCombination(c, names, fitIntercept));
    const drop = collinear.map((c) => columnName(names, c.column));
    const duplicates = collinear.filter((c) => c.combination.length === 1 && Math.abs(Math.abs(c.combination[0]!.coefficient) - 1) < 1e-6);
    throw new QuiverError(
      'INVALID_ARGUMENT',
      `${what}: X is rank-deficient: ${shown.join('; ')}${collinear.length > 5 ? `; and ${collinear.length - 5} more` : ''}. ` +
        `Drop ${drop.length === 1 ? 'column' : 'columns'} ${drop.slice(0, 8).join(', ')}${drop.length > 8 ? ', …' : ''}${duplicates.length > 0 ? ' (duplicates)' : ''}, or add an L2 penalty (ridge, l2 > 0)`,
      {
        collinear: collinear.map((c) => ({
          column: names?.[c.column] ?? c.column,
          combination: c.combination.map((t) => ({ column: names?.[t.column] ?? t.column, coefficient: t.coefficient })),
        })),
      },
    );
  }
}

function zeroColumns(g: Float64Array, p: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < p; j++) if (!(g[j * p + j]! > 0)) out.push(j);
  return out;
}
