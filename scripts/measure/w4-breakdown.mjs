// Where the W4 fit from engine memory spends its time (not a unit test, not part of `npm run bench`): the bench's
// 1M × 64 regression in an engine-allocated matrix, 2 threads, accumulate 'f32', no intercept (see --intercept); per round the whole
// fit, then its Gram pass with Xᵀv on a staged X (no value check of X or v, as in the fit), then the pass without v.
// With --intercept: the fit with an intercept, and the passes centred on a shift with the column sums, as that
// fit's pass is. --accumulate f64 times the default mode instead. Prints the median and least of each over --rounds
// rounds, in ms.
//   node scripts/measure/w4-breakdown.mjs [--rounds 21] [--rows 1000000] [--intercept] [--accumulate f32|f64] [--threads 2]   (after a build)
// For a profile of the kernels: perf record -e cpu-clock node scripts/measure/w4-breakdown.mjs --accumulate f64 --threads 1
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '21' }, rows: { type: 'string', default: '1000000' }, intercept: { type: 'boolean', default: false }, accumulate: { type: 'string', default: 'f32' }, threads: { type: 'string', default: '2' } } });
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { createEngine } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
const { regression } = await import(pathToFileURL(join(root, 'bench', 'lib', 'data.mjs')).href);

const { x, y } = regression(Number(o.rows), 64, 7);
const e = await createEngine({ threads: Number(o.threads) });
const m = e.allocMatrix(x.rows, x.cols);
m.data.set(x.data);
const X = { rows: x.rows, cols: x.cols, data: m.data };
const staged = e.stage(X, 'x', { checkValues: false });
const v = e.allocVector(x.rows);
v.data.set(y);
const fitIntercept = o.intercept;
const accumulate = o.accumulate;
if (accumulate !== 'f32' && accumulate !== 'f64') throw new Error(`--accumulate f32 or f64, not ${accumulate}`);
// The fit's shift is a row sample's mean, rounded to f32; any f32 values near the column means time the same.
const center = fitIntercept ? Float64Array.from({ length: x.cols }, (_, j) => Math.fround(x.data[j] * 1e-3)) : null;
const extra = fitIntercept ? { center, sums: true } : {};
const times = { fit: [], 'gram with v': [], 'gram without v': [] };
const time = async (name, f) => {
  const t0 = performance.now();
  await f();
  times[name].push(performance.now() - t0);
};
for (let r = 0; r < Number(o.rounds); r++) {
  await time('fit', () => e.linearRegression(X, y, { fitIntercept, accumulate }));
  await time('gram with v', () => e.gram(staged, { v: v.data, accumulate, checkValues: false, ...extra }));
  await time('gram without v', () => e.gram(staged, { accumulate, checkValues: false, ...extra }));
}
for (const [name, a] of Object.entries(times)) {
  const s = a.slice().sort((p, q) => p - q);
  console.log(`${name}: median ${s[s.length >> 1].toFixed(1)} ms, least ${s[0].toFixed(1)} ms`);
}
staged.release();
await e.close();
