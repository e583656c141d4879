// Closes a pool at the one instant that aborted whole processes on Node 20: right after a worker thread has
// evaluated the worker module, while Node's require(esm) (how Piscina loads it) is still finishing the load. Runs
// in a process of its own because that abort cannot be caught. The worker is a copy of dist/pool/worker.js, in a
// temporary directory, with its imports made absolute and one statement appended: it raises a flag in shared
// memory as the module's last step. The main thread spins on the flag, terminates the thread the moment it rises,
// then destroys the pool (what Pool.close does). Prints one JSON line { rounds, flagged }: flagged counts the
// rounds whose flag rose before the terminate, i.e. that closed inside the load rather than before it began.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';

const rounds = Number(process.argv[2] ?? 20);
const workerUrl = new URL('../../dist/pool/worker.js', import.meta.url);
const handlersUrl = new URL('../../dist/engine/handlers.js', import.meta.url);

// Relative and bare specifiers would resolve from the temporary directory: make them absolute. `.mjs`, because
// the directory has no package.json saying "module", and the require(esm) path is the same for both.
const source = readFileSync(workerUrl, 'utf8')
  .replace(/\/\/# sourceMappingURL=.*$/m, '')
  .replace(/from '(\.{1,2}\/[^']+)'/g, (_, spec) => `from '${new URL(spec, workerUrl).href}'`)
  .replace(/from 'piscina'/g, `from '${import.meta.resolve('piscina')}'`);
const flag = "\nimport { workerData as flagData } from 'node:worker_threads';\nAtomics.store(flagData.flag, 0, 1);\n";
const dir = mkdtempSync(join(tmpdir(), 'quiver-close-mid-load-'));
const file = join(dir, 'worker.mjs');
writeFileSync(file, source + flag);

let flagged = 0;
try {
  for (let r = 0; r < rounds; r++) {
    const shared = new Int32Array(new SharedArrayBuffer(4));
    const workerData = { backend: { name: 'js' }, handlers: [handlersUrl.href], flag: shared };
    const pool = new Piscina({ filename: pathToFileURL(file).href, minThreads: 1, maxThreads: 1, idleTimeout: Number.POSITIVE_INFINITY, workerData });
    pool.on('error', () => undefined);
    const [thread] = pool.threads;
    // Spinning, not waiting on an event, and terminating the thread before the rest of destroy's bookkeeping:
    // the instant lasts microseconds.
    const until = Date.now() + 10_000;
    while (Atomics.load(shared, 0) === 0 && Date.now() < until) {}
    if (Atomics.load(shared, 0) === 1) flagged++;
    void thread?.terminate();
    await pool.destroy();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${JSON.stringify({ rounds, flagged })}\n`);
