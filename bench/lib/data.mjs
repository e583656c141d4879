// Seeded inputs for every workload. The same (seed, shape) always gives the same matrix, row by row, so a
// scaled-down row takes a prefix of the full input and a child process can rebuild the parent's input
// exactly. Python peers never regenerate: they read the .npy files the parent writes from these arrays.

/** mulberry32: a small 32-bit generator; plenty for benchmark inputs, and trivially reproducible. */
export function makeRng(seed) {
  let s = seed >>> 0;
  const nextU32 = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  // Uniform in (0, 1): never exactly 0, so log() below is finite.
  const uniform = () => (nextU32() + 0.5) / 4294967296;
  let spare = null;
  const normal = () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
  return { nextU32, uniform, normal };
}

// Where the big f32 matrices are built: a plain Float32Array, unless a child process of the bench times
// the "input already in shared memory" row and builds its inputs there directly (no second copy in RSS).
let allocF32 = (rows, cols) => new Float32Array(rows * cols);

/** Sets the allocator of the f32 input matrices: (rows, cols) → Float32Array of rows·cols. */
export function setMatrixAllocator(fn) {
  allocF32 = fn;
}

/** rows × cols standard normal entries (times `scale`), f32, row-major. */
export function gaussianMatrix(rows, cols, seed, scale = 1) {
  const rng = makeRng(seed);
  const data = allocF32(rows, cols);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  return { rows, cols, data };
}

/** The first `rows` rows of a matrix, sharing its buffer (inputs are never mutated by the engine). */
export function prefixRows(m, rows) {
  if (rows >= m.rows) return m;
  return { rows, cols: m.cols, data: m.data.subarray(0, rows * m.cols) };
}

/**
 * W3 input: `blobs` Gaussian blobs (centres drawn with spread `spread`, unit noise) that overlap enough that
 * Lloyd's algorithm with k > blobs keeps moving for the 20 iterations we time. Initial centroids are `k`
 * distinct rows picked by the same seed.
 */
export function blobs(rows, cols, nBlobs, k, seed, spread = 2.5) {
  const rng = makeRng(seed);
  const centres = new Float64Array(nBlobs * cols);
  for (let i = 0; i < centres.length; i++) centres[i] = rng.normal() * spread;
  const data = allocF32(rows, cols);
  for (let r = 0; r < rows; r++) {
    const b = rng.nextU32() % nBlobs;
    for (let c = 0; c < cols; c++) data[r * cols + c] = centres[b * cols + c] + rng.normal();
  }
  const picked = new Set();
  while (picked.size < Math.min(k, rows)) picked.add(rng.nextU32() % rows);
  const init = new Float32Array(k * cols);
  for (const [i, r] of [...picked].entries()) init.set(data.subarray(r * cols, (r + 1) * cols), i * cols);
  return { x: { rows, cols, data }, init: { rows: k, cols, data: init } };
}

/** W4 input: X standard normal (f32), y = X·β + N(0, 0.1²) in f64 with β drawn from the same seed. */
export function regression(rows, cols, seed) {
  const x = gaussianMatrix(rows, cols, seed);
  const rng = makeRng(seed ^ 0x5bd1e995);
  const beta = new Float64Array(cols);
  for (let c = 0; c < cols; c++) beta[c] = rng.normal();
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x.data[r * cols + c] * beta[c];
    y[r] = s + 0.1 * rng.normal();
  }
  return { x, y, beta };
}

/** W5 input: X standard normal (f32), y ∈ {0, 1} drawn from sigmoid(X·β/√d + 0.3) with β from the seed. */
export function classification(rows, cols, seed) {
  const x = gaussianMatrix(rows, cols, seed);
  const rng = makeRng(seed ^ 0x27d4eb2f);
  const beta = new Float64Array(cols);
  for (let c = 0; c < cols; c++) beta[c] = (2 * rng.normal()) / Math.sqrt(cols);
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = 0.3;
    for (let c = 0; c < cols; c++) z += x.data[r * cols + c] * beta[c];
    y[r] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { x, y };
}

/** Same values as a JS array of rows (for the ml-* incumbents, which take number[][]). */
export function toRows(m) {
  const out = new Array(m.rows);
  for (let r = 0; r < m.rows; r++) out[r] = Array.from(m.data.subarray(r * m.cols, (r + 1) * m.cols));
  return out;
}
