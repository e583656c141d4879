// One engine row in a fresh process, so its peak RSS belongs to it alone:
//   node bench/lib/call-child.mjs '{"workload":"W4","variant":"plain","backend":"native","threads":2,"cfg":{...},...}'
// QUIVER_NATIVE_ISA in its environment picks the native level (the avx2 rows on AVX-512 machines).
// Order: load the library, open the engine and warm it up, read the resident size (the baseline), build
// the seeded inputs (in shared memory for the `shared` variant), collect, read the resident size again and reset
// the high-water mark (Linux clear_refs), time the call, read the high-water mark (VmHWM: see peakRssBytes).
// peakRssDelta = that peak − the resident size just before the call + the inputs' bytes: the inputs at their
// size, every copy the call makes, its outputs and scratch, but not the JavaScript heap left over from
// generating the inputs (8 MiB on W3's 26 MB, a bench artefact: a user's loader leaves its own). Where the
// mark cannot be reset (not Linux), it is the peak − the baseline, as before (\`peakReset\` says which).
// the target is ≤ 1.5 × (input + output bytes). Prints one JSON line ({ skipped } when the backend does not load).
// With "once": true the call runs exactly once (no timing loop): the peak is then that one call's, which is
// what the memory target is about. A timing loop's peak also holds the results of earlier calls that the
// garbage collector has not freed yet (W1 from a plain array leaves a 64 MiB answer per call): up to 47× in+out.
import { setMatrixAllocator } from './data.mjs';
import { loadLibrary, openEngine, peakRssBytes, resetPeakRss } from './context.mjs';
import { CALLS } from './public-calls.mjs';
import { hrtimeRuns, timeAdaptive } from './timing.mjs';

const job = JSON.parse(process.argv[2]);
const call = CALLS[job.workload];
const lib = await loadLibrary();
let opened;
try {
  opened = await openEngine(lib, job.backend, job.threads);
} catch (e) {
  console.log(JSON.stringify({ error: e.message }));
  process.exit(0);
}
const { engine, skipped } = opened;
if (!engine) {
  console.log(JSON.stringify({ skipped }));
  process.exit(0);
}
let allocated = 'plain Float32Array';
// The kernel row stages its X once: from engine memory, as a user who calls the kernel repeatedly would hold it,
// so the staging reads it in place (a plain array would be copied, since a staged handle outlives the call).
if (job.variant === 'shared' || job.variant === 'kernel') {
  if (typeof engine.allocMatrix === 'function') {
    allocated = 'engine.allocMatrix';
    setMatrixAllocator((rows, cols) => {
      const m = engine.allocMatrix(rows, cols);
      return m instanceof Float32Array ? m : m.data;
    });
  } else {
    allocated = 'SharedArrayBuffer Float32Array (engine.allocMatrix not available)';
    setMatrixAllocator((rows, cols) => new Float32Array(new SharedArrayBuffer(rows * cols * 4)));
  }
}
const baseline = process.memoryUsage().rss;
const inputs = call.build(job.cfg);
globalThis.gc?.();
const rssInputs = process.memoryUsage().rss;
const peakReset = resetPeakRss();
const state = {};
const op = () => call.op(engine, inputs, job.variant, state, job.cfg);
const ctx = { budget: job.budget, longRuns: job.runs };
let timing;
let first;
if (job.once) {
  const t0 = process.hrtime.bigint();
  first = await op();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  timing = { timer: 'one call (peak RSS run)', seconds, times: [seconds] };
} else if (job.long) {
  timing = await hrtimeRuns(async () => {
    first = await op();
  }, job.runs);
} else ({ timing, first } = await timeAdaptive(`${job.workload} ${job.backend} ${job.variant}`, op, ctx));
const rssPeak = peakRssBytes();
const info = engine.info();
state.staged?.release();
await engine.close();
const bytes = call.bytes(inputs, job.cfg);
const check = call.check(first, inputs);
console.log(
  JSON.stringify({
    ...timing,
    seconds: call.perIteration ? timing.seconds / first.nIter : timing.seconds,
    fitSeconds: timing.seconds,
    simd: info.simd,
    allocated,
    baseline,
    rssInputs,
    rssPeak,
    peakReset,
    peakRssDelta: peakReset ? rssPeak - rssInputs + bytes.inputs : rssPeak - baseline,
    ioBytes: bytes.inputs + bytes.outputs,
    bytes,
    check,
  }),
);
