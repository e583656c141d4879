/**
 * Piscina worker: loads the backend the main thread chose (once per worker), then runs named tasks.
 * Errors never cross as exceptions (structured clone drops the class): they return as
 * `{ ok: false, error: { code, message, details } }` and the pool rebuilds the QuiverError.
 */
import { workerData } from 'piscina';
import { loadBackendFromInit } from '../backends/index.js';
import type { BackendInit } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import { runTask } from './run-task.js';
import type { TaskMap, TaskName, TaskResult } from './tasks.js';

const init = (workerData as { backend: BackendInit }).backend;
const backendReady = loadBackendFromInit(init);
// Keep an early load failure from becoming an unhandled rejection; each task reports it.
backendReady.catch(() => undefined);

async function handle<N extends TaskName>(name: N, task: TaskMap[N][0]): Promise<TaskResult<TaskMap[N][1]>> {
  try {
    const b = await backendReady;
    return { ok: true, value: runTask(b, name, task) };
  } catch (err) {
    return { ok: false, error: QuiverError.from(err).toJSON() };
  }
}

export const normalize = (t: TaskMap['normalize'][0]) => handle('normalize', t);
export const similarity = (t: TaskMap['similarity'][0]) => handle('similarity', t);
export const topk = (t: TaskMap['topk'][0]) => handle('topk', t);
export const kmeans = (t: TaskMap['kmeans'][0]) => handle('kmeans', t);
export const lloyd = (t: TaskMap['lloyd'][0]) => handle('lloyd', t);
export const gram = (t: TaskMap['gram'][0]) => handle('gram', t);
export const logistic = (t: TaskMap['logistic'][0]) => handle('logistic', t);
export const matvec = (t: TaskMap['matvec'][0]) => handle('matvec', t);
export const cholesky = (t: TaskMap['cholesky'][0]) => handle('cholesky', t);
export const sparseSimilarity = (t: TaskMap['sparseSimilarity'][0]) => handle('sparseSimilarity', t);
export const sparseScore = (t: TaskMap['sparseScore'][0]) => handle('sparseScore', t);
/** Lets tests and `quiver info` confirm what each worker loaded. */
export const ping = async () => {
  const b = await backendReady;
  return { backend: b.info.name, simd: b.info.simd };
};
