/**
 * The seeded generator for the random choices of the orchestration layer (k-means++ and random
 * initialisation, silhouette samples). Kernels never draw random numbers: the same seed gives the same
 * choices on every backend, thread count and machine.
 *
 * xoshiro128** (Blackman and Vigna), a 32-bit generator with a 2¹²⁸ − 1 period, seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */
import { QuiverError } from '../errors.js';

export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed = 0) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
      throw new QuiverError('INVALID_ARGUMENT', `seed must be a whole number ≥ 0 (got ${String(seed)})`);
    }
    // Fold the high bits of a 53-bit seed into the low word, then expand with splitmix32.
    let x = (seed >>> 0) ^ Math.floor(seed / 4294967296);
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1; // the all-zero state is a fixed point
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5), 7), 9) >>> 0;
    const t = this.#s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (n <= 0) throw new QuiverError('INVALID_ARGUMENT', `Rng.int needs n ≥ 1 (got ${n})`);
    return Math.floor(this.next() * n);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** k distinct indices from [0, n), uniformly (partial Fisher–Yates). */
export function sampleWithoutReplacement(rng: Rng, n: number, k: number): Int32Array {
  if (k > n) throw new QuiverError('INVALID_ARGUMENT', `cannot draw ${k} distinct rows from ${n}`);
  // A sparse swap map keeps this O(k) in memory for k ≪ n.
  const swapped = new Map<number, number>();
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const vi = swapped.get(i) ?? i;
    const vj = swapped.get(j) ?? j;
    out[i] = vj;
    swapped.set(j, vi);
  }
  return out;
}
