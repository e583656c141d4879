// Shared by the model and data tests: the shared datasets folder (skip when absent), the stored
// fixtures, error assertions, and one engine per test file on the backend this pass selected.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect } from 'vitest';
import { createEngine, type Quiver as Engine } from '../../src/quiver.js';

export const repoRoot = join(import.meta.dirname, '..', '..');
export const datasetsDir = join(repoRoot, '..', 'shared', 'datasets');
export const haveDatasets = existsSync(join(datasetsDir, 'bank-marketing', 'bank-full.csv')) && existsSync(join(datasetsDir, 'segmentation', 'Mall_Customers.csv'));
if (!haveDatasets) console.warn(`skipping the real-data tests: ${datasetsDir} is absent (they need ../shared/datasets beside the repository)`);

export const bankFull = join(datasetsDir, 'bank-marketing', 'bank-full.csv');
export const mallCustomers = join(datasetsDir, 'segmentation', 'Mall_Customers.csv');

export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'models', name), 'utf8')) as T;
}

/** One engine per test file, on whichever backend QUIVER_BACKEND (or auto) selects; closed after the file. */
export function useEngine(): () => Promise<Engine> {
  let p: Promise<Engine> | null = null;
  afterAll(async () => {
    if (p) await (await p).close();
  });
  return () => (p ??= createEngine());
}

export { expectCode } from '../helpers/errors.js';

/** Largest |got − ref| / |ref| over a vector (ref entries of 0 count absolutely). */
export function maxRelDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let m = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const d = Math.abs(got[i]! - r) / (r === 0 ? 1 : Math.abs(r));
    m = Math.max(m, d);
  }
  return m;
}

export function maxAbsDiff(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  expect(got.length).toBe(ref.length);
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(got[i]! - ref[i]!));
  return m;
}

/** Cluster labels from a fixture's digit string. */
export function labelsFromDigits(s: string): Int32Array {
  return Int32Array.from(s, (c) => c.charCodeAt(0) - 48);
}
