// Cosine top-k screened in bf16 (native, AVX-512 level on a CPU with AVX512_BF16): the scores and indices
// equal the f32 kernel's bit for bit (the screen is exact by construction: see native/src/kernels/topk_bf16.rs),
// and agree with an f64 cosine oracle written here, on random rows and on adversarial near-ties (copies, copies
// one ulp apart, rescaled copies, queries that are base rows). Skipped, with the reason, where no CPU level
// screens.
import { describe, expect, it } from 'vitest';
import { loadNativeBackend, nativeIsas } from '../../src/backends/native.js';
import type { Backend } from '../../src/backends/types.js';
import { mulberry32 } from '../helpers/rng.js';

async function pair(): Promise<{ screened: Backend; plain: Backend } | string> {
  let isas: string[];
  try {
    isas = nativeIsas();
  } catch {
    return 'the native addon does not load here';
  }
  if (!isas.includes('avx512')) return 'this CPU has no AVX-512 level';
  const screened = await loadNativeBackend({ isa: 'avx512', topkScreen: true });
  if (screened.info.topkScreen !== 'bf16') return 'this CPU has no AVX512_BF16';
  return { screened, plain: await loadNativeBackend({ isa: 'avx512', topkScreen: false }) };
}

const backends = await pair();

/** Gaussian-like rows (sum of three uniforms), seeded. */
function rows(n: number, d: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n * d }, () => r() + r() + r() - 1.5);
}

function inverseNorms(m: Float32Array, n: number, d: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    let t = 0;
    for (let c = 0; c < d; c++) t += m[i * d + c]! ** 2;
    return t > 0 ? 1 / Math.fround(Math.sqrt(t)) : 0;
  });
}

function topk(b: Backend, q: Float32Array, nq: number, x: Float32Array, nx: number, d: number, k: number, excludeSelf: boolean) {
  const idx = new Int32Array(nq * k).fill(-1);
  const scores = new Float32Array(nq * k).fill(-Infinity);
  b.topkTile({ q, qRows: nq, x, xRows: nx, cols: d, k, qOffset: 0, xOffset: 0, excludeSelf, qScale: inverseNorms(q, nq, d), xScale: inverseNorms(x, nx, d), outIdx: idx, outScores: scores });
  return { idx, scores };
}

/** Oracle: the f64 cosines of every query with every base row (nq × nx, row-major). */
function cosines(q: Float32Array, nq: number, x: Float32Array, nx: number, d: number): Float64Array {
  const norm = (m: Float32Array, r: number) => {
    let t = 0;
    for (let c = 0; c < d; c++) t += m[r * d + c]! ** 2;
    return Math.sqrt(t);
  };
  const xn = Float64Array.from({ length: nx }, (_, j) => norm(x, j));
  const out = new Float64Array(nq * nx);
  for (let i = 0; i < nq; i++) {
    const qn = norm(q, i);
    for (let j = 0; j < nx; j++) {
      let t = 0;
      for (let c = 0; c < d; c++) t += q[i * d + c]! * x[j * d + c]!;
      out[i * nx + j] = qn > 0 && xn[j]! > 0 ? t / (qn * xn[j]!) : 0;
    }
  }
  return out;
}

describe.skipIf(typeof backends === 'string')(`cosine top-k screened in bf16${typeof backends === 'string' ? ` (skipped: ${backends})` : ''}`, () => {
  const { screened, plain } = backends as { screened: Backend; plain: Backend };

  function check(q: Float32Array, nq: number, x: Float32Array, nx: number, d: number, k: number, excludeSelf: boolean, cos: Float64Array, what: string) {
    const a = topk(screened, q, nq, x, nx, d, k, excludeSelf);
    const b = topk(plain, q, nq, x, nx, d, k, excludeSelf);
    expect(Array.from(a.idx), `indices ${what}`).toEqual(Array.from(b.idx));
    expect(Array.from(a.scores), `scores ${what}`).toEqual(Array.from(b.scores));
    // Collected, then asserted once: an expect per base row would dominate the run.
    const wrong: string[] = [];
    for (let i = 0; i < nq; i++) {
      const c = cos.subarray(i * nx, (i + 1) * nx);
      for (let p = 0; p < k; p++) {
        const j = a.idx[i * k + p]!;
        if (j < 0 || (excludeSelf && j === i)) wrong.push(`row ${i} slot ${p} holds ${j}`);
        else if (!(Math.abs(a.scores[i * k + p]! - c[j]!) < 1e-5)) wrong.push(`row ${i}: score of ${j} is ${a.scores[i * k + p]}, oracle ${c[j]}`);
      }
      // Nothing left out beats the k-th kept score by more than the f32 scores' error.
      const kth = a.scores[i * k + k - 1]!;
      const kept = new Set(a.idx.subarray(i * k, i * k + k));
      for (let j = 0; j < nx; j++) if (!kept.has(j) && !(excludeSelf && j === i) && !(c[j]! < kth + 1e-5)) wrong.push(`row ${i} misses ${j} (${c[j]} against ${kth})`);
    }
    expect(wrong.slice(0, 5), what).toEqual([]);
  }

  it('random rows of every tail length and very different lengths: equal to the f32 kernel, close to the f64 oracle', () => {
    for (const d of [16, 17, 31, 64, 100, 128]) {
      const nq = 37;
      const nx = 2500;
      const x = rows(nx, d, d);
      const r = mulberry32(7 + d);
      for (let j = 0; j < nx; j++) {
        const f = 10 ** (4 * r() - 2);
        for (let c = 0; c < d; c++) x[j * d + c] = Math.fround(x[j * d + c]! * f);
      }
      x.fill(0, 3 * d, 4 * d);
      const q = rows(nq, d, 100 + d);
      const cos = cosines(q, nq, x, nx, d);
      for (const k of [1, 10, 100]) check(q, nq, x, nx, d, k, false, cos, `d=${d} k=${k}`);
    }
  });

  it('adversarial near-ties (copies, one ulp apart, rescaled copies; queries that are base rows): equal to the f32 kernel', () => {
    const d = 48;
    const nx = 3000;
    const src = rows(25, d, 3);
    const x = rows(nx, d, 4);
    for (let j = 0; j < nx; j++) {
      const s = (j % 25) * d;
      if (j % 5 === 0) x.set(src.subarray(s, s + d), j * d);
      if (j % 5 === 1) {
        x.set(src.subarray(s, s + d), j * d);
        const u = new Uint32Array(x.buffer, (j * d + (j % d)) * 4, 1);
        u[0] = u[0]! + 1;
      }
      if (j % 5 === 2) for (let c = 0; c < d; c++) x[j * d + c] = src[s + c]! * 8;
    }
    const nq = 50;
    const q = x.slice(0, nq * d);
    const cos = cosines(q, nq, x, nx, d);
    for (const k of [1, 4, 25, 120]) for (const excludeSelf of [false, true]) check(q, nq, x, nx, d, k, excludeSelf, cos, `k=${k} excludeSelf=${excludeSelf}`);
  });
});
