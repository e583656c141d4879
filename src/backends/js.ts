/**
 * The plain TypeScript backend: every sum (dot products included) accumulates in f64 and results are
 * rounded to f32 only when stored, so it is the most precise backend; like the others it is tested against
 * f64 oracles written in the tests, never used as one.
 * It is also the backend of last resort where neither native nor WASM can load (forced only).
 */
import { kernelError } from '../errors.js';
import { alsSolveJs } from './js-als.js';
import { mirrorStripJs, tileDiagJs, tileGemmJs } from './js-tiles.js';
import { insertTopk, topkExclTileJs } from './js-topk-excl.js';
import { SabRegions } from './memory.js';
import type {
  AlsSolveArgs,
  Backend,
  BackendInfo,
  GramArgs,
  KmeansStepArgs,
  LogisticPassArgs,
  MatvecArgs,
  MultinomialPassArgs,
  SimilarityTileArgs,
  SparseScoreTopnArgs,
  SparseSimilarityTopkArgs,
  TopkTileArgs,
  TopkExclTileArgs,
  TileDiagArgs,
  TileGemmArgs,
} from './types.js';
import { LINK_SIGMOID, MULTINOMIAL_LOSS, MULTINOMIAL_NEWTON, logisticLayout, multinomialLayout } from './types.js';

export function sigmoid(z: number): number {
  // Split by sign so exp never overflows.
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/**
 * Per-row terms of the logistic pass: loss log(1 + e^z) − y·z, IRLS weight s·p(1 − p) and residual s·(y − p),
 * with p and 1 − p each formed from e = exp(−|z|) (no overflow, no cancellation).
 */
export function logisticRowTerms(z: number, y: number, s: number): { loss: number; w: number; v: number } {
  const e = Math.exp(-Math.abs(z));
  const inv = 1 / (1 + e);
  const pos = z >= 0;
  const p = pos ? inv : e * inv;
  const q = pos ? e * inv : inv;
  return {
    // biome-ignore lint/complexity/useMathMinMax: z > 0 ? z : 0 gives 0 for NaN where Math.max gives NaN; the kernels agree on that.
    loss: (z > 0 ? z : 0) + Math.log1p(e) - y * z,
    w: s * p * q,
    // y·(1 − p) − (1 − y)·p: exactly 1 − p for y = 1 and −p for y = 0.
    v: s * (y * q - (1 - y) * p),
  };
}


export class JsBackend extends SabRegions implements Backend {
  readonly info: BackendInfo = { name: 'js', simd: 'f64-reference', versions: { node: process.versions.node } };
  readonly init = { name: 'js' as const };

  normalizeRows(x: Float32Array, rows: number, cols: number, out: Float32Array, norms: Float32Array): void {
    for (let i = 0; i < rows; i++) {
      const o = i * cols;
      const n = rowNorm(x, o, cols);
      norms[i] = n;
      const inv = n > 0 ? 1 / n : 0;
      for (let d = 0; d < cols; d++) out[o + d] = x[o + d]! * inv;
    }
  }

  rowNorms(x: Float32Array, rows: number, cols: number, norms: Float32Array): void {
    for (let i = 0; i < rows; i++) norms[i] = rowNorm(x, i * cols, cols);
  }

  similarityTile({ a, aRows, b, bRows, cols, out, ldOut }: SimilarityTileArgs): void {
    for (let i = 0; i < aRows; i++) {
      const ao = i * cols;
      for (let j = 0; j < bRows; j++) {
        const bo = j * cols;
        let s = 0;
        for (let d = 0; d < cols; d++) s += a[ao + d]! * b[bo + d]!;
        out[i * ldOut + j] = s;
      }
    }
  }

  topkTile(args: TopkTileArgs): void {
    // The same scan with every exclusion list empty (one pointer table of zeros).
    topkExclTileJs({ ...args, exclPtr: new Int32Array(args.qRows + 1), exclIdx: new Int32Array(0) });
  }

  kmeansStep({ x, rows, cols, centroids, k, weights, labels, minDist2, sums, counts, changes }: KmeansStepArgs): number {
    const cn = new Float64Array(k);
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let d = 0; d < cols; d++) {
        const v = centroids[c * cols + d]!;
        s += v * v;
      }
      cn[c] = s;
    }
    let inertia = 0;
    let changed = 0;
    for (let i = 0; i < rows; i++) {
      const xo = i * cols;
      let best = 0;
      let bestD = Infinity;
      for (let c = 0; c < k; c++) {
        let dot = 0;
        for (let d = 0; d < cols; d++) dot += x[xo + d]! * centroids[c * cols + d]!;
        const dist = cn[c]! - 2 * dot;
        if (dist < bestD) {
          bestD = dist;
          best = c;
        }
      }
      const w = weights ? weights[i]! : 1;
      if (labels[i] !== best) changed++;
      labels[i] = best;
      counts[best]! += w;
      for (let d = 0; d < cols; d++) sums[best * cols + d]! += w * x[xo + d]!;
      if (!minDist2) continue;
      let exact = 0;
      for (let d = 0; d < cols; d++) {
        const diff = x[xo + d]! - centroids[best * cols + d]!;
        exact += diff * diff;
      }
      minDist2[i] = exact;
      inertia += w * exact;
    }
    if (changes) changes[0] = changes[0]! + changed;
    return minDist2 ? inertia : NaN;
  }

  // `accumulate` is not honoured: this backend sums in f64 in every mode (see README, Gram accumulation).
  gram({ x, rows, cols, w, center, v, g, xty, sums }: GramArgs): void {
    const row = new Float64Array(cols);
    for (let i = 0; i < rows; i++) {
      const xo = i * cols;
      for (let d = 0; d < cols; d++) row[d] = x[xo + d]! - (center ? center[d]! : 0);
      const wi = w ? w[i]! : 1;
      if (sums) for (let a = 0; a < cols; a++) sums[a]! += wi * row[a]!;
      if (wi !== 0) {
        for (let a = 0; a < cols; a++) {
          const wa = wi * row[a]!;
          if (wa === 0) continue;
          const go = a * cols;
          for (let b = a; b < cols; b++) g[go + b]! += wa * row[b]!;
        }
      }
      if (v && xty) {
        const vi = v[i]!;
        for (let a = 0; a < cols; a++) xty[a]! += vi * row[a]!;
      }
    }
  }

  choleskySolve(g: Float64Array, n: number, b: Float64Array, nrhs: number): void {
    // Upper-triangular factor U with G = UᵀU, computed in place in the upper triangle (row-major).
    for (let j = 0; j < n; j++) {
      let s = g[j * n + j]!;
      for (let p = 0; p < j; p++) s -= g[p * n + j]! * g[p * n + j]!;
      if (!(s > 0) || !Number.isFinite(s)) throw kernelError('NOT_POSITIVE_DEFINITE', { pivot: j });
      const ujj = Math.sqrt(s);
      g[j * n + j] = ujj;
      for (let c = j + 1; c < n; c++) {
        let t = g[j * n + c]!;
        for (let p = 0; p < j; p++) t -= g[p * n + j]! * g[p * n + c]!;
        g[j * n + c] = t / ujj;
      }
    }
    for (let r = 0; r < nrhs; r++) {
      // Uᵀ y = b (forward), then U x = y (backward).
      for (let i = 0; i < n; i++) {
        let s = b[i * nrhs + r]!;
        for (let p = 0; p < i; p++) s -= g[p * n + i]! * b[p * nrhs + r]!;
        b[i * nrhs + r] = s / g[i * n + i]!;
      }
      for (let i = n - 1; i >= 0; i--) {
        let s = b[i * nrhs + r]!;
        for (let p = i + 1; p < n; p++) s -= g[i * n + p]! * b[p * nrhs + r]!;
        b[i * nrhs + r] = s / g[i * n + i]!;
      }
    }
  }

  logisticPass({ x, rows, cols, y, s, beta, bias, hessian, z, out }: LogisticPassArgs): void {
    const L = logisticLayout(cols);
    for (let i = 0; i < rows; i++) {
      const xo = i * cols;
      let zi = 0;
      for (let d = 0; d < cols; d++) zi += x[xo + d]! * beta[d]!;
      zi += bias;
      z[i] = zi;
      const si = s ? s[i]! : 1;
      const yi = y[i]!;
      const t = logisticRowTerms(zi, yi, si);
      out[L.lossW]! += si * t.loss;
      out[L.loss]! += t.loss;
      if ((zi > 0 ? 1 : 0) === yi) out[L.correct]! += 1;
      const vi = t.v;
      for (let d = 0; d < cols; d++) out[L.grad + d]! += vi * x[xo + d]!;
      out[L.grad + cols]! += vi;
      if (!hessian) continue;
      const wi = t.w;
      for (let a = 0; a < cols; a++) {
        const wa = wi * x[xo + a]!;
        out[L.xw + a]! += wa;
        const ho = L.h + a * cols;
        for (let b = a; b < cols; b++) out[ho + b]! += wa * x[xo + b]!;
      }
      out[L.xw + cols]! += wi;
    }
  }

  matvec({ x, rows, cols, w, bias, link, out }: MatvecArgs): void {
    for (let i = 0; i < rows; i++) {
      const xo = i * cols;
      let s = bias;
      for (let d = 0; d < cols; d++) s += x[xo + d]! * w[d]!;
      out[i] = link === LINK_SIGMOID ? sigmoid(s) : s;
    }
  }

  sparseSimilarityTopk(args: SparseSimilarityTopkArgs): void {
    const { aPtr, aIdx, aVal, bPtr, bIdx, bVal, row0, row1, rowNorms, colNorms, shrink, k, excludeSelf } = args;
    const { acc, mark, list, outIdx, outScores } = args;
    for (let r = row0; r < row1; r++) {
      let touched = 0;
      for (let p = aPtr[r]!, pe = aPtr[r + 1]!; p < pe; p++) {
        const a = aVal[p]!;
        const src = aIdx[p]!;
        for (let q = bPtr[src]!, qe = bPtr[src + 1]!; q < qe; q++) {
          const j = bIdx[q]!;
          if (mark[j] === 0) {
            mark[j] = 1;
            list[touched++] = j;
          }
          acc[j]! += a * bVal[q]!;
        }
      }
      const so = (r - row0) * k;
      const rn = rowNorms ? rowNorms[r]! : 1;
      for (let t = 0; t < touched; t++) {
        const j = list[t]!;
        const dot = acc[j]!;
        acc[j] = 0;
        mark[j] = 0;
        if (excludeSelf && j === r) continue;
        const den = rn * (colNorms ? colNorms[j]! : 1) + shrink;
        insertTopk(outIdx, outScores, so, k, Math.fround(den !== 0 ? dot / den : 0), j);
      }
    }
  }

  sparseScoreTopn(args: SparseScoreTopnArgs): void {
    const { aPtr, aIdx, aVal, mPtr, mIdx, mVal, seenPtr, seenIdx, allow, normalize, row0, row1, n } = args;
    const { acc, den, mark, list, outIdx, outScores } = args;
    const SEEN = 2;
    for (let r = row0; r < row1; r++) {
      const s0 = seenPtr && seenIdx ? seenPtr[r]! : 0;
      const s1 = seenPtr && seenIdx ? seenPtr[r + 1]! : 0;
      for (let p = s0; p < s1; p++) mark[seenIdx![p]!] = SEEN;
      let touched = 0;
      for (let p = aPtr[r]!, pe = aPtr[r + 1]!; p < pe; p++) {
        const a = aVal[p]!;
        const src = aIdx[p]!;
        for (let q = mPtr[src]!, qe = mPtr[src + 1]!; q < qe; q++) {
          const j = mIdx[q]!;
          const m = mark[j]!;
          if (m === SEEN) continue;
          if (m === 0) {
            mark[j] = 1;
            list[touched++] = j;
          }
          const v = mVal[q]!;
          acc[j]! += a * v;
          if (normalize === 1) den![j]! += Math.abs(a);
          else if (normalize === 2) den![j]! += Math.abs(v);
        }
      }
      const so = (r - row0) * n;
      for (let t = 0; t < touched; t++) {
        const j = list[t]!;
        const sum = acc[j]!;
        acc[j] = 0;
        mark[j] = 0;
        let score = sum;
        if (normalize !== 0) {
          const d = den![j]!;
          den![j] = 0;
          score = d !== 0 ? sum / d : 0;
        }
        if (allow && allow[j] === 0) continue;
        insertTopk(outIdx, outScores, so, n, Math.fround(score), j);
      }
      for (let p = s0; p < s1; p++) mark[seenIdx![p]!] = 0;
    }
  }

  multinomialPass({ x, rows, cols: q, k, y, s, theta, mode, out }: MultinomialPassArgs): void {
    const L = multinomialLayout(k, q);
    const p = new Float64Array(k);
    for (let i = 0; i < rows; i++) {
      const xo = i * q;
      let best = 0;
      for (let c = 0; c < k; c++) {
        let zc = 0;
        for (let d = 0; d < q; d++) zc += x[xo + d]! * theta[c * q + d]!;
        p[c] = zc;
        if (zc > p[best]!) best = c;
      }
      const yi = y[i]!;
      const zy = p[yi]!;
      const m = p[best]!;
      let sum = 0;
      for (let c = 0; c < k; c++) {
        p[c] = Math.exp(p[c]! - m);
        sum += p[c]!;
      }
      for (let c = 0; c < k; c++) p[c]! /= sum;
      const si = s ? s[i]! : 1;
      const li = m + Math.log(sum) - zy;
      out[L.lossW]! += si * li;
      out[L.loss]! += li;
      if (best === yi) out[L.correct]! += 1;
      if (mode === MULTINOMIAL_LOSS) continue;
      for (let c = 0; c < k; c++) {
        const f = si * (p[c]! - (c === yi ? 1 : 0));
        const go = L.grad + c * q;
        for (let d = 0; d < q; d++) out[go + d]! += f * x[xo + d]!;
      }
      if (mode !== MULTINOMIAL_NEWTON) continue;
      let ho = L.h;
      for (let a = 0; a < k - 1; a++) {
        for (let c = a; c < k - 1; c++) {
          const wi = si * p[a]! * ((a === c ? 1 : 0) - p[c]!);
          for (let r = 0; r < q; r++) {
            const wr = wi * x[xo + r]!;
            const o = ho + r * q;
            for (let t = r; t < q; t++) out[o + t]! += wr * x[xo + t]!;
          }
          ho += q * q;
        }
      }
    }
  }

  alsSolve(args: AlsSolveArgs): number {
    return alsSolveJs(args);
  }

  tileGemm(args: TileGemmArgs): void {
    tileGemmJs(args);
  }

  tileDiag(args: TileDiagArgs): number {
    return tileDiagJs(args);
  }

  mirrorStrip(out: Float32Array, n: number, row0: number, row1: number): void {
    mirrorStripJs(out, n, row0, row1);
  }

  tileGemmF32(args: TileGemmArgs<Float32Array>): void {
    tileGemmJs(args);
  }

  topkExclTile(args: TopkExclTileArgs): void {
    topkExclTileJs(args);
  }
}

/** ‖x[o .. o + cols)‖₂ with the sum of squares in f64, in order. */
function rowNorm(x: Float32Array, o: number, cols: number): number {
  let s = 0;
  for (let d = 0; d < cols; d++) {
    const v = x[o + d]!;
    s += v * v;
  }
  return Math.sqrt(s);
}
