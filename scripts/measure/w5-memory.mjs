// W5's memory in one call (not a unit test, not part of `npm run bench`): a fresh process opens and warms the
// native engine as the bench's rows do, builds the 200,000 × 32 classification input (a plain array, or engine
// memory with `shared`), collects, resets the peak RSS, fits once, and prints the peak above the resident size
// before the call and the bench's ratio (1 + that / (input + output bytes)). `all` fits with hessianRows: 'all'
// (no Hessian sample). --calls N fits N times in the one process, each measured alone (the first call pays
// one-time costs the later ones do not).
//   node --expose-gc scripts/measure/w5-memory.mjs plain|shared [all] [--calls 1]   (after a build, on Linux)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { setMatrixAllocator, classification } = await import(pathToFileURL(join(root, 'bench', 'lib', 'data.mjs')).href);
const { loadLibrary, openEngine, peakRssBytes, resetPeakRss } = await import(pathToFileURL(join(root, 'bench', 'lib', 'context.mjs')).href);
const { values: o, positionals } = parseArgs({ allowPositionals: true, options: { calls: { type: 'string', default: '1' } } });
const [variant = 'plain', hessian] = positionals;
if (variant !== 'plain' && variant !== 'shared') throw new Error(`plain or shared, not ${variant}`);
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const lib = await loadLibrary();
const { engine, skipped } = await openEngine(lib, 'native', 2);
if (!engine) throw new Error(skipped);
if (variant === 'shared') setMatrixAllocator((rows, cols) => engine.allocMatrix(rows, cols).data);
const { x, y } = classification(200_000, 32, 7);
const bytes = x.rows * x.cols * 4 + y.byteLength + (x.cols + 1) * 8;
for (let call = 1; call <= Number(o.calls); call++) {
  globalThis.gc();
  const before = process.memoryUsage().rss;
  resetPeakRss();
  const model = await engine.logisticRegression(x, y, { l2: 1, fitIntercept: true, ...(hessian === 'all' ? { hessianRows: 'all' } : {}) });
  const extra = peakRssBytes() - before;
  console.log(`${variant}${hessian === 'all' ? ", hessianRows 'all'" : ''}, call ${call}: ${(extra / 1e6).toFixed(1)} MB above the resident size, ratio ${(1 + extra / bytes).toFixed(2)} of in+out; ${model.iterations ?? model.nIter} iterations`);
}
await engine.close();
