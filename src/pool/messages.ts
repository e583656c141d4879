/** Messages a pool worker posts to the main thread outside Piscina's own task protocol. */

/** The key of the message a worker posts once its modules are loaded; its value is the worker's thread id. */
export const WORKER_LOADED = 'quiverWorkerLoaded';
