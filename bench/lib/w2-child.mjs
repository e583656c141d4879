// One W2 measurement in a fresh process, so its peak RSS belongs to it alone:
//   node bench/lib/w2-child.mjs '{"backend":"native","threads":2,"nq":10000,"nb":100000,"d":128,"k":10,...}'
// Builds the seeded inputs (the same values the parent wrote for the Python peers), records maxRSS, then
// opens the engine and times `runs` calls of engine.topK(queries, base, { k, metric: 'cosine' }).
// Prints one JSON line; a backend that cannot load prints { skipped }.
import { gaussianMatrix } from './data.mjs';
import { loadLibrary, openEngine } from './context.mjs';
import { hrtimeRuns } from './timing.mjs';

const cfg = JSON.parse(process.argv[2]);
const lib = await loadLibrary();
const queries = gaussianMatrix(cfg.nq, cfg.d, cfg.seedQ);
const base = gaussianMatrix(cfg.nb, cfg.d, cfg.seedX);
// maxRSS is in KiB and is a high-water mark: everything above this point is the engine's.
const rssInputs = process.resourceUsage().maxRSS * 1024;
let opened;
try {
  opened = await openEngine(lib, cfg.backend, cfg.threads);
} catch (e) {
  console.log(JSON.stringify({ error: e.message }));
  process.exit(0);
}
const { engine, skipped } = opened;
if (!engine) {
  console.log(JSON.stringify({ skipped }));
  process.exit(0);
}
let last = null;
const timing = await hrtimeRuns(async () => {
  last = await engine.topK(queries, base, { k: cfg.k, metric: 'cosine' });
}, cfg.runs);
const rssPeak = process.resourceUsage().maxRSS * 1024;
let top1 = 0;
for (let q = 0; q < last.rows; q++) top1 += last.scores[q * last.k];
const info = engine.info();
await engine.close();
console.log(
  JSON.stringify({
    ...timing,
    simd: info.simd,
    k: last.k,
    inputBytes: (queries.data.byteLength + base.data.byteLength),
    rssInputs,
    rssPeak,
    peakRssDelta: rssPeak - rssInputs,
    check: { meanTop1: top1 / last.rows, firstIndices: Array.from(last.indices.subarray(0, cfg.k)) },
  }),
);
