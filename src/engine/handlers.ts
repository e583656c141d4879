/**
 * The registry of worker-side handlers, by task name: the module the pool's workers load (the engine passes
 * its path to the pool), built from the same `TaskKind`s that run inline, so both paths run one function.
 */
import type { Backend } from '../backends/types.js';
import { alsTask } from './ops/als.js';
import { choleskyTask } from './ops/cholesky.js';
import { gramTask } from './ops/gram.js';
import { kmeansTask } from './ops/kmeans.js';
import { lloydTask } from './ops/kmeans-lloyd.js';
import { logisticTask } from './ops/logistic.js';
import { matvecTask } from './ops/matvec.js';
import { normalizeTask, rowNormsTask } from './ops/normalize.js';
import { similarityTask } from './ops/similarity.js';
import { sparseScoreTask, sparseSimilarityTask } from './ops/sparse.js';
import { topkTask } from './ops/topk.js';
import { multinomialTask } from './ops/multinomial.js';
import { tilesTask } from './ops/tiles.js';
import { topkExclTask } from './ops/topk-exclude.js';
import type { TaskKind } from './schedule.js';

/** Every task kind the engine dispatches. */
export const TASK_KINDS: readonly TaskKind<never, unknown>[] = [
  normalizeTask,
  similarityTask,
  topkTask,
  kmeansTask,
  lloydTask,
  gramTask,
  logisticTask,
  matvecTask,
  choleskyTask,
  sparseSimilarityTask,
  sparseScoreTask,
  multinomialTask,
  alsTask,
  tilesTask,
  topkExclTask,
  rowNormsTask,
];

export const handlers: Readonly<Record<string, (b: Backend, task: never) => unknown>> = Object.fromEntries(TASK_KINDS.map((k) => [k.name, k.run]));
