// One bounded measurement of the multiclass fit (not a unit test, not part of `npm run bench`): 200,000 × 32,
// K = 5, C = 1, seeded synthetic softmax data. Writes the data as .npy for scripts/measure/multinomial.py (the
// scikit-learn side) and prints Quiver's fit time and final objective per backend.
//   node scripts/measure/multinomial.mjs [--backends native,js] [--out /tmp/mn]   (after a build; reads dist/)
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createEngine, fitMultinomialLogistic, Rng, writeNpy } from '../../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const n = 200_000;
const d = 32;
const k = 5;
const out = arg('--out', '/tmp/quiver-multinomial');
mkdirSync(out, { recursive: true });
const rng = new Rng(7);
const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
const w = Float64Array.from({ length: k * d }, () => 0.5 * gauss());
const x = new Float32Array(n * d);
const y = new Int32Array(n);
for (let i = 0; i < n; i++) {
  const z = new Float64Array(k);
  for (let j = 0; j < d; j++) x[i * d + j] = gauss();
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) z[c] += w[c * d + j] * x[i * d + j];
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b);
  let u = rng.next() * s;
  let c = 0;
  while (c < k - 1 && u > e[c]) u -= e[c++];
  y[i] = c;
}
await writeNpy(join(out, 'x.npy'), x, [n, d]);
await writeNpy(join(out, 'y.npy'), y, [n]);
for (const backend of arg('--backends', 'native,js').split(',')) {
  const engine = await createEngine({ backend, threads: 2 });
  const t0 = performance.now();
  const m = await fitMultinomialLogistic(engine, { rows: n, cols: d, data: x }, y, { l2: 1, tol: 1e-6 });
  const secs = (performance.now() - t0) / 1000;
  let pen = 0;
  for (const v of m.coefficients) pen += v * v;
  // scikit-learn's objective: Σ log-loss + ‖W‖²/(2C), per row.
  const objective = m.logLoss + (0.5 * pen) / n;
  console.log(JSON.stringify({ who: `quiver ${backend}`, seconds: +secs.toFixed(3), nIter: m.nIter, objective }));
  await engine.close();
}
