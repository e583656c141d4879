// W5's memory per call (not a unit test, not part of `npm run bench`): the bench's own W5 call, input and ratio
// (bench/lib/public-calls.mjs, bench/suites/models/common.mjs, the `RSS per call / (in+out)` of
// bench/lib/call-child.mjs) in one fresh process: open and warm the native engine, build the input (a plain
// array, or engine memory with `shared`), collect, reset the peak RSS, fit, and print the peak above the
// resident size with the inputs and that ratio. `all` adds hessianRows: 'all' (no Hessian sample). --calls N
// fits N times in the one process, each measured alone (the first call pays one-time costs the later ones do not).
//   node --expose-gc scripts/measure/w5-memory.mjs plain|shared [all] [--calls 1]   (after a build, on Linux)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const bench = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');
const load = (p) => import(pathToFileURL(join(bench, p)).href);
const { setMatrixAllocator } = await load('lib/data.mjs');
const { loadLibrary, openEngine, peakRssBytes, resetPeakRss } = await load('lib/context.mjs');
const { CALLS } = await load('lib/public-calls.mjs');
const { SEEDS, SIZES } = await load('suites/models/common.mjs');

const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { calls: { type: 'string', default: '1' } } });
const [variant = 'plain', hessian] = positionals;
if (variant !== 'plain' && variant !== 'shared') throw new Error(`plain or shared, not ${variant}`);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const { engine, skipped } = await openEngine(await loadLibrary(), 'native', 2);
if (!engine) throw new Error(skipped);
if (variant === 'shared') setMatrixAllocator((rows, cols) => engine.allocMatrix(rows, cols).data);
const s = SIZES.full.W5;
const cfg = { n: s.n, d: s.d, seed: SEEDS.W5, C: s.C, tol: s.tol, maxIter: s.maxIter };
const call = CALLS.W5;
const inputs = call.build(cfg);
const { inputs: inBytes, outputs: outBytes } = call.bytes(inputs, cfg);
// hessianRows: 'all' on top of the bench's call.
const target = hessian === 'all' ? { logisticRegression: (x, y, opts) => engine.logisticRegression(x, y, { ...opts, hessianRows: 'all' }) } : engine;
for (let n = 1; n <= Number(o.calls); n++) {
  globalThis.gc();
  const before = process.memoryUsage().rss;
  resetPeakRss();
  const model = await call.op(target, inputs, variant, {}, cfg);
  const delta = peakRssBytes() - before + inBytes;
  console.log(`${variant}${hessian === 'all' ? ", hessianRows 'all'" : ''}, call ${n}: peak above the resident size with the inputs ${(delta / 1e6).toFixed(1)} MB, ${(delta / (inBytes + outBytes)).toFixed(2)}× in+out; ${model.iterations ?? model.nIter} iterations`);
}
await engine.close();
