// One bounded measurement of W4 (not a unit test, not part of `npm run bench`): the public
// `fitLinearRegression` on 1,000,000 × 64 (bench/lib/data.mjs, seed 401, native, 2 threads), with and without
// an intercept, each accumulation mode, from a plain Float32Array and from engine-allocated input.
//   node scripts/measure/w4-one-pass.mjs [--runs 7] [--rows 1000000] [--dist DIR] [--modes f64,f32]
// --dist picks another compiled copy of src/ (e.g. the code before the change; it ignores `accumulate`).
// Prints wall and whole-process CPU medians: on a loaded machine the CPU time says how much work a call did.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { regression } from '../../bench/lib/data.mjs';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const dist = resolve(arg('--dist', new URL('../../dist', import.meta.url).pathname));
const { createEngine, fitLinearRegression } = await import(pathToFileURL(`${dist}/index.js`).href);
const runs = Number(arg('--runs', '7'));
const rows = Number(arg('--rows', '1000000'));
const modes = arg('--modes', 'f64,f32').split(',');
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const { x, y } = regression(rows, 64, 401);
const engine = await createEngine({ backend: 'native', threads: 2 });
const alloc = typeof engine.allocMatrix === 'function' ? engine.allocMatrix(rows, 64) : null;
alloc?.data.set(x.data);
console.log(`dist ${dist}; load average ${(await import('node:os')).loadavg().map((v) => v.toFixed(2)).join(' ')}`);
const cases = [];
for (const fitIntercept of [true, false]) {
  for (const accumulate of modes) {
    cases.push({ label: `plain, intercept ${fitIntercept}, ${accumulate}`, m: x, opts: { fitIntercept, accumulate } });
    if (alloc) cases.push({ label: `allocated, intercept ${fitIntercept}, ${accumulate}`, m: alloc, opts: { fitIntercept, accumulate } });
  }
}
const res = cases.map(() => ({ t: [], cpu: [] }));
for (const c of cases) await fitLinearRegression(engine, c.m, y, c.opts); // warm-up
// Cases interleaved run by run, so a change in the machine's load hits them alike.
for (let r = 0; r < runs; r++) {
  for (let k = 0; k < cases.length; k++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fitLinearRegression(engine, cases[k].m, y, cases[k].opts);
    res[k].t.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    res[k].cpu.push((c.user + c.system) / 1000);
  }
}
for (let k = 0; k < cases.length; k++) {
  console.log(`${cases[k].label.padEnd(36)} wall median ${median(res[k].t).toFixed(1)} ms (min ${Math.min(...res[k].t).toFixed(1)})  cpu median ${median(res[k].cpu).toFixed(0)} ms`);
}
alloc?.release();
await engine.close();
