// One bounded measurement of W4 end to end (not a unit test, not part of `npm run bench`): the public
// `fitLinearRegression` on a 1,000,000 × 64 standard-normal X (bench/lib/data.mjs, seed 401), from a plain
// Float32Array and (when the engine has `allocMatrix`) from engine-allocated input, with the staged Gram
// kernel alone for reference, and the peak RSS above the process's baseline.
//   node scripts/measure/w4-zero-copy.mjs [--runs 5] [--rows 1000000] [--backend native] [--dist DIR] [--only plain|allocated]
// --dist picks another compiled copy of src/ (default this checkout's dist/), e.g. the code before the change.
// --only runs one input kind, so that the peak RSS is that kind's alone (an engine-allocated X counts as an
// input: the caller holds it instead of a plain array).
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { peakRssBytes } from '../../bench/lib/context.mjs';
import { regression } from '../../bench/lib/data.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const dist = resolve(arg('--dist', new URL('../../dist', import.meta.url).pathname));
const { createEngine, fitLinearRegression } = await import(pathToFileURL(`${dist}/index.js`).href);
const runs = Number(arg('--runs', '5'));
const rows = Number(arg('--rows', '1000000'));
const cols = 64;
const rss = () => peakRssBytes();
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];

const { x, y } = regression(rows, cols, 401);
const engine = await createEngine({ backend: arg('--backend', 'native'), threads: 2 });
const base = rss();
const inputBytes = x.data.byteLength + y.byteLength;

// Wall time, and the CPU time of the whole process (main thread and pool workers): on a loaded machine the
// CPU time still says how much work a call did, where the wall time mostly says how long it waited.
async function time(label, fn) {
  const t = [];
  const cpu = [];
  let out;
  for (let i = 0; i < runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    out = await fn();
    t.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  console.log(`${label.padEnd(40)} wall median ${median(t).toFixed(1)} ms [${t.map((v) => v.toFixed(0)).join(' ')}]  cpu median ${median(cpu).toFixed(0)} ms`);
  return out;
}

console.log(`dist ${dist}; load average ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
const only = arg('--only', 'both');
const outBytes = cols * 8 + 8;
const peak = () => `  peak RSS above baseline ${((rss() - base) / 2 ** 20).toFixed(0)} MiB (inputs + outputs ${((inputBytes + outBytes) / 2 ** 20).toFixed(0)} MiB)`;
let m1 = null;
if (only !== 'allocated') {
  m1 = await time('fit, plain Float32Array', () => fitLinearRegression(engine, x, y));
  console.log(peak());
}
if (only !== 'plain' && typeof engine.allocMatrix === 'function') {
  const a = engine.allocMatrix(rows, cols);
  a.data.set(x.data);
  // The allocated X replaces the plain one as the caller's input: its pages count as input, not overhead.
  const allocated = a.data.byteLength;
  const m2 = await time('fit, engine-allocated (allocMatrix)', () => fitLinearRegression(engine, a, y));
  console.log(`${peak()}, of which the allocated input ${(allocated / 2 ** 20).toFixed(0)} MiB`);
  if (m1) {
    let diff = Math.abs(m1.intercept - m2.intercept);
    for (let j = 0; j < cols; j++) diff = Math.max(diff, Math.abs(m1.coefficients[j] - m2.coefficients[j]));
    console.log(`  max |Δ coefficient| plain vs allocated: ${diff}`);
  }
  a.release();
}
const staged = engine.stage(x);
await time('gram kernel alone, staged input', () => engine.gram(staged, {}));
staged.release();
console.log(`peak RSS above baseline ${((rss() - base) / 2 ** 20).toFixed(0)} MiB; engine ${JSON.stringify(engine.info().backend)} ${engine.info().simd}`);
await engine.close();
