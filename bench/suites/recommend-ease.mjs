// The EASE rows of suite `recommend` (issue 13): one EASE fit (λ = 500, default options, binary interactions) on
// ml-latest-small (9,724 items, E1) and a synthetic implicit set with 20,000 items (E2), each backend in a fresh
// process, beside numpy in the same run (G = XᵀX + λI dense f64, np.linalg.inv, the scaling), with peak RSS
// above the inputs beside numpy's. Rate = items / fit seconds. Target: native ≥ 1.5× numpy.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchDir, rootDir } from '../lib/context.mjs';
import { missingPython, runPeer } from '../lib/python.mjs';
import { failedRow, fmtCount, measuredRow, noteRatio, skippedRow } from '../lib/report.mjs';

const DATASETS = join(rootDir, '..', 'shared', 'datasets');
const LAMBDA = 500;
const NUMPY = 'numpy inv';
const SYNTHETIC = {
  full: { users: 50_000, items: 20_000, interactions: 2_500_000, seed: 42 },
  quick: { users: 10_000, items: 4_000, interactions: 400_000, seed: 42 },
};

export function easeWorkloads(ctx) {
  const syn = SYNTHETIC[ctx.quick ? 'quick' : 'full'];
  return [
    { id: 'E1', label: 'ml-latest-small', source: { ratings: join(DATASETS, 'ml-latest-small', 'ratings.csv') } },
    { id: 'E2', label: `synthetic ${fmtCount(syn.users)} × ${fmtCount(syn.items)} × ${fmtCount(syn.interactions)}`, source: { synthetic: syn } },
  ];
}

export function easeTargets(ctx) {
  const out = {};
  for (const w of easeWorkloads(ctx)) {
    out[w.id] = { impl: NUMPY, text: `${w.label}, binary: EASE fit (λ = ${LAMBDA}): items/s = items / fit seconds; native ≥ 1.5× ${NUMPY} (G dense f64, np.linalg.inv, scaling).` };
  }
  return out;
}

function runChild(cfg) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(benchDir, 'lib', 'ease-child.mjs'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
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

export async function runEase(ctx) {
  const rows = [];
  for (const w of easeWorkloads(ctx)) {
    if (!ctx.wantWorkload(w.id)) continue;
    if (w.source.ratings && !existsSync(w.source.ratings)) {
      rows.push(skippedRow(w.id, 'all', `skipped: ${w.source.ratings} is absent`));
      continue;
    }
    ctx.log(`${w.id} loading ${w.label}`);
    const data = w.source.ratings ? await ctx.lib.readRatings(w.source.ratings, { feedback: 'binary' }) : new ctx.lib.SyntheticInteractions(w.source.synthetic).toInteractions();
    const items = data.itemIds.length;
    const row = (impl, r, what, notes = []) =>
      measuredRow({ workload: w.id, impl, what, seconds: r.seconds, work: items, unit: 'items/s', timer: r.timer ?? 'hrtime, one run', notes, peakRssDelta: r.peakRssDelta, check: r.check });
    // Only native: wasm and js would take hours on these sizes (their GEMM is a plain loop).
    if (ctx.wantImpl('native')) {
      ctx.log(`${w.id} native EASE (${fmtCount(items)} items, fresh process)`);
      const r = await runChild({ backend: 'native', threads: ctx.threads, source: w.source, lambda: LAMBDA });
      if (r.skipped) rows.push(skippedRow(w.id, 'native', r.skipped));
      else if (r.error) rows.push(failedRow(w.id, 'native', r.error));
      else rows.push(row('native', r, `fitEase(λ = ${LAMBDA}): sparse Gram, in-place blocked Cholesky inverse on the pool, B in place`, [r.simd]));
    }
    if (ctx.wantImpl(NUMPY)) {
      const missing = missingPython(ctx.threads, ['numpy', 'scipy']);
      if (missing) rows.push(skippedRow(w.id, NUMPY, missing));
      else {
        const indptr = ctx.inputs.write(`${w.id}_indptr`, ctx.lib.encodeNpy, data.matrix.indptr, [data.matrix.indptr.length]);
        const indices = ctx.inputs.write(`${w.id}_indices`, ctx.lib.encodeNpy, data.matrix.indices, [data.matrix.indices.length]);
        ctx.log(`${w.id} ${NUMPY}`);
        const r = await runPeer('ease_numpy.py', { indptr, indices, items, lambda: LAMBDA }, ctx.threads);
        if (r.skipped) rows.push(skippedRow(w.id, NUMPY, r.skipped));
        else if (r.error) rows.push(failedRow(w.id, NUMPY, r.error));
        else rows.push(row(NUMPY, r, 'G = (XᵀX).toarray() + λI (f64), P = np.linalg.inv(G), B = −P / diag(P)', [`inv alone ${r.invSeconds.toFixed(2)} s`, `numpy ${r.version}`]));
        ctx.inputs.drop(`${w.id}_indptr`, `${w.id}_indices`);
      }
    }
    noteRatio(rows, w.id, 'native', NUMPY, '≥ 1.5');
  }
  return rows;
}
