/**
 * The file Piscina loads in each worker thread: CommonJS on purpose, so that it never goes through require(esm).
 * Piscina loads its `filename` with require(), and on Node 20.19+ require() of an ES module (worker.ts is one) runs
 * Node's synchronous module loading, two steps of which abort the whole process when the thread is terminated
 * in them: instantiating the module graph (a V8 fatal error, "IsGraphAsync must be used on an instantiated
 * module") and building the facade that adds `__esModule` (an assertion in CreateRequiredModuleFacade). Closing an
 * engine while its threads were still starting did both. This file loads worker.ts with import() instead, whose
 * steps stop cleanly on termination; it starts the import at once and each task waits for it.
 */
const worker = import('./worker.js');
// A load failure reaches each task through `await worker`; keep it from being an unhandled rejection meanwhile.
worker.catch(() => undefined);

async function run(message: Parameters<Awaited<typeof worker>['default']>[0]): ReturnType<Awaited<typeof worker>['default']> {
  return (await worker).default(message);
}

export = run;
