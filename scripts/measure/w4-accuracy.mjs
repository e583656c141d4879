// Coefficient accuracy of W4-style OLS with an intercept (not a unit test, not part of `npm run bench`):
// fitLinearRegression in each accumulation mode on two f32 designs, against an f64 least-squares oracle on the
// same f32 values, beside numpy f32 normal equations and AOCL-DA (scripts/measure/w4_accuracy.py, bench/.venv).
//   node scripts/measure/w4-accuracy.mjs [--rows 1000000] [--backend native] [--isa auto|avx512|avx2|scalar]
// Designs: "w4" is the bench's W4 (standard normal X, seed 401) with 5 added to every column; "cond1e3" has
// singular values from 1 to 1e-3 mixed by a reflection, offset 100, so cond(X) ≈ 1e3 and cond(XᵀX) ≈ 1e6.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gaussianMatrix, makeRng, regression } from '../../bench/lib/data.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const root = new URL('../..', import.meta.url).pathname;
const { createEngine, fitLinearRegression, writeNpy } = await import(pathToFileURL(`${root}/dist/index.js`).href);
const rows = Number(arg('--rows', '1000000'));
if (arg('--isa', null)) process.env.QUIVER_NATIVE_ISA = arg('--isa', null);
const engine = await createEngine({ backend: arg('--backend', 'native'), threads: 2 });

function w4() {
  const { x, beta } = regression(rows, 64, 401);
  for (let i = 0; i < x.data.length; i++) x.data[i] = Math.fround(x.data[i] + 5);
  return finish(x, beta, 401);
}

function cond1e3() {
  const p = 64;
  const z = gaussianMatrix(rows, p, 402);
  const rng = makeRng(403);
  const u = Float64Array.from({ length: p }, () => rng.normal());
  const un = Math.hypot(...u);
  for (let j = 0; j < p; j++) u[j] /= un;
  const s = Float64Array.from({ length: p }, (_, j) => 10 ** ((-3 * j) / (p - 1)));
  const x = { rows, cols: p, data: new Float32Array(rows * p) };
  const r = new Float64Array(p);
  for (let i = 0; i < rows; i++) {
    let dot = 0;
    for (let j = 0; j < p; j++) {
      r[j] = z.data[i * p + j] * s[j];
      dot += r[j] * u[j];
    }
    // (I − 2uuᵀ)·diag(s)·z: orthogonal mixing keeps the singular values.
    for (let j = 0; j < p; j++) x.data[i * p + j] = Math.fround(100 + r[j] - 2 * dot * u[j]);
  }
  const beta = Float64Array.from({ length: p }, () => rng.normal());
  return finish(x, beta, 404);
}

function finish(x, beta, seed) {
  const rng = makeRng(seed);
  const y = new Float64Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let t = 1;
    for (let j = 0; j < x.cols; j++) t += x.data[i * x.cols + j] * beta[j];
    // f32 values, so that every fit and the oracle see the same y (numpy f32 and AOCL-DA take it in f32).
    y[i] = Math.fround(t + 0.1 * rng.normal());
  }
  return { x, y };
}

const dir = mkdtempSync(join(tmpdir(), 'w4acc-'));
const out = {};
try {
  for (const [name, make] of [['w4', w4], ['cond1e3', cond1e3]]) {
    const { x, y } = make();
    const fits = {};
    for (const accumulate of ['f64', 'f32']) {
      const m = await fitLinearRegression(engine, x, y, { accumulate });
      fits[`quiver ${accumulate}`] = { coef: Array.from(m.coefficients), intercept: m.intercept };
    }
    await writeNpy(join(dir, 'x.npy'), x.data, [x.rows, x.cols]);
    await writeNpy(join(dir, 'y.npy'), y, [y.length]);
    const py = resolve(root, 'bench/.venv/bin/python');
    // The last line: AOCL-DA's skpatch() prints its list of patched classes first.
    const res = JSON.parse(execFileSync(py, [resolve(root, 'scripts/measure/w4_accuracy.py'), dir, JSON.stringify(fits)], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n').pop());
    out[name] = res;
    console.log(`${name} (${rows} × ${x.cols}, cond(X) ${res.cond.toExponential(1)}): max |Δβ| / max |β| against the f64 lstsq oracle`);
    for (const [impl, e] of Object.entries(res.errors)) console.log(`  ${impl.padEnd(22)} coef ${e.coef.toExponential(2)}  intercept ${e.intercept.toExponential(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await engine.close();
}
