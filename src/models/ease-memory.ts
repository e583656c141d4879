/**
 * EASE's memory model: what a fit holds at its peak, and the default budget it is checked against.
 *
 * A fit holds one items × items f64 matrix in engine shared memory (the Gram matrix, factored and inverted in
 * place, then turned into B and compacted to f32 in the first half of the same buffer, which the model keeps),
 * the solve's scratch (nb² + 2·items·nb f64 values, nb = the tile size), and the scoring matrix's column
 * indices (items² i32), so 12·items² bytes plus the scratch and a fixed 16 MiB of working memory (see
 * `easeBytes`); with `precision: 'f32'` the matrix is f32 and is itself the weights: 8·items². The first recommendation then
 * stages B in engine memory for the scoring kernel: another 8·items² bytes, not counted here.
 */
import { constrainedMemory } from 'node:process';
import { totalmem } from 'node:os';
import { inverseScratch } from '../engine/engine.js';

/** Share of the machine's memory a fit may take by default. */
export const DEFAULT_BUDGET_SHARE = 0.75;

/** The machine's memory as this process may use it: the cgroup limit when there is one, else the RAM. */
export function machineMemory(): { bytes: number; source: string } {
  const total = totalmem();
  const limit = typeof constrainedMemory === 'function' ? constrainedMemory() : 0;
  if (limit && limit > 0 && limit < total) return { bytes: limit, source: 'the cgroup memory limit' };
  return { bytes: total, source: 'the machine memory (os.totalmem())' };
}

/** The default EASE memory budget: DEFAULT_BUDGET_SHARE of `machineMemory()`, and a sentence saying so. */
export function defaultEaseBudget(): { bytes: number; source: string } {
  const m = machineMemory();
  const bytes = Math.floor(m.bytes * DEFAULT_BUDGET_SHARE);
  return { bytes, source: `${Math.round(DEFAULT_BUDGET_SHARE * 100)}% of ${m.source}, ${fmtBytes(m.bytes)}` };
}

/** Bytes per items² of a fit (see the module comment): the matrix, the scoring indices, the wasm copy. */
export function easeItemBytes(backend = 'native', precision: 'f64' | 'f32' = 'f64'): number {
  return (precision === 'f32' ? 4 : 8) + 4 + (backend === 'wasm' ? 4 : 0);
}

/**
 * Peak bytes an EASE fit over `items` items takes (see the module comment). On the wasm backend the weights are
 * copied out of the engine's memory, which never shrinks: 4·items² more. In f32 the matrix and the scratch
 * take half.
 */
export function easeBytes(items: number, backend = 'native', precision: 'f64' | 'f32' = 'f64'): number {
  const value = precision === 'f32' ? 4 : 8;
  return easeItemBytes(backend, precision) * items * items + value * inverseScratch(Math.max(1, items)) + WORKING_BYTES;
}

/**
 * What a fit touches beyond its arrays, whatever the catalogue: the pool threads' GEMM packing buffers, chunk
 * copies, the Gram's row buffers (measured 2–4 MiB at 1,500–4,500 items, so a margin of 4×).
 */
const WORKING_BYTES = 16 * 2 ** 20;

export function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}
