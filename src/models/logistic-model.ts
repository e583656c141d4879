/**
 * The fitted binary logistic model (scoring, summary, save and load) and the options and state types of its
 * fit; the Newton fit itself is in logistic.ts.
 */
import type { TableEncoder } from '../data/table.js';
import type { CallOptions, Engine } from '../engine/engine.js';
import { LINK_IDENTITY, LINK_SIGMOID } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import { bundleColumns, readBundleOf, writeBundle, type ModelBundle } from './bundle.js';
import { designOf, linearPredictor, type ModelInput, sigmoid64 } from './common.js';
import type { FittedModel, ModelColumns, ModelSummary } from './model.js';

export type ClassWeight = 'balanced' | { 0: number; 1: number } | null;

export interface LogisticIteration {
  iteration: number;
  /** Objective divided by Σs after the step. */
  loss: number;
  /** max |gradient| / Σs before the step. */
  gradMax: number;
  /** ½·ΔᵀHΔ / Σs of this step (the Newton decrement of the averaged objective). */
  decrement: number;
  /** Step length the line search accepted. */
  step: number;
}

export interface LogisticRegressionOptions extends CallOptions {
  /** L2 penalty on the coefficients, not the intercept (default 1, i.e. scikit-learn's C = 1). */
  l2?: number;
  fitIntercept?: boolean;
  classWeight?: ClassWeight;
  sampleWeight?: Float32Array | Float64Array | null;
  /** Newton steps at most (default 100). */
  maxIter?: number;
  /** Convergence tolerance on the averaged objective (default 1e-4, scikit-learn's). */
  tol?: number;
  /**
   * Rows the Newton steps' Hessian is computed on: one row in m (blocks of 8 spread over the table), m = ⌊n / hessianRows⌋, when m ≥ 4 (default
   * max(20,000, 100·(p + 1))); 'all' for every row. The gradient and the objective always use every row, so
   * the optimum is the same; a smaller sample makes each Hessian cheaper and may take a step more.
   */
  hessianRows?: number | 'all';
  /** Column names for messages and reports (default: the encoder's design column names). */
  featureNames?: string[] | null;
  /**
   * The table encoder that built x from a CSV table: saved with the model, so that it scores tables with the
   * same columns, levels and standardisation.
   */
  encoder?: TableEncoder | null;
  onIteration?: (info: LogisticIteration) => void;
}

export interface LogisticState {
  coefficients: Float64Array;
  intercept: number;
  nIter: number;
  converged: boolean;
  /**
   * Mean log-loss, accuracy (threshold 0.5) and ROC AUC on the training rows, unweighted. A fit passes the
   * AUC as a function: it needs a sort of the training scores, so it runs on first read (then the scores are
   * dropped).
   */
  logLoss: number;
  accuracy: number;
  auc: number | (() => number);
  nRows: number;
  params: { l2: number; fitIntercept: boolean; classWeight: ClassWeight; maxIter: number; tol: number };
  featureNames: string[] | null;
  encoder: TableEncoder | null;
}

export class LogisticModel implements FittedModel {
  readonly kind = 'logistic' as const;
  readonly scoreName = 'probabilities';
  readonly coefficients: Float64Array;
  readonly intercept: number;
  readonly nIter: number;
  readonly converged: boolean;
  readonly logLoss: number;
  readonly accuracy: number;
  #auc: number | (() => number);
  readonly nRows: number;
  readonly params: LogisticState['params'];
  readonly featureNames: string[] | null;
  /** The table encoder when the model was fitted on a CSV table (the `encoder` fit option). */
  readonly encoder: TableEncoder | null;

  constructor(
    private readonly engine: Engine,
    s: LogisticState,
  ) {
    this.coefficients = s.coefficients;
    this.intercept = s.intercept;
    this.nIter = s.nIter;
    this.converged = s.converged;
    this.logLoss = s.logLoss;
    this.accuracy = s.accuracy;
    this.#auc = s.auc;
    this.nRows = s.nRows;
    this.params = s.params;
    this.featureNames = s.featureNames;
    this.encoder = s.encoder;
  }

  /** ROC AUC on the training rows (computed on first read after a fit). */
  get auc(): number {
    if (typeof this.#auc === 'function') this.#auc = this.#auc();
    return this.#auc;
  }

  /** Probability of the positive class for each row. */
  async predictProba(x: ModelInput, opts: CallOptions = {}): Promise<Float32Array> {
    const m = designOf(x, this.encoder, this.coefficients.length, this.featureNames);
    return this.engine.matvec(m, this.coefficients, this.intercept, LINK_SIGMOID, opts);
  }

  /** The linear predictor x·β + b (log-odds) for each row. */
  async decisionFunction(x: ModelInput, opts: CallOptions = {}): Promise<Float32Array> {
    const m = designOf(x, this.encoder, this.coefficients.length, this.featureNames);
    return this.engine.matvec(m, this.coefficients, this.intercept, LINK_IDENTITY, opts);
  }

  /** Class 1 where the log-odds are positive (probability > 0.5), else 0. */
  async predict(x: ModelInput, opts: CallOptions = {}): Promise<Int32Array> {
    const z = await this.decisionFunction(x, opts);
    return Int32Array.from(z, (v) => (v > 0 ? 1 : 0));
  }

  /** The probabilities of the positive class (what `quiver predict` writes). */
  score(x: ModelInput, opts: CallOptions = {}): Promise<Float32Array> {
    return this.predictProba(x, opts);
  }

  /** Probability of the positive class for each row, in f64. */
  async scoreF64(x: ModelInput, opts: CallOptions = {}): Promise<Float64Array> {
    const m = designOf(x, this.encoder, this.coefficients.length, this.featureNames);
    return sigmoid64(await linearPredictor(this.engine, m, this.coefficients, this.intercept, opts.signal));
  }

  get columns(): ModelColumns {
    return { count: this.coefficients.length, names: this.featureNames, encoder: this.encoder };
  }

  summary(): ModelSummary {
    return {
      kind: this.kind,
      cols: this.coefficients.length,
      coefficients: Array.from(this.coefficients),
      intercept: this.intercept,
      nIter: this.nIter,
      converged: this.converged,
      logLoss: this.logLoss,
      accuracy: this.accuracy,
      auc: this.auc,
      nRows: this.nRows,
      featureNames: this.featureNames,
    };
  }

  toBundle(): ModelBundle {
    return {
      kind: 'logistic',
      params: {
        ...this.params,
        intercept: this.intercept,
        nIter: this.nIter,
        converged: this.converged,
        logLoss: this.logLoss,
        accuracy: this.accuracy,
        auc: this.auc,
        nRows: this.nRows,
        featureNames: this.featureNames,
      },
      arrays: { coefficients: { data: this.coefficients, shape: [this.coefficients.length] } },
      encoder: this.encoder?.toJSON() ?? null,
    };
  }

  static fromBundle(b: ModelBundle, engine: Engine, source = 'model'): LogisticModel {
    const c = b.arrays['coefficients'];
    if (!c || !(c.data instanceof Float64Array)) throw new QuiverError('INVALID_ARGUMENT', `${source}: a logistic model needs f64 coefficients`);
    const p = b.params;
    return new LogisticModel(engine, {
      coefficients: c.data,
      intercept: Number(p['intercept']),
      nIter: Number(p['nIter']),
      converged: p['converged'] === true,
      logLoss: Number(p['logLoss']),
      accuracy: Number(p['accuracy']),
      auc: Number(p['auc']),
      nRows: Number(p['nRows']),
      params: {
        l2: Number(p['l2'] ?? 1),
        fitIntercept: p['fitIntercept'] !== false,
        classWeight: (p['classWeight'] as ClassWeight) ?? null,
        maxIter: Number(p['maxIter'] ?? 100),
        tol: Number(p['tol'] ?? 1e-4),
      },
      ...bundleColumns(b, source),
    });
  }

  async save(path: string): Promise<void> {
    await writeBundle(path, this.toBundle());
  }

  /** Reads a logistic model written by `save` (see also `loadModel`, which accepts any kind). */
  static async load(path: string, engine: Engine): Promise<LogisticModel> {
    return LogisticModel.fromBundle(await readBundleOf(path, 'logistic'), engine, path);
  }
}

