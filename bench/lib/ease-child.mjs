// One EASE fit in a fresh process, so its peak RSS is its own:
//   node bench/lib/ease-child.mjs '{"backend":"native","threads":2,"source":{...},"lambda":500}'
// Loads the interactions (binary), records its peak RSS, opens the engine, fits EASE once on a small synthetic set
// (untimed warm-up: pool threads, JIT), then times one fit with default options. Prints one JSON line.
import { loadLibrary, openEngine, peakRssBytes } from './context.mjs';

const cfg = JSON.parse(process.argv[2]);
const lib = await loadLibrary();
const data = cfg.source.ratings
  ? await lib.readRatings(cfg.source.ratings, { feedback: 'binary' })
  : new lib.SyntheticInteractions(cfg.source.synthetic).toInteractions();
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
{
  const warm = new lib.SyntheticInteractions({ users: 1000, items: 600, interactions: 20_000, seed: 1 }).toInteractions();
  (await lib.fitEase(engine, warm, { lambda: cfg.lambda })).release();
}
const rssInputs = process.memoryUsage().rss;
const t0 = process.hrtime.bigint();
const model = await lib.fitEase(engine, data, { lambda: cfg.lambda });
const t1 = process.hrtime.bigint();
const rssPeak = peakRssBytes();
const n = model.items;
const info = engine.info();
const check = { b01: model.weights[1], b10: model.weights[n] };
model.release();
await engine.close();
console.log(JSON.stringify({ seconds: Number(t1 - t0) / 1e9, simd: info.simd, items: n, rssInputs, rssPeak, peakRssDelta: rssPeak - rssInputs, check }));
