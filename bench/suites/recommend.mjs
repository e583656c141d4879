// Suite `recommend` (issue 4's benchmark section): fit + recommend-all, top 10 with seen items filtered, for an
// item-item cosine kNN recommender (K = 20 neighbours, raw similarities) on MovieLens 100K (R1), ml-latest-small
// (R2) and the synthetic 200k users × 50k items × 10M interactions (R3), all as binary interactions.
// Rows: the engine on native, wasm (and js for the small sets), each in a fresh process so its peak RSS is its
// own; anchors in the same run: the same algorithm written with scipy.sparse, and `implicit`'s CosineRecommender.
// Rate = users / (fit + recommend seconds). Targets: native ≥ 2× scipy's users/s and ≥ 1× implicit's.
// EASE rows E1, E2: see recommend-ease.mjs.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BACKENDS, benchDir, rootDir } from '../lib/context.mjs';
import { missingPython, runPeer } from '../lib/python.mjs';
import { failedRow, fmtCount, measuredRow, noteRatio, skippedRow } from '../lib/report.mjs';
import { easeTargets, runEase } from './recommend-ease.mjs';

const DATASETS = join(rootDir, '..', 'shared', 'datasets');
const K = 20;
const N = 10;
const SYNTHETIC = {
  full: { users: 200_000, items: 50_000, interactions: 10_000_000, seed: 42 },
  quick: { users: 20_000, items: 5_000, interactions: 1_000_000, seed: 42 },
};
const SCIPY = 'scipy.sparse item-item';
const IMPLICIT = 'implicit CosineRecommender';

export const name = 'recommend';

function workloads(ctx) {
  const syn = SYNTHETIC[ctx.quick ? 'quick' : 'full'];
  return [
    { id: 'R1', label: 'MovieLens 100K', source: { ratings: join(DATASETS, 'movielens-100k', 'u.data') }, js: true },
    { id: 'R2', label: 'ml-latest-small', source: { ratings: join(DATASETS, 'ml-latest-small', 'ratings.csv') }, js: true },
    {
      id: 'R3',
      label: `synthetic ${fmtCount(syn.users)} × ${fmtCount(syn.items)} × ${fmtCount(syn.interactions)}`,
      source: { synthetic: syn },
      js: false,
    },
  ];
}

export function targets(ctx) {
  const out = {};
  for (const w of workloads(ctx)) {
    out[w.id] = {
      impl: SCIPY,
      text: `${w.label}, binary: fit item-item cosine kNN (K = ${K}) + recommend top ${N} unseen items for every user; users/s = users / (fit + recommend); native ≥ 2× ${SCIPY} and ≥ 1× ${IMPLICIT}.`,
    };
  }
  return { ...out, ...easeTargets(ctx) };
}

function runChild(cfg) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--max-old-space-size=8192', join(benchDir, 'lib', 'recommend-child.mjs'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) return resolve(JSON.parse(last));
      } catch {
        // fall through
      }
      resolve({ error: `child exited ${code}: ${(err.trim().split('\n').pop() ?? '') || last}` });
    });
  });
}

/** Mean over users of |A_u ∩ B_u| / |A_u| (top-n item sets; users with an empty A_u skipped). */
function agreement(lib, a, b) {
  if (!existsSync(a) || !existsSync(b)) return null;
  const x = lib.parseNpy(readFileSync(a));
  const y = lib.parseNpy(readFileSync(b));
  if (x.shape[0] !== y.shape[0] || x.shape[1] !== y.shape[1]) return null;
  const [rows, n] = x.shape;
  let sum = 0;
  let users = 0;
  for (let u = 0; u < rows; u++) {
    const s = new Set();
    for (let t = 0; t < n; t++) if (x.data[u * n + t] >= 0) s.add(x.data[u * n + t]);
    if (s.size === 0) continue;
    let hit = 0;
    for (let t = 0; t < n; t++) if (s.has(y.data[u * n + t])) hit++;
    sum += hit / s.size;
    users++;
  }
  return users ? sum / users : null;
}

export async function run(ctx) {
  const rows = [];
  for (const w of workloads(ctx)) {
    if (!ctx.wantWorkload(w.id)) continue;
    if (w.source.ratings && !existsSync(w.source.ratings)) {
      rows.push(skippedRow(w.id, 'all', `skipped: ${w.source.ratings} is absent`));
      continue;
    }
    ctx.log(`${w.id} loading ${w.label}`);
    const data = w.source.ratings ? await ctx.lib.readRatings(w.source.ratings, { feedback: 'binary' }) : new ctx.lib.SyntheticInteractions(w.source.synthetic).toInteractions();
    const users = data.userIds.length;
    const items = data.itemIds.length;
    const out = (impl) => join(ctx.inputs.path, `${w.id}-${impl.replace(/\W+/g, '_')}-top.npy`);
    const row = (impl, r, what, notes = []) =>
      measuredRow({
        workload: w.id,
        impl,
        what,
        seconds: r.seconds,
        work: users,
        unit: 'users/s',
        timer: r.timer ?? 'hrtime, one run',
        notes: [`fit ${r.fitSeconds.toFixed(2)} s + recommend ${r.recommendSeconds.toFixed(2)} s`, ...notes],
        peakRssDelta: r.peakRssDelta,
        check: r.check,
        extra: { fitSeconds: r.fitSeconds, recommendSeconds: r.recommendSeconds },
      });

    for (const backend of BACKENDS) {
      if (!ctx.wantImpl(backend) || (backend === 'js' && !w.js)) continue;
      ctx.log(`${w.id} ${backend} (${fmtCount(users)} users, fresh process)`);
      const r = await runChild({ backend, threads: ctx.threads, source: w.source, k: K, n: N, out: out(backend) });
      if (r.skipped) rows.push(skippedRow(w.id, backend, r.skipped));
      else if (r.error) rows.push(failedRow(w.id, backend, r.error));
      else rows.push(row(backend, r, `fitItemKnn(K = ${K}, cosine, raw similarities) + recommendRows(all users, n = ${N}) in blocks of 8,192 users`, [r.simd, `${r.kernel} similarity kernel`]));
    }

    const peers = [
      { impl: SCIPY, script: 'recommend_scipy.py', modules: ['numpy', 'scipy'], what: 'Xn = column-normalised X; XnᵀXn by item blocks (sparse product, dense block, argpartition top K); X·S by user blocks, seen → -inf, top n' },
      { impl: IMPLICIT, script: 'recommend_implicit.py', modules: ['numpy', 'scipy', 'implicit'], what: `CosineRecommender(K=${K}, num_threads=${ctx.threads}).fit(X); recommend(all users, X, N=${N}, filter_already_liked_items=True)` },
    ];
    const needPeers = peers.filter((p) => ctx.wantImpl(p.impl));
    if (needPeers.length) {
      const indptr = ctx.inputs.write(`${w.id}_indptr`, ctx.lib.encodeNpy, data.matrix.indptr, [data.matrix.indptr.length]);
      const indices = ctx.inputs.write(`${w.id}_indices`, ctx.lib.encodeNpy, data.matrix.indices, [data.matrix.indices.length]);
      for (const p of needPeers) {
        const missing = missingPython(ctx.threads, p.modules);
        if (missing) {
          rows.push(skippedRow(w.id, p.impl, missing));
          continue;
        }
        ctx.log(`${w.id} ${p.impl}`);
        const r = await runPeer(p.script, { indptr, indices, items, k: K, n: N, out: out(p.impl) }, ctx.threads);
        if (r.skipped) rows.push(skippedRow(w.id, p.impl, r.skipped));
        else if (r.error) rows.push(failedRow(w.id, p.impl, r.error));
        else rows.push(row(p.impl, r, p.what, r.version ? [`implicit ${r.version}`] : []));
      }
      ctx.inputs.drop(`${w.id}_indptr`, `${w.id}_indices`);
    }
    // Agreement of the top-n lists with the scipy anchor (same algorithm; ties and f32 rounding may differ).
    for (const r of rows) {
      if (r.workload !== w.id || r.skipped || r.failed || r.impl === SCIPY) continue;
      const a = agreement(ctx.lib, out(SCIPY), out(r.impl));
      if (a !== null) r.notes.push(`top-${N} overlap with scipy ${(a * 100).toFixed(1)}%`);
    }
    noteRatio(rows, w.id, 'native', IMPLICIT, '≥ 1.0');
    noteRatio(rows, w.id, 'wasm', 'native', 'none stated');
  }
  rows.push(...(await runEase(ctx)));
  return rows;
}
