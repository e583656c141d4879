/** Merging the partial results of reduction blocks, in block order (so threads and tiles never change a sum). */

/** Σ over nBlocks consecutive partials of `len` values each, in block order (f64). */
export function sumBlocks(parts: Float64Array, nBlocks: number, len: number): Float64Array {
  const out = new Float64Array(len);
  for (let b = 0; b < nBlocks; b++) {
    const o = b * len;
    for (let i = 0; i < len; i++) out[i]! += parts[o + i]!;
  }
  return out;
}

/** Fills the lower triangle of a row-major n × n matrix from its upper triangle (kernels write the upper). */
export function mirrorUpper(m: Float64Array, n: number): Float64Array {
  for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) m[b * n + a] = m[a * n + b]!;
  return m;
}
