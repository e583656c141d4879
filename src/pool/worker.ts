/**
 * Piscina worker: loads the backend the main thread chose and the handler modules it named (once per
 * worker), then runs each task by its handler's name. Errors never cross as exceptions (structured clone
 * drops the class): they return as `{ ok: false, error: { code, message, details } }` and the pool rebuilds
 * the QuiverError.
 */
import { workerData } from 'piscina';
import { loadBackendFromInit } from '../backends/index.js';
import type { Backend } from '../backends/types.js';
import { QuiverError } from '../errors.js';
import type { HandlerModule, TaskHandler, TaskMessage, TaskResult, WorkerSetup } from './pool.js';

const setup = workerData as WorkerSetup;

/** Built in: lets tests and diagnostics confirm what each worker loaded. */
const builtIn: Record<string, TaskHandler> = {
  ping: (b: Backend) => ({ backend: b.info.name, simd: b.info.simd }),
};

const ready: Promise<{ backend: Backend; handlers: Record<string, TaskHandler> }> = (async () => {
  const [backend, modules] = await Promise.all([
    loadBackendFromInit(setup.backend),
    Promise.all(setup.handlers.map(async (url) => (await import(url)) as HandlerModule)),
  ]);
  const handlers: Record<string, TaskHandler> = { ...builtIn };
  for (const m of modules) Object.assign(handlers, m.handlers);
  return { backend, handlers };
})();
// Keep an early load failure from becoming an unhandled rejection; each task reports it.
ready.catch(() => undefined);

export default async function run({ name, task }: TaskMessage): Promise<TaskResult<unknown>> {
  try {
    const { backend, handlers } = await ready;
    const handler = handlers[name];
    if (!handler) throw new QuiverError('INTERNAL', `the pool has no handler named "${name}"`);
    return { ok: true, value: handler(backend, task as never) };
  } catch (err) {
    return { ok: false, error: QuiverError.from(err).toJSON() };
  }
}
