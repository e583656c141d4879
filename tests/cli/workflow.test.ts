// The workflow flags of the model commands, run as a user does: --holdout / --cv (the last line is one JSON
// object with the metrics), and their bad input.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { quiver } from '../helpers/cli.js';
import { repoRoot } from '../helpers/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-workflow-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const f = (name: string) => join(dir, name);
const bank = join(repoRoot, 'data', 'bank.csv');

function lastLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

describe('quiver linear|logistic|kmeans --holdout / --cv', () => {
  it('logistic --cv 3 prints mean, std and per-fold metrics on the last line, stratified', async () => {
    const r = await quiver('logistic', '--input', bank, '--target', 'y', '--standardize', '--out', f('lg.json'), '--cv', '3', '--seed', '2', '--threshold', '0.3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const v = lastLine(r.stdout) as { validation: { method: string; stratified: boolean; foldSizes: number[] }; metrics: { mean: Record<string, number>; std: Record<string, number>; folds: Record<string, number>[] } };
    expect(v.validation.method).toBe('cv');
    expect(v.validation.stratified).toBe(true);
    expect(v.validation.foldSizes.reduce((a, b) => a + b)).toBe(4521);
    expect(v.metrics.folds).toHaveLength(3);
    for (const key of ['auc', 'logLoss', 'accuracy', 'precision', 'recall', 'accuracyAtThreshold', 'precisionAtThreshold', 'recallAtThreshold']) {
      const xs = v.metrics.folds.map((m) => m[key]!);
      const mean = xs.reduce((a, b) => a + b) / 3;
      // oracle: mean and population std of the per-fold values
      expect(v.metrics.mean[key]).toBeCloseTo(mean, 12);
      expect(v.metrics.std[key]).toBeCloseTo(Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / 3), 12);
    }
    expect(v.metrics.mean['auc']).toBeGreaterThan(0.8);
  });

  it('linear --holdout 0.25 prints held-out rmse, mae and r2; kmeans --holdout inertia and silhouette', async () => {
    const r = await quiver('linear', '--input', bank, '--target', 'balance', '--exclude', 'y', '--out', f('ln.json'), '--holdout', '0.25', '--seed', '3');
    expect(r.code).toBe(0);
    const v = lastLine(r.stdout) as { validation: { testRows: number }; metrics: Record<string, number> };
    expect(v.validation.testRows).toBe(Math.round(0.25 * 4521));
    expect(Object.keys(v.metrics).sort()).toEqual(['mae', 'r2', 'rmse', 'rows']);
    const k = await quiver('kmeans', '--input', bank, '--columns', 'age,balance,duration', '--standardize', '--k', '3', '--out', f('km.json'), '--holdout', '0.2');
    expect(k.code).toBe(0);
    const kv = lastLine(k.stdout) as { metrics: Record<string, number> };
    expect(kv.metrics['inertia']).toBeGreaterThan(0);
    expect(kv.metrics['silhouette']).toBeGreaterThan(0);
  });

  it("linear --accumulate f32 fits the same model within the f32 blocks' rounding; other modes are refused", async () => {
    const args = ['--input', bank, '--target', 'balance', '--exclude', 'y', '--standardize'];
    const a = await quiver('linear', ...args, '--out', f('acc64.json'));
    const b = await quiver('linear', ...args, '--out', f('acc32.json'), '--accumulate', 'f32');
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const ca = JSON.parse(a.stdout) as { coefficients: Record<string, number>; intercept: number };
    const cb = JSON.parse(b.stdout) as { coefficients: Record<string, number>; intercept: number };
    expect(Object.keys(cb.coefficients)).toEqual(Object.keys(ca.coefficients));
    const scale = Math.max(...Object.values(ca.coefficients).map(Math.abs));
    for (const [name, v] of Object.entries(ca.coefficients)) expect(Math.abs(cb.coefficients[name]! - v)).toBeLessThan(1e-3 * scale);
    expect(Math.abs(cb.intercept - ca.intercept)).toBeLessThan(1e-3 * Math.abs(ca.intercept));
    const bad = await quiver('linear', ...args, '--out', f('acc16.json'), '--accumulate', 'f16');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--accumulate/);
  });

  it('bad input names the flag to change', async () => {
    const h = await quiver('logistic', '--input', bank, '--target', 'y', '--out', f('x.json'), '--holdout', '1.5');
    expect(h.code).not.toBe(0);
    expect(h.stderr).toMatch(/--holdout must be a fraction between 0 and 1/);
    const cv = await quiver('logistic', '--input', bank, '--target', 'y', '--out', f('x.json'), '--cv', '600');
    expect(cv.code).toBe(2);
    expect(cv.stderr).toMatch(/class 1 has 521; use --cv 521 or fewer/);
    const both = await quiver('linear', '--input', bank, '--target', 'balance', '--out', f('x.json'), '--cv', '3', '--holdout', '0.2');
    expect(both.stderr).toMatch(/--holdout or --cv, not both/);
    const thr = await quiver('logistic', '--input', bank, '--target', 'y', '--out', f('x.json'), '--threshold', '0.3');
    expect(thr.stderr).toMatch(/--threshold sets the cut-off of the held-out metrics; add --holdout F or --cv K/);
  });
});

describe('quiver logistic --impute / --categorical / --drop-level, and predict on blanks', () => {
  it('fits with blanks, saves the fills, predicts on blanks; bad specs name the flag and column', async () => {
    const { readFileSync, writeFileSync } = await import('node:fs');
    const lines = readFileSync(bank, 'utf8').split('\n');
    // Blank age on every 7th data row and job on every 13th.
    const out = lines.map((l, k) => {
      if (k === 0 || l === '') return l;
      const c = l.split(';');
      if ((k - 1) % 7 === 3) c[0] = '';
      if ((k - 1) % 13 === 2) c[1] = '';
      return c.join(';');
    });
    writeFileSync(f('blank.csv'), out.join('\n'));
    const plain = await quiver('logistic', '--input', f('blank.csv'), '--target', 'y', '--out', f('b.json'));
    expect(plain.stderr).toMatch(/line 5: column "age" is missing.*--impute/);
    const r = await quiver('logistic', '--input', f('blank.csv'), '--target', 'y', '--standardize', '--impute', 'median,job=constant:none', '--categorical', 'day', '--drop-level', 'job=unknown', '--out', f('b.json'));
    expect(r.stderr).toBe('');
    const coef = JSON.parse(r.stdout) as { coefficients: Record<string, number> };
    expect(Object.keys(coef.coefficients)).toContain('job=none');
    expect(Object.keys(coef.coefficients)).toContain('day=2');
    expect(Object.keys(coef.coefficients)).not.toContain('job=unknown');
    const p = await quiver('predict', '--model', f('b.json'), '--input', f('blank.csv'), '--out', f('b.csv'));
    expect(p.code).toBe(0);
    expect(readFileSync(f('b.csv'), 'utf8').trim().split('\n')).toHaveLength(4522);
    const bad = await quiver('logistic', '--input', f('blank.csv'), '--target', 'y', '--impute', 'constant:x', '--out', f('b.json'));
    expect(bad.stderr).toMatch(/--impute: column "age" is numeric, so its constant must be a number/);
    const lvl = await quiver('logistic', '--input', f('blank.csv'), '--target', 'y', '--impute', 'mean', '--drop-level', 'marital=widowed', '--out', f('b.json'));
    expect(lvl.stderr).toMatch(/--drop-level: column "marital" has no level "widowed"; its levels are: "divorced", "married", "single"/);
  });
});

describe('quiver predict writes float64 unless --dtype float32', () => {
  it('probabilities in <f8 reproduce the model log-loss; CSV has round-trip digits; float32 on request', async () => {
    const { readFileSync } = await import('node:fs');
    // Read the .npy bytes here (format 1.0: header length at bytes 8-9, data after it), not through Quiver's
    // matrix reader, which stores float32.
    const npyValues = (b: Buffer): Float64Array | Float32Array => {
      const off = 10 + b.readUInt16LE(8);
      const body = b.subarray(off);
      const copy = new Uint8Array(body).buffer;
      return b.toString('latin1', 0, off).includes('<f8') ? new Float64Array(copy) : new Float32Array(copy);
    };
    const fit = await quiver('logistic', '--input', bank, '--target', 'y', '--standardize', '--l2', '0.01', '--out', f('p.json'));
    expect(fit.code).toBe(0);
    const model = JSON.parse(fit.stdout) as { logLoss: number };
    expect((await quiver('predict', '--model', f('p.json'), '--input', bank, '--out', f('p.npy'))).code).toBe(0);
    const bytes = readFileSync(f('p.npy'));
    expect(bytes.toString('latin1', 0, 64)).toContain("'descr': '<f8'");
    const p = npyValues(bytes);
    const y = readFileSync(bank, 'utf8').trim().split('\n').slice(1).map((l) => (l.endsWith('"yes"') ? 1 : 0));
    // oracle: the mean log-loss written out here, against the fit's own (computed from its f64 linear predictor)
    const ll = (q: ArrayLike<number>) => -y.reduce((s: number, yi, i) => s + (yi === 1 ? Math.log(q[i]!) : Math.log1p(-q[i]!)), 0) / y.length;
    expect(Math.abs(ll(p) - model.logLoss)).toBeLessThan(1e-12);
    expect(Array.from(p).some((v) => v !== Math.fround(v))).toBe(true);
    expect((await quiver('predict', '--model', f('p.json'), '--input', bank, '--out', f('p.csv'))).code).toBe(0);
    const csv = readFileSync(f('p.csv'), 'utf8').trim().split('\n').slice(1).map(Number);
    expect(csv).toEqual(Array.from(p));
    expect((await quiver('predict', '--model', f('p.json'), '--input', bank, '--out', f('p32.npy'), '--dtype', 'float32')).code).toBe(0);
    const b32 = readFileSync(f('p32.npy'));
    expect(b32.toString('latin1', 0, 64)).toContain("'descr': '<f4'");
    const p32 = npyValues(b32);
    expect(Math.max(...Array.from(p32, (v, i) => Math.abs(v - p[i]!)))).toBeLessThan(1e-7);
  });
});

describe('quiver logistic --report lift --gain-chart', () => {
  it('prints the decile table and puts the same numbers under "lift" in the last JSON line; writes the SVG', async () => {
    const { readFileSync } = await import('node:fs');
    const r = await quiver('logistic', '--input', bank, '--target', 'y', '--standardize', '--out', f('lift.json'), '--cv', '4', '--report', 'lift', '--gain-chart', f('gain.svg'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/lift by decile \(out-of-fold rows\)\ndecile +rows +positives/);
    const v = lastLine(r.stdout) as { lift: { on: string; rows: number; positives: number; deciles: { rows: number; cumulativeGain: number }[] } };
    expect(v.lift.rows).toBe(4521);
    expect(v.lift.positives).toBe(521);
    expect(v.lift.deciles.map((d) => d.rows).reduce((a, b) => a + b)).toBe(4521);
    expect(v.lift.deciles[9]!.cumulativeGain).toBe(1);
    expect(readFileSync(f('gain.svg'), 'utf8')).toMatch(/<polyline[^>]+points="56\.0,312\.0 /);
  });
});

describe('quiver kmeans --k A..B / --choose-k', () => {
  it('prints a row per k, marks the elbow and the best silhouette, and one JSON line last', async () => {
    const r = await quiver('kmeans', '--input', bank, '--columns', 'age,balance,duration', '--standardize', '--k', '2..6', '--seed', '1');
    expect(r.stderr).toBe('');
    const v = lastLine(r.stdout) as { chooseK: { k: number; silhouette: number }[]; elbow: number; bestSilhouette: number };
    expect(v.chooseK.map((x) => x.k)).toEqual([2, 3, 4, 5, 6]);
    expect(r.stdout).toMatch(new RegExp(`\\n +${v.bestSilhouette} .*best silhouette`));
    expect(r.stdout).toMatch(new RegExp(`\\n +${v.elbow} .*elbow`));
    const bad = await quiver('kmeans', '--input', bank, '--columns', 'age', '--choose-k', '--out', f('x.json'));
    expect(bad.stderr).toMatch(/saves none: drop --out/);
  });
});

describe('quiver logistic with a multiclass target', () => {
  it('fits a softmax model over the sorted classes, cross-validates (stratified) and predicts class indices', async () => {
    const r = await quiver('logistic', '--input', bank, '--target', 'marital', '--standardize', '--out', f('mc.json'), '--cv', '3');
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines.slice(0, -1).join('\n')) as { classes: string[]; converged: boolean; coefficients: Record<string, Record<string, number>> };
    expect(summary.classes).toEqual(['divorced', 'married', 'single']);
    expect(summary.converged).toBe(true);
    expect(Object.keys(summary.coefficients)).toEqual(['divorced', 'married', 'single']);
    const v = lastLine(r.stdout) as { validation: { stratified: boolean }; metrics: { mean: Record<string, number> } };
    expect(v.validation.stratified).toBe(true);
    expect(Object.keys(v.metrics.mean).sort()).toEqual(['accuracy', 'logLoss']);
    const p = await quiver('predict', '--model', f('mc.json'), '--input', bank, '--out', f('mc.csv'));
    expect(p.stderr).toMatch(/4521 class indices/);
    const lift = await quiver('logistic', '--input', bank, '--target', 'marital', '--out', f('mc.json'), '--report', 'lift');
    expect(lift.stderr).toMatch(/has 3 classes; --report lift, --gain-chart and --threshold are for a binary target/);
  });
});
