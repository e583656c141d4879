// Suite `similarity`: W1 all-pairs cosine and W2 exact top-10 (issue 2's benchmark section).
import { gaussianMatrix, prefixRows } from '../lib/data.mjs';
import { BACKENDS, withEngine } from '../lib/context.mjs';
import { anchorRows } from '../lib/anchors.mjs';
import { childRows } from '../lib/engine-rows.mjs';
import { missingPython, runPeer } from '../lib/python.mjs';
import { failedRow, fmtCount, measuredRow, noteRatio, skippedRow } from '../lib/report.mjs';
import { timeAdaptive } from '../lib/timing.mjs';

const SIZES = {
  full: {
    W1: { n: 4096, d: 256, jsN: 1024 },
    W2: { nq: 10_000, nb: 100_000, d: 128, k: 10, jsNq: 1_000, jsNb: 10_000, sklearnNq: 2_000 },
  },
  // --quick keeps the js rows at the (small) quick size where it can, so their result checks run too.
  quick: {
    W1: { n: 1024, d: 256, jsN: 1024 },
    W2: { nq: 500, nb: 10_000, d: 128, k: 10, jsNq: 500, jsNb: 10_000, sklearnNq: 250 },
  },
};
const SEEDS = { W1: 101, W2q: 201, W2x: 202 };

export const name = 'similarity';

export function targets(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'];
  return {
    W1: {
      impl: 'numpy matmul(out=C)',
      text: `A = ${fmtCount(s.W1.n)} × ${s.W1.d} f32 against itself; native ≥ 1.00× numpy's fastest form (normalise, np.matmul(An, An.T.copy(), out=C)); wasm ≥ 0.25× native. GFLOP = 2·n²·d.`,
    },
    W2: {
      impl: 'faiss IndexFlatIP',
      text: `top-${s.W2.k} by cosine, ${fmtCount(s.W2.nq)} queries × ${fmtCount(s.W2.nb)} base, d = ${s.W2.d}; native ≥ 1.00× FAISS IndexFlatIP, peak RSS < 1 GiB above the inputs. GFLOP = 2·nq·nb·d.`,
    },
  };
}

export async function run(ctx) {
  const rows = [];
  if (ctx.wantWorkload('W1')) rows.push(...(await runW1(ctx)));
  if (ctx.wantWorkload('W2')) rows.push(...(await runW2(ctx)));
  const t = targets(ctx);
  // W1's checksum is the top-left 64 × 64 block, the same entries at any n: scaled rows are checked too.
  flagDisagreement(rows, 'W1', t.W1.impl, (c) => c.sum64x64, 1e-4, true);
  flagDisagreement(rows, 'W2', t.W2.impl, (c) => c.meanTop1, 1e-4, false);
  noteRatio(rows, 'W1', 'wasm', 'native', '≥ 0.25×');
  return rows;
}

/**
 * Rows at the target's size whose result checksum differs from the target's get a visible note: a fast row
 * that computed something else must not pass unnoticed. Scaled rows are left out unless the checksum covers
 * only entries they share with the full input.
 */
function flagDisagreement(rows, workload, targetImpl, value, rtol, includeScaled) {
  const target = rows.find((r) => r.workload === workload && r.impl === targetImpl && r.check);
  if (!target) return;
  const ref = value(target.check);
  for (const r of rows) {
    if (r === target || r.workload !== workload || !r.check || (r.scaled && !includeScaled)) continue;
    const v = value(r.check);
    const agrees = Math.abs(v - ref) <= rtol * Math.abs(ref);
    r.check.agreesWithTarget = agrees;
    if (!agrees) r.notes.push(`RESULT DIFFERS from ${targetImpl} (${v} vs ${ref})`);
  }
}

// ------------------------------------------------------------------------------------------------ W1

async function runW1(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'].W1;
  const full = gaussianMatrix(s.n, s.d, SEEDS.W1);
  const rows = [];
  for (const backend of BACKENDS) {
    if (!ctx.wantImpl(backend)) continue;
    const n = backend === 'js' ? s.jsN : s.n;
    const a = prefixRows(full, n);
    ctx.log(`W1 ${backend} (${n} × ${s.d})`);
    try {
      const r = await withEngine(ctx.lib, backend, ctx.threads, async (engine) => {
        // Like numpy's fastest form (out=C preallocated): the answer goes into a reused, preallocated C.
        const out = new Float32Array(new SharedArrayBuffer(a.rows * a.rows * 4));
        const { timing, first } = await timeAdaptive(`W1 ${backend}`, () => engine.cosineSimilarity(a, undefined, { out }), ctx);
        return { t: timing, check: { sum64x64: blockSum(first, 64) }, simd: engine.info().simd };
      });
      if (r.skipped) {
        rows.push(skippedRow('W1', backend, r.skipped));
        continue;
      }
      const { t, check, simd } = r.value;
      rows.push(
        measuredRow({
          workload: 'W1',
          impl: backend,
          seconds: t.seconds,
          work: 2 * n * n * s.d,
          unit: 'GFLOP/s',
          timer: t.timer,
          scaled: n !== s.n ? `${fmtCount(n)} × ${s.d}` : null,
          what: 'engine.cosineSimilarity(A, undefined, { out: C }) on the raw matrix: normalise + all pairs into a preallocated C (SharedArrayBuffer)',
          notes: [simd],
          check,
        }),
      );
    } catch (e) {
      rows.push(failedRow('W1', backend, e));
    }
  }
  rows.push(
    ...(await childRows(ctx, {
      workload: 'W1',
      cfg: { n: s.n, d: s.d, seed: SEEDS.W1 },
      cfgFor: (b) => ({ n: b === 'js' ? s.jsN : s.n, d: s.d, seed: SEEDS.W1 }),
      work: (c) => 2 * c.n * c.n * s.d,
      unit: 'GFLOP/s',
      call: 'engine.cosineSimilarity(A) (plain: allocates C; shared: { out: C } preallocated shared)',
      scaled: (c) => (c.n !== s.n ? `${fmtCount(c.n)} × ${s.d}` : null),
    })),
  );
  const pyImpls = ['numpy matmul(out=C)', 'numpy An @ An.T'];
  if (pyImpls.some((i) => ctx.wantImpl(i))) {
    const missing = missingPython(ctx.threads, ['numpy']);
    if (missing) rows.push(...pyImpls.map((i) => skippedRow('W1', i, missing)));
    else {
      ctx.log('W1 numpy');
      const path = ctx.inputs.write('w1_a', ctx.lib.encodeNpy, full.data, [full.rows, full.cols]);
      const r = await runPeer('w1_numpy.py', { a: path, budget: ctx.pyBudget }, ctx.threads);
      if (r.skipped || r.error) rows.push(...pyImpls.map((i) => (r.skipped ? skippedRow('W1', i, r.skipped) : failedRow('W1', i, r.error))));
      else {
        const forms = [
          ['numpy matmul(out=C)', r.fastest, 'normalise, then np.matmul(An, An.T.copy(), out=C), C preallocated'],
          ['numpy An @ An.T', r.usual, 'normalise, then An @ An.T (allocates C)'],
        ];
        for (const [impl, m, note] of forms) {
          rows.push(measuredRow({ workload: 'W1', impl, what: note, seconds: m.seconds, work: 2 * s.n * s.n * s.d, unit: 'GFLOP/s', timer: m.timer, check: m.check, peakRssDelta: r.peakRssDelta }));
        }
      }
    }
  }
  return rows;
}

/** Sum of the top-left b × b block (the same entries whatever n, so scaled rows check too). */
function blockSum(c, b) {
  let s = 0;
  for (let i = 0; i < Math.min(b, c.rows); i++) for (let j = 0; j < Math.min(b, c.cols); j++) s += c.data[i * c.cols + j];
  return s;
}

// ------------------------------------------------------------------------------------------------ W2

async function runW2(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'].W2;
  const flops = (nq, nb) => 2 * nq * nb * s.d;
  const rows = [];
  rows.push(
    ...(await childRows(ctx, {
      workload: 'W2',
      cfg: { nq: s.nq, nb: s.nb, d: s.d, k: s.k, seedQ: SEEDS.W2q, seedX: SEEDS.W2x },
      cfgFor: (b) => ({ nq: b === 'js' ? s.jsNq : s.nq, nb: b === 'js' ? s.jsNb : s.nb, d: s.d, k: s.k, seedQ: SEEDS.W2q, seedX: SEEDS.W2x }),
      work: (c) => flops(c.nq, c.nb),
      unit: 'GFLOP/s',
      long: true,
      call: `engine.topK(Q, X, { k: ${s.k}, metric: 'cosine' }) on the raw vectors (norms included)`,
      screenTwin: true,
      scaled: (c) => (c.nq !== s.nq || c.nb !== s.nb ? `${fmtCount(c.nq)} queries × ${fmtCount(c.nb)} base` : null),
    })),
  );
  const peers = [
    { impl: 'faiss IndexFlatIP', script: 'w2_faiss.py', modules: ['numpy', 'faiss'], nq: s.nq, note: 'IndexFlatIP(d); add(Xn); search(Qn, k): vectors normalised in place before the timer (faiss.normalize_L2)' },
    { impl: 'numpy GEMM+argpartition', script: 'w2_numpy.py', modules: ['numpy'], nq: s.nq, note: 'vectors normalised before the timer; X.T made contiguous once, outside the timer; per 256-query block: np.matmul(Qb, XT, out=S), argpartition, sort the k' },
    { impl: 'sklearn NearestNeighbors', script: 'w2_sklearn.py', modules: ['numpy', 'sklearn'], nq: s.sklearnNq, note: "NearestNeighbors(algorithm='brute', metric='cosine').fit(X).kneighbors(Q) on the raw vectors" },
  ];
  let paths = null;
  for (const p of peers) {
    if (!ctx.wantImpl(p.impl)) continue;
    const missing = missingPython(ctx.threads, p.modules);
    if (missing) {
      rows.push(skippedRow('W2', p.impl, missing));
      continue;
    }
    if (!paths) {
      ctx.log('W2 writing inputs for the Python peers');
      const q = gaussianMatrix(s.nq, s.d, SEEDS.W2q);
      const x = gaussianMatrix(s.nb, s.d, SEEDS.W2x);
      paths = { q: ctx.inputs.write('w2_q', ctx.lib.encodeNpy, q.data, [q.rows, q.cols]), x: ctx.inputs.write('w2_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]) };
    }
    ctx.log(`W2 ${p.impl} (${p.nq} × ${s.nb})`);
    const r = await runPeer(p.script, { ...paths, nq: p.nq, nb: s.nb, k: s.k, runs: ctx.longRuns }, ctx.threads);
    if (r.skipped) rows.push(skippedRow('W2', p.impl, r.skipped));
    else if (r.error) rows.push(failedRow('W2', p.impl, r.error));
    else {
      rows.push(
        measuredRow({
          workload: 'W2',
          impl: p.impl,
          seconds: r.seconds,
          work: flops(p.nq, s.nb),
          unit: 'GFLOP/s',
          timer: r.timer,
          scaled: p.nq !== s.nq ? `${fmtCount(p.nq)} queries × ${fmtCount(s.nb)} base` : null,
          what: p.note,
          peakRssDelta: r.peakRssDelta,
          check: r.check,
          extra: { times: r.times },
        }),
      );
    }
  }
  rows.push(
    ...(await anchorRows(ctx, 'W2', {
      script: 'w2_aoclda.py',
      estimator: 'NearestNeighbors brute cosine',
      anchors: ['aoclda'],
      inputs: () => {
        const q = gaussianMatrix(s.nq, s.d, SEEDS.W2q);
        const x = gaussianMatrix(s.nb, s.d, SEEDS.W2x);
        return { q: ctx.inputs.write('w2_q', ctx.lib.encodeNpy, q.data, [q.rows, q.cols]), x: ctx.inputs.write('w2_x', ctx.lib.encodeNpy, x.data, [x.rows, x.cols]) };
      },
      cfg: { nq: s.sklearnNq, nb: s.nb, k: s.k, runs: ctx.longRuns },
      row: (r) => ({
        what: "NearestNeighbors(n_neighbors=k, algorithm='brute', metric='cosine').fit(X).kneighbors(Q) on the raw vectors (skpatch)",
        seconds: r.seconds,
        work: flops(s.sklearnNq, s.nb),
        unit: 'GFLOP/s',
        timer: r.timer,
        scaled: s.sklearnNq !== s.nq ? `${fmtCount(s.sklearnNq)} queries × ${fmtCount(s.nb)} base` : null,
        check: r.check,
      }),
    })),
  );
  ctx.inputs.drop('w2_q', 'w2_x');
  return rows;
}
