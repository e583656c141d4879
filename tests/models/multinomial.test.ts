// Multiclass (softmax) logistic regression against scikit-learn's multinomial LogisticRegression on the shipped
// data/bank.csv (target marital, 3 classes), on every backend: coefficients and intercepts to 1e-4 after centring
// over the classes, log-loss to 1e-6 (tests/fixtures/models/workflow_bankcsv.json, make_workflow_fixtures.py).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine, fitMultinomialLogistic, loadModel, parseCsv, tableToDesign, type BackendName } from '../../src/index.js';
import { expectCode } from '../helpers/errors.js';
import { readFixture, repoRoot, sourceText, type FixtureSource } from '../helpers/fixtures.js';
import { centreOverClasses } from '../helpers/softmax.js';

interface Workflow {
  source: FixtureSource;
  multinomial: {
    target: string;
    classes: string[];
    features: string[];
    coefficients: number[];
    intercepts: number[];
    log_loss: number;
    accuracy: number;
    proba_head: { rows: number[]; values: number[] };
  };
}
const FIXTURE = 'workflow_bankcsv.json';
const wf = readFixture<Workflow>(FIXTURE);
const ref = wf.multinomial;
const dir = mkdtempSync(join(tmpdir(), 'quiver-multinomial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function design() {
  const table = parseCsv(sourceText(join(repoRoot, 'data', 'bank.csv'), wf.source, FIXTURE), { source: 'data/bank.csv' });
  const { encoder, x } = tableToDesign(table, { exclude: [ref.target], standardize: true });
  expect(encoder.features).toEqual(ref.features);
  const y = Int32Array.from(table.column(ref.target), (v) => ref.classes.indexOf(v));
  return { encoder, x, y, table };
}

describe('multinomial logistic regression against scikit-learn', () => {
  for (const backend of ['native', 'wasm', 'js'] as BackendName[]) {
    it(`${backend}: centred coefficients and intercepts to 1e-4, log-loss to 1e-6, probabilities`, async () => {
      const e = await createEngine({ backend, threads: 2 });
      try {
        const { encoder, x, y, table } = design();
        const m = await fitMultinomialLogistic(e, x, y, { l2: 1, tol: 1e-8, classes: ref.classes, encoder });
        expect(m.converged).toBe(true);
        const k = ref.classes.length;
        const p = x.cols;
        // Centre over the classes, as the fixture does (Quiver's already sum to ~0).
        const coef = centreOverClasses(m.coefficients, k, p);
        // oracle: sklearn LogisticRegression(newton-cholesky, C=1, tol 1e-10).coef_ / intercept_, centred
        expect(Math.max(...ref.coefficients.map((r, i) => Math.abs(coef[i]! - r)))).toBeLessThan(1e-4);
        expect(Math.max(...ref.intercepts.map((r, c) => Math.abs(m.intercepts[c]! - r)))).toBeLessThan(1e-4);
        expect(Math.abs(m.logLoss - ref.log_loss)).toBeLessThan(1e-6);
        expect(Math.abs(m.accuracy - ref.accuracy)).toBeLessThanOrEqual(1 / x.rows);
        const path = join(dir, `${backend}.json`);
        await m.save(path);
        const loaded = await loadModel(path, e);
        expect(loaded.kind).toBe('multinomial');
        // The table, not x: a model with an encoder standardises a matrix input itself.
        const proba = await (loaded as typeof m).predictProba(table);
        ref.proba_head.rows.forEach((row, r) => {
          for (let c = 0; c < k; c++) expect(Math.abs(proba.data[row * k + c]! - ref.proba_head.values[r * k + c]!)).toBeLessThan(1e-6);
        });
      } finally {
        await e.close();
      }
    });
  }

  it('a class of one row, and l2 = 0, are refused with the fix', async () => {
    const e = await createEngine({ backend: 'js', threads: 1 });
    try {
      const x = { rows: 5, cols: 1, data: new Float32Array([1, 2, 3, 4, 5]) };
      await expectCode(fitMultinomialLogistic(e, x, [0, 0, 1, 1, 2], { classes: ['a', 'b', 'c'] }), 'INVALID_ARGUMENT', /class "c" has 1 row; every class needs at least two rows/);
      await expectCode(fitMultinomialLogistic(e, x, [0, 0, 1, 1, 1], { l2: 0 }), 'INVALID_ARGUMENT', /needs l2 > 0/);
    } finally {
      await e.close();
    }
  });
});
