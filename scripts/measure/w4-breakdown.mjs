// Where the W4 fit from engine memory spends its time (not a unit test, not part of `npm run bench`): the bench's
// 1M × 64 regression in an engine-allocated matrix, 2 threads, accumulate 'f32', no intercept; per round the whole
// fit, then its Gram pass with Xᵀv on a staged X (no value check of X or v, as in the fit), then the pass without v.
// Prints the median and least of each over --rounds rounds, in ms.
//   node scripts/measure/w4-breakdown.mjs [--rounds 21] [--rows 1000000]   (after a build)
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({ options: { rounds: { type: 'string', default: '21' }, rows: { type: 'string', default: '1000000' } } });
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { createEngine } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
const { regression } = await import(pathToFileURL(join(root, 'bench', 'lib', 'data.mjs')).href);

const { x, y } = regression(Number(o.rows), 64, 7);
const e = await createEngine({ threads: 2 });
const m = e.allocMatrix(x.rows, x.cols);
m.data.set(x.data);
const X = { rows: x.rows, cols: x.cols, data: m.data };
const staged = e.stage(X, 'x', { checkValues: false });
const v = e.allocVector(x.rows);
v.data.set(y);
const times = { fit: [], 'gram with v': [], 'gram without v': [] };
const time = async (name, f) => {
  const t0 = performance.now();
  await f();
  times[name].push(performance.now() - t0);
};
for (let r = 0; r < Number(o.rounds); r++) {
  await time('fit', () => e.linearRegression(X, y, { fitIntercept: false, accumulate: 'f32' }));
  await time('gram with v', () => e.gram(staged, { v: v.data, accumulate: 'f32', checkValues: false }));
  await time('gram without v', () => e.gram(staged, { accumulate: 'f32' }));
}
for (const [name, a] of Object.entries(times)) {
  const s = a.slice().sort((p, q) => p - q);
  console.log(`${name}: median ${s[s.length >> 1].toFixed(1)} ms, least ${s[0].toFixed(1)} ms`);
}
staged.release();
await e.close();
