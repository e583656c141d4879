// One bounded measurement (not a unit test, not part of `npm run bench`): `engine.gram(staged, { accumulate:
// 'f32' })` on an engine-allocated 1,000,000 × 64 matrix of random values, min and median of --runs calls, per
// case: plain, v (Xᵀv from an engine-allocated vector), center (centre and sums: the intercept path), conly,
// sums, centerv; --fit adds `fitLinearRegression(engine, allocatedX, y, { fitIntercept: false, accumulate:
// 'f32' })`. --dist picks another compiled copy of src/ (e.g. one beside an older native/*.node).
//   node scripts/measure/gram-f32.mjs [--runs 15] [--threads 2] [--cases plain,v,center] [--fit] [--dist DIR]
//   QUIVER_NATIVE_ISA=avx2 node scripts/measure/gram-f32.mjs     (the AVX2 level on an AVX-512 machine)
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
const arg = (n, d) => { const i = process.argv.indexOf(n); return i > 0 ? process.argv[i + 1] : d; };
const dist = resolve(arg('--dist', new URL('../../dist', import.meta.url).pathname));
const { Engine, fitLinearRegression } = await import(pathToFileURL(`${dist}/index.js`).href);
const runs = Number(arg('--runs', '15'));
const threads = Number(arg('--threads', '2'));
const rows = 1_000_000, cols = 64;
const cases = arg('--cases', 'plain,v,center').split(',');
const engine = await Engine.create({ backend: 'native', threads });
const a = engine.allocMatrix(rows, cols);
let s = 12345;
const rnd = () => { s = (s * 1103515245 + 12345) >>> 0; return s / 2 ** 32 - 0.5; };
for (let i = 0; i < a.data.length; i++) a.data[i] = rnd();
const staged = engine.stage(a);
const va = engine.allocVector(rows);
const v = va.data;
for (let i = 0; i < rows; i++) v[i] = rnd();
const center = new Float64Array(cols).map(() => Math.fround(rnd() * 0.1));
const opts = { plain: { accumulate: 'f32' }, v: { accumulate: 'f32', v }, center: { accumulate: 'f32', center, sums: true }, conly: { accumulate: 'f32', center }, sums: { accumulate: 'f32', sums: true }, centerv: { accumulate: 'f32', center, sums: true, v } };
const med = (x) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)];
console.log(`threads ${threads} isa ${process.env.QUIVER_NATIVE_ISA ?? 'auto'} load ${(await import('node:os')).loadavg().map((q) => q.toFixed(2)).join(' ')}`);
for (const c of cases) {
  await engine.gram(staged, opts[c]);
  const t = [];
  for (let r = 0; r < runs; r++) { const t0 = performance.now(); await engine.gram(staged, opts[c]); t.push(performance.now() - t0); }
  console.log(`${c.padEnd(8)} min ${Math.min(...t).toFixed(1)} median ${med(t).toFixed(1)} ms`);
}
if (process.argv.includes('--fit')) {
  const y = new Float64Array(rows).map(() => rnd());
  await fitLinearRegression(engine, a, y, { fitIntercept: false, accumulate: 'f32' });
  const t = [];
  for (let r = 0; r < runs; r++) { const t0 = performance.now(); await fitLinearRegression(engine, a, y, { fitIntercept: false, accumulate: 'f32' }); t.push(performance.now() - t0); }
  console.log(`fit      min ${Math.min(...t).toFixed(1)} median ${med(t).toFixed(1)} ms`);
}
a.release?.();
await engine.close();
