// Terminates pool threads at points spread over their whole module load, in a process of its own because the
// failure this guards against is an abort, which cannot be caught: on Node 20, Piscina's require() of the ES
// worker module (require(esm)) aborted the process when the thread was terminated while Node instantiated the
// module graph or built its `__esModule` facade. Each round starts a Piscina pool as Pool does (the same entry
// file and worker data, plus the flags) with four threads and one `ping` task each; a preloaded hook flags in
// shared memory when a thread begins to load the entry (in Module._load), and the main thread, spinning on the
// flags, terminates each thread a chosen offset after its flag rose, then destroys the pool (what Pool.close
// does). The offsets sweep from 0 to a quarter beyond the load time a first round measures. argv: rounds
// (default 60), then optionally another entry file to load instead (to compare with loading worker.js directly).
// Prints one JSON line { rounds, loadMs, midLoad }: midLoad counts the threads terminated before their load ended.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { workerEntry } from '../../dist/pool/pool.js';

const rounds = Number(process.argv[2] ?? 60);
const entry = process.argv[3] ? resolve(process.argv[3]) : workerEntry();
const handlers = [pathToFileURL(new URL('../../dist/engine/handlers.js', import.meta.url).pathname).href];

const dir = mkdtempSync(join(tmpdir(), 'quiver-close-mid-load-'));
const hook = join(dir, 'hook.cjs');
writeFileSync(
  hook,
  `const Module = require('node:module');
const { threadId, workerData } = require('node:worker_threads');
const load = Module._load;
Module._load = function (request, ...rest) {
  if (workerData && request === workerData.entry) Atomics.store(workerData.flag, 2 * (threadId % 256), 1);
  return load.call(this, request, ...rest);
};
`,
);
const marker = pathToFileURL(join(dir, 'marker.mjs')).href;
writeFileSync(
  join(dir, 'marker.mjs'),
  "import { threadId, workerData } from 'node:worker_threads';\nAtomics.store(workerData.flag, 2 * (threadId % 256) + 1, 1);\nexport const handlers = {};\n",
);

const THREADS = 4;

/**
 * One round: each of the pool's threads is terminated `offsets[i]` ms after it began to load (offsets null: all
 * load to the end). A thread's second flag is set by a handler module loaded concurrently with the engine's
 * handlers and the backend: about the end of its load. Returns how many threads were terminated still loading,
 * and the longest load when they were let finish.
 */
async function round(offsets) {
  const flag = new Int32Array(new SharedArrayBuffer(8 * 256));
  const workerData = { backend: { name: 'js' }, handlers: [...handlers, marker], entry, flag };
  const pool = new Piscina({ filename: entry, minThreads: THREADS, maxThreads: THREADS, idleTimeout: Number.POSITIVE_INFINITY, workerData, execArgv: ['--require', hook] });
  pool.on('error', () => undefined);
  const threads = pool.threads;
  // Tasks drive the load: an idle Piscina thread blocks in Atomics.wait until one arrives. One per thread.
  const pings = threads.map(() => pool.run({ name: 'ping', task: null }).catch(() => undefined));
  const slot = (t) => 2 * (t.threadId % 256);
  const started = threads.map(() => null);
  const done = threads.map(() => false);
  let midLoad = 0;
  let loadMs = 0;
  // Spinning, not waiting on events: some of the steps that used to abort last microseconds.
  const until = Date.now() + 10_000;
  while (done.some((d) => !d) && Date.now() < until) {
    const now = performance.now();
    threads.forEach((t, i) => {
      if (done[i]) return;
      if (started[i] === null) {
        if (Atomics.load(flag, slot(t)) === 1) started[i] = now;
        return;
      }
      const loaded = Atomics.load(flag, slot(t) + 1) === 1;
      if (offsets === null) {
        if (loaded) {
          loadMs = Math.max(loadMs, now - started[i]);
          done[i] = true;
        }
      } else if (now - started[i] >= offsets[i]) {
        if (!loaded) midLoad++;
        void t.terminate();
        done[i] = true;
      }
    });
  }
  await pool.destroy();
  await Promise.all(pings);
  return { midLoad, loadMs };
}

let midLoad = 0;
let loadMs = 0;
try {
  // A first round measures the load, which sets the sweep.
  loadMs = (await round(null)).loadMs || 50;
  for (let r = 0; r < rounds; r++) {
    const offsets = Array.from({ length: THREADS }, (_, i) => (1.25 * loadMs * (r * THREADS + i)) / (rounds * THREADS));
    midLoad += (await round(offsets)).midLoad;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ rounds, loadMs: Math.round(loadMs * 10) / 10, midLoad })}\n`);
