// Missing values and column roles: imputation learned at fit and saved with the model (round trip through save
// and load), parity with scikit-learn's SimpleImputer followed by the same logistic regression
// (tests/fixtures/models/workflow_bankcsv.json), --drop-level, --categorical, and the errors that name the fix.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, fitLinearRegression, fitLogisticRegression, loadModel, parseCsv, TableEncoder, tableToDesign, type Engine } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { readFixture, repoRoot, sourceText, type FixtureSource } from '../helpers/fixtures.js';

interface Workflow {
  source: FixtureSource;
  impute: {
    statistics: { mean: Record<string, number>; median: Record<string, number>; most_frequent: Record<string, number>; job_most_frequent: string };
    features: string[];
    coefficients: number[];
    intercept: number;
    predictions: { rows: number[]; values: number[] };
    log_loss: number;
  };
}
const FIXTURE = 'workflow_bankcsv.json';
const wf = readFixture<Workflow>(FIXTURE);
const dir = mkdtempSync(join(tmpdir(), 'quiver-impute-'));
let engineP: Promise<Engine> | null = null;
const engine = (): Promise<Engine> => (engineP ??= createEngine());
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  if (engineP) await (await engineP).close();
});

/** data/bank.csv with the cells the generator blanks: age on rows i mod 7 == 3, balance i mod 11 == 5, job i mod 13 == 2. */
function blankedText(): string {
  const text = sourceText(join(repoRoot, 'data', 'bank.csv'), wf.source, FIXTURE);
  const lines = text.split('\n');
  const header = lines[0]!.split(';');
  const [ia, ib, ij] = ['"age"', '"balance"', '"job"'].map((h) => header.indexOf(h));
  return lines
    .map((line, k) => {
      if (k === 0 || line === '') return line;
      const i = k - 1;
      const f = line.split(';');
      if (i % 7 === 3) f[ia!] = '';
      if (i % 11 === 5) f[ib!] = '';
      if (i % 13 === 2) f[ij!] = '';
      return f.join(';');
    })
    .join('\n');
}
const blanked = () => parseCsv(blankedText(), { source: 'blanked.csv' });

describe('imputation', () => {
  it('learns the fill values of scikit-learn SimpleImputer (mean, median, most_frequent)', () => {
    const st = wf.impute.statistics;
    for (const [strategy, ref] of [
      ['mean', st.mean],
      ['median', st.median],
      ['most-frequent', st.most_frequent],
    ] as const) {
      const enc = TableEncoder.fit(blanked(), { target: 'y', targetKind: 'binary', impute: { all: strategy } });
      const col = (name: string) => enc.schema.columns.find((c) => c.name === name)!;
      // oracle: SimpleImputer(strategy).statistics_
      expect(Math.abs((col('age') as { fill: number }).fill - ref['age']!)).toBeLessThan(1e-9);
      expect(Math.abs((col('balance') as { fill: number }).fill - ref['balance']!) / Math.abs(ref['balance']! || 1)).toBeLessThan(1e-12);
      // text columns take their most frequent level whatever the numeric strategy
      expect((col('job') as { fill: string }).fill).toBe(st.job_most_frequent);
    }
  });

  it('SimpleImputer + LogisticRegression parity, and the fills survive save and load (predict on blanks)', async () => {
    const e = await engine();
    const { encoder, x, y } = tableToDesign(blanked(), { target: 'y', targetKind: 'binary', standardize: true, impute: { all: 'mean' } });
    const ref = wf.impute;
    expect(encoder.features).toEqual(ref.features);
    const m = await fitLogisticRegression(e, x, y!, { l2: 1, tol: 1e-8, encoder });
    // oracle: LogisticRegression(C=1, newton-cholesky, tol 1e-10) on the SimpleImputer output
    expect(Math.max(...ref.coefficients.map((c, j) => Math.abs(m.coefficients[j]! - c)))).toBeLessThan(1e-6);
    expect(Math.abs(m.intercept - ref.intercept)).toBeLessThan(1e-6);
    expect(Math.abs(m.logLoss - ref.log_loss)).toBeLessThan(1e-6);
    const path = join(dir, 'imputed.json');
    await m.save(path);
    const loaded = await loadModel(path, e);
    const p = await loaded.scoreF64(blanked());
    for (const [k, row] of ref.predictions.rows.entries()) expect(Math.abs(p[row]! - ref.predictions.values[k]!)).toBeLessThan(1e-6);
    // Row 3 (age blank) and row 2 (job blank) are among those rows: the saved fills were applied.
    expect(ref.predictions.rows).toContain(3);
    expect(ref.predictions.rows).toContain(2);
  });

  it('constant fills: a new text level, a number; a constant of the wrong type names the column', async () => {
    const enc = TableEncoder.fit(blanked(), { target: 'y', impute: { all: 'median', columns: { job: { constant: 'none' }, balance: { constant: '-1' } } }, targetKind: 'binary' });
    expect(enc.features).toContain('job=none');
    expect(enc.schema.columns.find((c) => c.name === 'balance')).toMatchObject({ fill: -1 });
    await expectCode(() => TableEncoder.fit(blanked(), { target: 'y', targetKind: 'binary', impute: { columns: { age: { constant: 'old' } } } }), 'INVALID_ARGUMENT', /column "age" is numeric, so its constant must be a number \(got "old"\)/);
    await expectCode(() => TableEncoder.fit(blanked(), { target: 'y', targetKind: 'binary', impute: { columns: { agee: 'mean' } } }), 'INVALID_ARGUMENT', /names column "agee", which blanked.csv does not have/);
    await expectCode(() => TableEncoder.fit(blanked(), { target: 'y', targetKind: 'binary', impute: { columns: { y: 'mean' } } }), 'INVALID_ARGUMENT', /target "y"/);
  });

  it('without imputation a blank is an error naming the column and line', async () => {
    await expectCode(() => tableToDesign(blanked(), { target: 'y', targetKind: 'binary' }), 'NON_FINITE', /blanked.csv, line 5: column "age" is missing/);
  });
});

describe('column roles', () => {
  const table = () => parseCsv(sourceText(join(repoRoot, 'data', 'bank.csv'), wf.source, FIXTURE), { source: 'data/bank.csv' });

  it('--drop-level changes the reference level, not the OLS fit (oracle: invariance of least squares)', async () => {
    const e = await engine();
    const a = tableToDesign(table(), { target: 'balance', exclude: ['y'] });
    const b = tableToDesign(table(), { target: 'balance', exclude: ['y'], dropLevel: { job: 'unknown', month: 'may' } });
    expect(b.encoder.features).toContain('job=admin.');
    expect(b.encoder.features).not.toContain('job=unknown');
    expect(b.encoder.features).not.toContain('month=may');
    const ma = await fitLinearRegression(e, a.x, a.y!);
    const mb = await fitLinearRegression(e, b.x, b.y!);
    const pa = await ma.scoreF64(a.x);
    const pb = await mb.scoreF64(b.x);
    let worst = 0;
    for (let i = 0; i < pa.length; i++) worst = Math.max(worst, Math.abs(pa[i]! - pb[i]!) / Math.max(1, Math.abs(pa[i]!)));
    expect(worst).toBeLessThan(1e-6);
    await expectCode(() => tableToDesign(table(), { target: 'y', dropLevel: { job: 'astronaut' } }), 'INVALID_ARGUMENT', /column "job" has no level "astronaut"; its levels are: "admin\."/);
    await expectCode(() => tableToDesign(table(), { target: 'y', dropLevel: { age: '30' } }), 'INVALID_ARGUMENT', /column "age" is numeric.*categorical/);
  });

  it('categorical one-hot encodes a numeric code column, and drop-level then applies to it', () => {
    const t = tableToDesign(table(), { target: 'y', targetKind: 'binary', categorical: ['day'], dropLevel: { day: '15' } });
    expect(t.encoder.features).toContain('day=1');
    expect(t.encoder.features).not.toContain('day=15');
    expect(t.encoder.features.filter((f) => f.startsWith('day=')).length).toBe(30);
  });
});
