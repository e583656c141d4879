/**
 * Implicit ALS's options: their defaults (chosen on MovieLens 100K with Quiver's evaluation, see the README's
 * ALS section), validation, and what a bundle stores of them.
 */
import { QuiverError } from '../errors.js';

export type AlsSolver = 'cholesky' | 'cg';
/** 'plain': λ as given (implicit's convention); 'count': λ times the row's number of interactions (ALS-WR, Spark's). */
export type AlsRegularizationMode = 'plain' | 'count';

export interface AlsProgress {
  /** 'users' or 'items': the half-step just finished. */
  phase: string;
  /** Iterations finished for this phase. */
  done: number;
  total: number;
}

export interface AlsOptions {
  /** Latent factors k (1 … items). */
  factors?: number;
  /** Full iterations (a user half-step and an item half-step each). */
  iterations?: number;
  /** λ ≥ 0; 0 is allowed, but a system that is then singular fails naming its user or item. */
  regularization?: number;
  regularizationMode?: AlsRegularizationMode;
  /** Confidence c_ui = 1 + alpha·r_ui (> 0). */
  alpha?: number;
  seed?: number;
  /** 'cholesky' (exact) or 'cg' (conjugate gradient, `cgSteps` steps warm-started from the last iterate). */
  solver?: AlsSolver;
  cgSteps?: number;
  /**
   * Starting factors (users × factors and items × factors, row-major) instead of the seeded random ones: to
   * continue a fit, or to compare with another library from the same start.
   */
  initialFactors?: { user: Float32Array; item: Float32Array };
  /** Called after every half-step. */
  onProgress?: (p: AlsProgress) => void;
  signal?: AbortSignal;
}

export interface AlsParams {
  factors: number;
  iterations: number;
  regularization: number;
  regularizationMode: AlsRegularizationMode;
  alpha: number;
  seed: number;
  solver: AlsSolver;
  cgSteps: number;
}

export const ALS_DEFAULTS: AlsParams = {
  factors: 32,
  iterations: 15,
  regularization: 20,
  regularizationMode: 'plain',
  alpha: 1,
  seed: 0,
  solver: 'cholesky',
  cgSteps: 3,
};

function wholeAtLeast(v: unknown, min: number, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new QuiverError('INVALID_ARGUMENT', `${name} must be a whole number ≥ ${min} (got ${String(v)})`);
  return v;
}

/** The options with defaults filled in, checked against the catalogue size. */
export function alsParams(opts: AlsOptions, items: number): AlsParams {
  const p: AlsParams = {
    factors: wholeAtLeast(opts.factors ?? ALS_DEFAULTS.factors, 1, 'factors'),
    iterations: wholeAtLeast(opts.iterations ?? ALS_DEFAULTS.iterations, 1, 'iterations'),
    regularization: opts.regularization ?? ALS_DEFAULTS.regularization,
    regularizationMode: opts.regularizationMode ?? ALS_DEFAULTS.regularizationMode,
    alpha: opts.alpha ?? ALS_DEFAULTS.alpha,
    seed: opts.seed ?? ALS_DEFAULTS.seed,
    solver: opts.solver ?? ALS_DEFAULTS.solver,
    cgSteps: wholeAtLeast(opts.cgSteps ?? ALS_DEFAULTS.cgSteps, 1, 'cgSteps'),
  };
  if (opts.factors === undefined && p.factors > items) p.factors = items;
  if (p.factors > items) throw new QuiverError('INVALID_ARGUMENT', `factors must be at most the number of items (${items}); got ${p.factors}`, { factors: p.factors, items });
  if (typeof p.alpha !== 'number' || !Number.isFinite(p.alpha) || p.alpha <= 0) throw new QuiverError('INVALID_ARGUMENT', `alpha must be a number > 0 (got ${String(p.alpha)})`);
  if (typeof p.regularization !== 'number' || !Number.isFinite(p.regularization) || p.regularization < 0) {
    throw new QuiverError('INVALID_ARGUMENT', `regularization must be a number ≥ 0 (got ${String(p.regularization)})`);
  }
  if (p.regularizationMode !== 'plain' && p.regularizationMode !== 'count') {
    throw new QuiverError('INVALID_ARGUMENT', `regularizationMode must be 'plain' or 'count' (got ${String(p.regularizationMode)})`);
  }
  if (p.solver !== 'cholesky' && p.solver !== 'cg') throw new QuiverError('INVALID_ARGUMENT', `solver must be 'cholesky' or 'cg' (got ${String(p.solver)})`);
  wholeAtLeast(p.seed, 0, 'seed');
  return p;
}

/** The parameters a bundle stored, checked. */
export function alsParamsFromBundle(raw: Record<string, unknown>, source: string): AlsParams {
  try {
    return alsParams(
      {
        factors: raw['factors'] as number,
        iterations: raw['iterations'] as number,
        regularization: raw['regularization'] as number,
        regularizationMode: raw['regularizationMode'] as AlsRegularizationMode,
        alpha: raw['alpha'] as number,
        seed: raw['seed'] as number,
        solver: raw['solver'] as AlsSolver,
        cgSteps: raw['cgSteps'] as number,
      },
      Number.POSITIVE_INFINITY,
    );
  } catch (e) {
    throw new QuiverError('INVALID_ARGUMENT', `${source}: the ALS parameters are invalid (${(e as Error).message})`);
  }
}
