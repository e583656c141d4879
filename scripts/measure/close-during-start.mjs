// How often closing an engine while its pool threads start aborts the process (not a unit test, not part of
// `npm run bench`). Each trial is a process of its own (an abort cannot be caught): a fresh engine (inlineWork 0,
// --threads threads), one pooled fit of 20,000 × 16, and `close()` a chosen delay after the call, sub-millisecond
// (a timer, then a spin). The delays spread over [--from, --from + --span) ms; on the AMD EPYC (Zen 4, avx512f)
// 2-core test machine the threads finished loading 50–90 ms after the call with 2 threads and 190–260 ms with 8.
// Prints the counts of trials that settled, aborted (a signal, or Node's "Assertion failed" / "FATAL ERROR"), or
// failed otherwise, and the abort messages seen.
//   node scripts/measure/close-during-start.mjs [--trials 250] [--threads 8] [--from 150] [--span 120]
//        [--backend native] [--dist DIR]   (after a build; --dist: another compiled copy of src/, e.g. an older one)
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    child: { type: 'string' },
    trials: { type: 'string', default: '250' },
    threads: { type: 'string', default: '8' },
    from: { type: 'string', default: '150' },
    span: { type: 'string', default: '120' },
    backend: { type: 'string', default: 'native' },
    dist: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist') },
  },
});

if (o.child !== undefined) {
  const { Engine, fitLinearRegression } = await import(pathToFileURL(join(resolve(o.dist), 'index.js')).href);
  const delay = Number(o.child);
  const e = await Engine.create({ backend: o.backend, threads: Number(o.threads), inlineWork: 0 });
  const n = 20_000;
  const p = 16;
  const data = Float32Array.from({ length: n * p }, (_, i) => (i % 97) * 0.01 + (i % p));
  const t0 = performance.now();
  const fit = fitLinearRegression(e, { rows: n, cols: p, data }, new Float64Array(n).fill(1)).then(
    () => 'done',
    (err) => err?.code ?? String(err),
  );
  if (delay > 3) await new Promise((r) => setTimeout(r, delay - 3));
  while (performance.now() - t0 < delay) {}
  await e.close();
  process.stdout.write(`${JSON.stringify({ delay, outcome: await fit })}\n`);
} else {
  const trials = Number(o.trials);
  const counts = { settled: 0, aborted: 0, failed: 0 };
  const outcomes = {};
  const messages = {};
  for (let i = 1; i <= trials; i++) {
    // A fixed, well-spread sequence of delays, so runs compare.
    const delay = (Number(o.from) + ((i * 37.77) % Number(o.span))).toFixed(2);
    const args = [fileURLToPath(import.meta.url), '--child', delay, '--threads', o.threads, '--backend', o.backend, '--dist', o.dist];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
    const abort = /Assertion failed.*|FATAL ERROR.*/.exec(r.stderr ?? '');
    if (r.status === 0) {
      counts.settled++;
      const { outcome } = JSON.parse(r.stdout.trim());
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    } else if (r.signal !== null || abort) {
      counts.aborted++;
      const m = abort?.[0].trim() ?? `signal ${r.signal}`;
      messages[m] = (messages[m] ?? 0) + 1;
    } else {
      counts.failed++;
      const m = (r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? `code ${r.status}`;
      messages[m] = (messages[m] ?? 0) + 1;
    }
  }
  process.stdout.write(`${JSON.stringify({ trials, threads: Number(o.threads), from: Number(o.from), span: Number(o.span), ...counts, outcomes, messages }, null, 1)}\n`);
}
