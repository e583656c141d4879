// Saving and loading models: JSON manifest + binary arrays, atomic writes, dispatch on the kind, models
// with table encoders scoring new CSV rows, and files that do not belong together.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { tableToDesign } from '../../src/data/table.js';
import { KMeansModel } from '../../src/models/kmeans.js';
import { LinearModel } from '../../src/models/linear.js';
import { LogisticModel } from '../../src/models/logistic.js';
import { loadModel, saveModel } from '../../src/models/persist.js';
import { blobs } from './blobs.js';
import { expectCode, useEngine } from './helpers.js';

const engine = useEngine();
const dir = mkdtempSync(join(tmpdir(), 'quiver-models-'));

const csv = [
  'customer,age,plan,visits,bought',
  ...Array.from({ length: 60 }, (_, i) => `c${i},${20 + ((i * 7) % 40)},${['basic', 'gold', 'silver'][i % 3]},${(i * 13) % 11},${(i * 5) % 7 < 3 ? 'yes' : 'no'}`),
].join('\n');
const table = parseCsv(csv, { source: 'train.csv' });

describe('model files', () => {
  it('kmeans: save writes model.json + model.bin atomically; load gives the same predictions', async () => {
    const e = await engine();
    const { x } = blobs(5, 500, 4, 3);
    const m = await e.kmeans(x, { k: 3, seed: 2 });
    const path = join(dir, 'km.json');
    await m.save(path);
    expect(readdirSync(dir).filter((f) => f.startsWith('km') || f.includes('.tmp'))).toEqual(['km.bin', 'km.json']);
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    expect(manifest.format).toBe('quiver-model');
    expect(manifest.kind).toBe('kmeans');
    expect(manifest.arrays.centroids).toMatchObject({ dtype: 'f32', shape: [3, 4] });
    const back = await loadModel(path, e);
    expect(back).toBeInstanceOf(KMeansModel);
    expect(Array.from((back as KMeansModel).centroids.data)).toEqual(Array.from(m.centroids.data));
    expect((back as KMeansModel).inertia).toBe(m.inertia);
    expect(Array.from(await back.predict(x))).toEqual(Array.from(m.labels!));
    const typed = await KMeansModel.load(path, e);
    expect(typed.k).toBe(3);
    await expectCode(LinearModel.load(path, e), 'INVALID_ARGUMENT', /holds a "kmeans" model, not a linear one/);
  });

  it('linear with its table encoder: scores new CSV rows with columns in another order', async () => {
    const e = await engine();
    const { encoder, x, y } = tableToDesign(table, { target: 'visits', exclude: ['customer', 'bought'] });
    const m = await e.linearRegression(x, y!, { encoder });
    const path = join(dir, 'lin.json');
    await saveModel(m, path);
    const back = await loadModel(path, e);
    expect(back).toBeInstanceOf(LinearModel);
    const fresh = parseCsv('plan,age,customer\ngold,33,z1\nplatinum,50,z2\n');
    const got = await (back as LinearModel).predict(fresh);
    // oracle: the fitted coefficients applied by hand (plan=gold is design column 1; platinum is unseen → zeros)
    const [bAge, bGold] = [m.coefficients[0]!, m.coefficients[1]!];
    expect(got[0]).toBeCloseTo(m.intercept + 33 * bAge + bGold, 4);
    expect(got[1]).toBeCloseTo(m.intercept + 50 * bAge, 4);
    expect((back as LinearModel).featureNames).toEqual(encoder.features);
  });

  it('logistic with standardisation: the loaded model gives the same probabilities', async () => {
    const e = await engine();
    const { encoder, x, y } = tableToDesign(table, { target: 'bought', targetKind: 'binary', exclude: ['customer'], standardize: true });
    // oracle: the same fit without the encoder scoring the standardised design x (the encoder changes only how
    // inputs are read: a table is encoded and standardised; a matrix counts as raw design columns).
    const want = await (await e.logisticRegression(x, y!, { l2: 1 })).predictProba(x);
    const m = await e.logisticRegression(x, y!, { l2: 1, encoder });
    const path = join(dir, 'logit.json');
    await m.save(path);
    const back = (await loadModel(path, e)) as LogisticModel;
    expect(back).toBeInstanceOf(LogisticModel);
    expect(back.params.l2).toBe(1);
    expect(Array.from(await back.predictProba(table))).toEqual(Array.from(want));
    expect(Array.from(await m.predictProba(table))).toEqual(Array.from(want));
  });

  it('a .bin that does not belong to its manifest, a foreign JSON, a missing file: typed errors', async () => {
    const e = await engine();
    const { x } = blobs(6, 100, 2, 2);
    const m = await e.kmeans(x, { k: 2 });
    const path = join(dir, 'pair.json');
    await m.save(path);
    const bin = readFileSync(join(dir, 'pair.bin'));
    bin[0] = bin[0]! ^ 0xff;
    writeFileSync(join(dir, 'pair.bin'), bin);
    await expectCode(loadModel(path, e), 'INVALID_ARGUMENT', /pair\.bin does not belong to .*pair\.json.*save the model again/);
    writeFileSync(join(dir, 'other.json'), '{"hello": 1}');
    await expectCode(loadModel(join(dir, 'other.json'), e), 'INVALID_ARGUMENT', /not a Quiver model manifest/);
    await expectCode(loadModel(join(dir, 'absent.json'), e), 'NOT_FOUND', /cannot read the model/);
  });
});
