// Suite `recommend` (issue 4's benchmark section): fit + recommend-all, top 10 with seen items filtered, for an
// item-item cosine kNN recommender (K = 20 neighbours, raw similarities) on MovieLens 100K (R1), ml-latest-small
// (R2) and the synthetic 200k users × 50k items × 10M interactions (R3), all as binary interactions.
// Rows: the engine on native, wasm (and js for the small sets), each in a fresh process so its peak RSS is its
// own; anchors in the same run: the same algorithm written with scipy.sparse, and `implicit`'s CosineRecommender.
// Rate = users / (fit + recommend seconds). Targets: native ≥ 2× scipy's users/s and ≥ 1× implicit's.
// Issue 13's ALS rows (A1 MovieLens 100K, A2 ml-latest-small, A3 synthetic 100k × 20k × 4M; 64 and 128 factors,
// 15 iterations, λ 20, α 1, the conjugate-gradient solver with 3 steps as implicit's default) against
// implicit.als.AlternatingLeastSquares with the same options, 2 threads, BLAS at 1 thread. Targets: fit ≥ 1.5×
// implicit's, recommend-all ≥ 2× implicit's (each ratio noted on the native row).
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
const ALS = { iterations: 15, regularization: 20, alpha: 1, solver: 'cg', factors: [64, 128] };
const ALS_SYNTHETIC = { full: { users: 100_000, items: 20_000, interactions: 4_000_000, seed: 42 }, quick: { users: 10_000, items: 2_000, interactions: 400_000, seed: 42 } };
const IMPLICIT_ALS = 'implicit ALS';
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

function alsWorkloads(ctx) {
  const syn = ALS_SYNTHETIC[ctx.quick ? 'quick' : 'full'];
  return [
    { id: 'A1', label: 'MovieLens 100K', source: { ratings: join(DATASETS, 'movielens-100k', 'u.data') } },
    { id: 'A2', label: 'ml-latest-small', source: { ratings: join(DATASETS, 'ml-latest-small', 'ratings.csv') } },
    { id: 'A3', label: `synthetic ${fmtCount(syn.users)} × ${fmtCount(syn.items)} × ${fmtCount(syn.interactions)}`, source: { synthetic: syn } },
  ];
}

export function targets(ctx) {
  const out = {};
  for (const w of alsWorkloads(ctx)) {
    out[w.id] = {
      impl: IMPLICIT_ALS,
      text: `${w.label}, binary: implicit ALS fit (${ALS.iterations} iterations, ${ALS.factors.join(' and ')} factors, λ ${ALS.regularization}, α ${ALS.alpha}, CG 3 steps) + recommend top ${N} unseen for every user; fit ≥ 1.5× and recommend-all ≥ 2× ${IMPLICIT_ALS}.`,
    };
  }
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

/** The ALS rows: for each workload and factor count, native (and wasm) in fresh processes and implicit. */
async function runAls(ctx, rows) {
  for (const w of alsWorkloads(ctx)) {
    if (!ctx.wantWorkload(w.id)) continue;
    if (w.source.ratings && !existsSync(w.source.ratings)) {
      rows.push(skippedRow(w.id, 'all', `skipped: ${w.source.ratings} is absent`));
      continue;
    }
    const data = w.source.ratings ? await ctx.lib.readRatings(w.source.ratings, { feedback: 'binary' }) : new ctx.lib.SyntheticInteractions(w.source.synthetic).toInteractions();
    const users = data.userIds.length;
    const indptr = ctx.inputs.write(`${w.id}_indptr`, ctx.lib.encodeNpy, data.matrix.indptr, [data.matrix.indptr.length]);
    const indices = ctx.inputs.write(`${w.id}_indices`, ctx.lib.encodeNpy, data.matrix.indices, [data.matrix.indices.length]);
    for (const factors of ALS.factors) {
      const opts = { algo: 'als', factors, iterations: ALS.iterations, regularization: ALS.regularization, alpha: ALS.alpha, solver: ALS.solver, n: N };
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
      const mine = [];
      for (const backend of BACKENDS) {
        const impl = `${backend} k=${factors}`;
        if (backend === 'js' || !ctx.wantImpl(impl)) continue;
        ctx.log(`${w.id} ${impl} (${fmtCount(users)} users, fresh process)`);
        const r = await runChild({ backend, threads: ctx.threads, source: w.source, ...opts });
        if (r.skipped) rows.push(skippedRow(w.id, impl, r.skipped));
        else if (r.error) rows.push(failedRow(w.id, impl, r.error));
        else mine.push({ r, row: row(impl, r, `fitAls(${factors} factors, ${ALS.iterations} iterations, CG 3 steps) + recommendRows(all users, n = ${N})`, [r.simd]) });
      }
      const implName = `${IMPLICIT_ALS} k=${factors}`;
      let peer = null;
      if (ctx.wantImpl(implName)) {
        const missing = missingPython(ctx.threads, ['numpy', 'scipy', 'implicit', 'threadpoolctl']);
        if (missing) rows.push(skippedRow(w.id, implName, missing));
        else {
          ctx.log(`${w.id} ${implName}`);
          const r = await runPeer('recommend_implicit.py', { indptr, indices, items: data.itemIds.length, k: K, ...opts }, ctx.threads);
          if (r.skipped) rows.push(skippedRow(w.id, implName, r.skipped));
          else if (r.error) rows.push(failedRow(w.id, implName, r.error));
          else peer = { r, row: row(implName, r, `AlternatingLeastSquares(factors=${factors}, iterations=${ALS.iterations}, use_cg=True).fit(1 + α·X) + recommend(all users, N=${N}, filter_already_liked_items=True)`, [`implicit ${r.version}`]) };
        }
      }
      for (const m of mine) {
        if (peer) {
          m.row.notes.push(`fit ${(peer.r.fitSeconds / m.r.fitSeconds).toFixed(2)}× implicit (target ≥ 1.5)`, `recommend ${(peer.r.recommendSeconds / m.r.recommendSeconds).toFixed(2)}× implicit (target ≥ 2)`);
        }
        rows.push(m.row);
      }
      if (peer) rows.push(peer.row);
    }
    ctx.inputs.drop(`${w.id}_indptr`, `${w.id}_indices`);
  }
}

export async function run(ctx) {
  const rows = [];
  await runAls(ctx, rows);
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
