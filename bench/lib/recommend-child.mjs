// One recommend measurement in a fresh process, so its peak RSS belongs to it alone:
//   node bench/lib/recommend-child.mjs '{"backend":"native","threads":2,"source":{...},"k":20,"n":10,"out":"top.npy"}'
// Loads the interactions (binary), records its peak RSS, opens the engine, then times one fit of item-item cosine kNN
// (K neighbours, raw similarities: the scipy anchor's algorithm) and one recommend-all (top n, seen items
// filtered) in blocks of users (or, with cfg.algo 'als', one implicit-ALS fit and its recommend-all), after an untimed warm-up on a small synthetic set. Writes the users × n item indices to `out` (.npy, int32) for the agreement check.
// Prints one JSON line; a backend that cannot load prints { skipped }.
import { writeFileSync } from 'node:fs';
import { loadLibrary, openEngine, peakRssBytes } from './context.mjs';

const cfg = JSON.parse(process.argv[2]);
const lib = await loadLibrary();
const data = cfg.source.ratings
  ? await lib.readRatings(cfg.source.ratings, { feedback: 'binary' })
  : new lib.SyntheticInteractions(cfg.source.synthetic).toInteractions();
const users = data.userIds.length;
const rssInputs = peakRssBytes();
let opened;
try {
  opened = await openEngine(lib, cfg.backend, cfg.threads);
} catch (e) {
  console.log(JSON.stringify({ error: e.message }));
  process.exit(0);
}
const { engine, skipped } = opened;
// ALS rows (cfg.algo 'als'): fitAls with the row's factors, iterations, λ, α and solver.
const als = cfg.algo === 'als' ? { factors: cfg.factors, iterations: cfg.iterations, regularization: cfg.regularization, alpha: cfg.alpha, solver: cfg.solver } : null;
if (!engine) {
  console.log(JSON.stringify({ skipped }));
  process.exit(0);
}
// One fit and recommend on a small set first: the JavaScript around the kernels is JIT-compiled before the
// timed run (the Python peers run compiled code from the start).
if (!als) {
  const warm = new lib.SyntheticInteractions({ users: 2000, items: 500, interactions: 40_000, seed: 1 }).toInteractions();
  const m = await lib.fitItemKnn(engine, warm, { neighbors: cfg.k, normalizeSimilarity: false });
  await m.recommendRows({ row0: 0, row1: 2000 }, { n: cfg.n });
  m.release();
}
const fitModel = (d) => (als ? lib.fitAls(engine, d, { ...als, factors: Math.min(als.factors, d.itemIds.length), iterations: d === data ? als.iterations : 2 }) : lib.fitItemKnn(engine, d, { neighbors: cfg.k, normalizeSimilarity: false }));
if (als) {
  const warm = new lib.SyntheticInteractions({ users: 2000, items: 500, interactions: 40_000, seed: 1 }).toInteractions();
  const m = await fitModel(warm);
  await m.recommendRows({ row0: 0, row1: 2000 }, { n: cfg.n });
  m.release();
}
const t0 = process.hrtime.bigint();
const model = await fitModel(data);
const t1 = process.hrtime.bigint();
const top = new Int32Array(users * cfg.n).fill(-1);
const block = cfg.blockUsers ?? 8192;
for (let u0 = 0; u0 < users; u0 += block) {
  const r = await model.recommendRows({ row0: u0, row1: Math.min(users, u0 + block) }, { n: cfg.n });
  for (let i = 0; i < r.rows; i++) top.set(r.indices.subarray(i * r.k, i * r.k + Math.min(r.k, cfg.n)), (u0 + i) * cfg.n);
}
const t2 = process.hrtime.bigint();
const rssPeak = peakRssBytes();
const info = engine.info();
model.release();
await engine.close();
if (cfg.out) writeFileSync(cfg.out, lib.encodeNpy(top, [users, cfg.n]));
const fitSeconds = Number(t1 - t0) / 1e9;
const recommendSeconds = Number(t2 - t1) / 1e9;
console.log(
  JSON.stringify({
    users,
    items: data.itemIds.length,
    interactions: data.matrix.indptr[users],
    fitSeconds,
    recommendSeconds,
    seconds: fitSeconds + recommendSeconds,
    simd: info.simd,
    kernel: als ? `${model.params.solver} solver` : model.options.kernel,
    rssInputs,
    rssPeak,
    peakRssDelta: rssPeak - rssInputs,
    check: { firstUser: Array.from(top.subarray(0, cfg.n)) },
  }),
);
