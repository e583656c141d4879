// Seeded sparse inputs for the sparse-kernel suites (tests/backends/sparse.test.ts, tests/engine/sparse.test.ts).
import type { CsrMatrix } from '../../src/types.js';
import { mulberry32 } from './rng.js';

/** A random CSR matrix: each entry present with probability `density`; values small integers (never 0) or uniform in [-1, 1). */
export function randomCsr(rows: number, cols: number, density: number, seed: number, ints: boolean): CsrMatrix {
  const r = mulberry32(seed);
  const indptr = new Int32Array(rows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (r() < density) {
        idx.push(j);
        val.push(ints ? Math.floor(r() * 7) - 2 || 1 : r() * 2 - 1);
      }
    }
    indptr[i + 1] = idx.length;
  }
  return { rows, cols, indptr, indices: Int32Array.from(idx), data: Float32Array.from(val) };
}

/** Row norms √Σ v² of a CSR matrix, rounded to f32. */
export function csrNorms(m: CsrMatrix): Float32Array {
  const out = new Float32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let p = m.indptr[i]!; p < m.indptr[i + 1]!; p++) s += m.data[p]! * m.data[p]!;
    out[i] = Math.sqrt(s);
  }
  return out;
}
