// The model registry and the shape models share: every kind round-trips save → load to the same answers,
// files saved by an earlier build still load and answer as they did, unknown kinds are typed errors naming the
// known ones, the table encoder as a fit option, and item/user kNN as one implementation with an orientation.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../src/data/csv.js';
import { interactionsFromTriples } from '../../src/data/ratings.js';
import { type TableEncoder, tableToDesign } from '../../src/data/table.js';
import type { ModelBundle } from '../../src/models/bundle.js';
import { fitItemKnn as fitItemKnnOldPath, ItemKnnModel as ItemKnnOldPath } from '../../src/models/itemknn.js';
import type { KMeansModel } from '../../src/models/kmeans.js';
import { fitItemKnn, fitUserKnn, ItemKnnModel, KnnModel, UserKnnModel } from '../../src/models/knn.js';
import type { LinearModel } from '../../src/models/linear.js';
import type { LogisticModel } from '../../src/models/logistic.js';
import { fitMultinomialLogistic } from '../../src/models/multinomial.js';
import type { FittedModel } from '../../src/models/model.js';
import { loadModel, saveModel } from '../../src/models/persist.js';
import type { ScoredItem, UserRecommendations } from '../../src/models/recommender.js';
import { fitRecommender, loadRecommender } from '../../src/models/recommenders.js';
import { MODEL_KINDS, MODELS, modelFromBundle, RECOMMENDER_KINDS, RECOMMENDERS, recommenderFromBundle } from '../../src/models/registry.js';
import { UserKnnModel as UserKnnOldPath } from '../../src/models/userknn.js';
import { blobs } from './blobs.js';
import { expectCode, repoRoot, useEngine } from './helpers.js';

const engine = useEngine();
const saved = join(repoRoot, 'tests', 'fixtures', 'models', 'saved-v1');

interface Expected {
  data: { users: string[]; items: string[]; ratings: number[] };
  csv: string;
  recommenders: Record<string, { recommend: UserRecommendations[]; similar: ScoredItem[]; predict: number[] | null }>;
  models: Record<string, { predictions: number[] }>;
}
const expected = JSON.parse(readFileSync(join(saved, 'expected.json'), 'utf8')) as Expected;
const ratings = interactionsFromTriples(expected.data.users, expected.data.items, expected.data.ratings, { feedback: 'explicit' });
const table = parseCsv(expected.csv, { source: 'customers.csv' });

/** A fresh folder per test: no test reads what another wrote. */
const tempDir = () => mkdtempSync(join(tmpdir(), 'quiver-registry-'));

function sameItems(got: readonly ScoredItem[], want: readonly ScoredItem[]): void {
  expect(got.map((s) => s.item)).toEqual(want.map((s) => s.item));
  for (const [i, s] of got.entries()) expect(s.score).toBeCloseTo(want[i]!.score, 5);
}

/** One fitted model of each scored kind, on the fixture's table (fitted with its encoder). */
async function fitModels(): Promise<FittedModel[]> {
  const e = await engine();
  const lin = tableToDesign(table, { target: 'spend', exclude: ['id', 'bought'] });
  const log = tableToDesign(table, { target: 'bought', targetKind: 'binary', exclude: ['id'], standardize: true });
  const seg = tableToDesign(table, { exclude: ['id', 'bought'], standardize: true });
  return [
    await e.kmeans(seg.x, { k: 3, seed: 3, encoder: seg.encoder }),
    await e.linearRegression(lin.x, lin.y!, { l2: 0.5, encoder: lin.encoder }),
    await e.logisticRegression(log.x, log.y!, { l2: 1, encoder: log.encoder }),
    // Three classes: the KMeans segments of the same rows.
    await fitMultinomialLogistic(e, seg.x, (await e.kmeans(seg.x, { k: 3, seed: 3 })).labels!, { l2: 1, encoder: seg.encoder }),
  ];
}

describe('the registry', () => {
  it('lists every kind once, each under the kind its models carry', async () => {
    expect([...MODEL_KINDS]).toEqual(['kmeans', 'linear', 'logistic', 'multinomial']);
    expect([...RECOMMENDER_KINDS]).toEqual(['itemknn', 'userknn', 'ease', 'popular', 'als']);
    expect(Object.keys(MODELS)).toEqual([...MODEL_KINDS]);
    expect(Object.keys(RECOMMENDERS)).toEqual([...RECOMMENDER_KINDS]);
    const models = await fitModels();
    expect(models.map((m) => m.kind)).toEqual([...MODEL_KINDS]);
    for (const m of models) expect(m).toBeInstanceOf(MODELS[m.kind as keyof typeof MODELS]);
  });

  it('scored models: save → loadModel gives the same class, summary, columns and scores', async () => {
    const e = await engine();
    const dir = tempDir();
    for (const m of await fitModels()) {
      const path = join(dir, `${m.kind}.json`);
      await saveModel(m, path);
      const back = await loadModel(path, e);
      expect(back.constructor).toBe(m.constructor);
      expect(back.kind).toBe(m.kind);
      expect(back.summary()).toEqual(m.summary());
      expect(back.columns.count).toBe(m.columns.count);
      expect(back.columns.names).toEqual(m.columns.names);
      expect(back.columns.encoder?.toJSON()).toEqual(m.columns.encoder?.toJSON());
      expect(Array.from(await back.score(table))).toEqual(Array.from(await m.score(table)));
      expect(Array.from(await back.predict(table))).toEqual(Array.from(await m.predict(table)));
    }
  });

  it('recommenders: save → loadRecommender gives the same class, summary and recommendations', async () => {
    const e = await engine();
    const dir = tempDir();
    for (const kind of RECOMMENDER_KINDS) {
      const m = await fitRecommender(e, kind, ratings, { neighbors: 3, lambda: 5 });
      expect(m.kind).toBe(kind);
      expect(m).toBeInstanceOf(RECOMMENDERS[kind].model);
      const path = join(dir, `${kind}.json`);
      await m.save(path);
      const back = await loadRecommender(path, e);
      expect(back.constructor).toBe(m.constructor);
      expect(back.summary()).toEqual(m.summary());
      expect(back.summary()).toEqual({ kind, users: 8, items: 6, feedback: 'explicit' });
      expect(await back.recommend(undefined, { n: 3 })).toEqual(await m.recommend(undefined, { n: 3 }));
      expect(await back.similarItems('i2', 3)).toEqual(await m.similarItems('i2', 3));
      back.release();
      m.release();
    }
  });

  it('an unknown kind is INVALID_ARGUMENT naming the known kinds, in every entry point', async () => {
    const e = await engine();
    const dir = tempDir();
    copyFileSync(join(saved, 'popular.json'), join(dir, 'popular.json'));
    copyFileSync(join(saved, 'popular.bin'), join(dir, 'popular.bin'));
    const manifest = JSON.parse(readFileSync(join(dir, 'popular.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'forest.json'), JSON.stringify({ ...manifest, kind: 'forest' }));
    const m = await expectCode(loadModel(join(dir, 'forest.json'), e), 'INVALID_ARGUMENT', /forest\.json holds a "forest" model, which this command cannot load \(kmeans, linear, logistic or multinomial\)/);
    expect(m.details).toEqual({ kind: 'forest', known: ['kmeans', 'linear', 'logistic', 'multinomial'] });
    const r = await expectCode(loadRecommender(join(dir, 'forest.json'), e), 'INVALID_ARGUMENT', /holds a "forest" model, not a recommender \(itemknn, userknn, ease, popular, als\)/);
    expect(r.details).toEqual({ kind: 'forest', known: ['itemknn', 'userknn', 'ease', 'popular', 'als'] });
    // A kind of the other family, and names that an object has without owning them, are unknown too.
    await expectCode(loadModel(join(dir, 'popular.json'), e), 'INVALID_ARGUMENT', /holds a "popular" model, which this command cannot load/);
    const bundle: ModelBundle = { kind: 'toString', params: {}, arrays: {}, encoder: null };
    await expectCode(() => modelFromBundle(bundle, e, 'm.json'), 'INVALID_ARGUMENT', /holds a "toString" model/);
    await expectCode(() => recommenderFromBundle({ ...bundle, kind: '__proto__' }, e, 'r.json'), 'INVALID_ARGUMENT', /holds a "__proto__" model, not a recommender/);
    const f = await expectCode(fitRecommender(e, 'forest' as 'ease', ratings), 'INVALID_ARGUMENT', /algorithm must be one of itemknn, userknn, ease, popular, als \(got "forest"\)/);
    expect(f.details).toEqual({ known: ['itemknn', 'userknn', 'ease', 'popular', 'als'] });
  });
});

describe('files saved by an earlier build (tests/fixtures/models/saved-v1)', () => {
  for (const kind of ['kmeans', 'linear', 'logistic'] as const) {
    it(`${kind}: loads and scores the table as it did`, async () => {
      const m = await loadModel(join(saved, `${kind}.json`), await engine());
      expect(m.kind).toBe(kind);
      const got = Array.from(await m.score(table));
      const want = expected.models[kind]!.predictions;
      if (kind === 'kmeans') expect(got).toEqual(want);
      else for (const [i, v] of got.entries()) expect(v).toBeCloseTo(want[i]!, 4);
    });
  }

  for (const kind of ['itemknn', 'userknn', 'ease', 'popular'] as const) {
    it(`${kind}: loads and recommends as it did`, async () => {
      const m = await loadRecommender(join(saved, `${kind}.json`), await engine());
      expect(m.kind).toBe(kind);
      const want = expected.recommenders[kind]!;
      const got = await m.recommend(undefined, { n: 3 });
      expect(got.map((r) => r.user)).toEqual(want.recommend.map((r) => r.user));
      for (const [i, r] of got.entries()) sameItems(r.items, want.recommend[i]!.items);
      sameItems(await m.similarItems('i2', 3), want.similar);
      if (want.predict) {
        const p = await (m as ItemKnnModel | UserKnnModel).predict('u1', ['i0', 'i3', 'i5']);
        for (const [i, v] of p.entries()) expect(v).toBeCloseTo(want.predict![i]!, 5);
      }
      m.release();
    });
  }
});

describe('the fitted-model shape', () => {
  it('score is what quiver predict writes: clusters, values, probabilities; summaries are plain JSON', async () => {
    const [km, lin, log] = (await fitModels()) as [KMeansModel, LinearModel, LogisticModel];
    expect([km.scoreName, lin.scoreName, log.scoreName]).toEqual(['cluster indices', 'predictions', 'probabilities']);
    expect(Array.from(await km.score(table))).toEqual(Array.from(await km.predict(table)));
    expect(Array.from(await lin.score(table))).toEqual(Array.from(await lin.predict(table)));
    expect(Array.from(await log.score(table))).toEqual(Array.from(await log.predictProba(table)));
    for (const m of [km, lin, log]) {
      const s = m.summary();
      expect(Object.keys(s)[0]).toBe('kind');
      expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    }
    // oracle: the fields each kind showed before summary() existed (the server's model summaries).
    expect(Object.keys(km.summary())).toEqual(['kind', 'k', 'cols', 'inertia', 'nIter', 'converged', 'centroids']);
    expect(Object.keys(lin.summary())).toEqual(['kind', 'cols', 'coefficients', 'intercept', 'r2', 'rmse', 'nRows', 'featureNames']);
    expect(Object.keys(log.summary())).toEqual(['kind', 'cols', 'coefficients', 'intercept', 'nIter', 'converged', 'logLoss', 'accuracy', 'auc', 'nRows', 'featureNames']);
    expect(km.summary()['centroids']).toEqual([0, 1, 2].map((c) => Array.from(km.centroids.data.subarray(c * 4, c * 4 + 4))));
    expect(km.columns).toEqual({ count: 4, names: ['age', 'plan=gold', 'plan=silver', 'spend'], encoder: km.encoder });
  });
});

describe('the table encoder as a fit option', () => {
  it('is saved with the model, names the columns, and lets the model read tables', async () => {
    const e = await engine();
    const { encoder, x, y } = tableToDesign(table, { target: 'spend', exclude: ['id', 'bought'] });
    const plain = await e.linearRegression(x, y!);
    const m = await e.linearRegression(x, y!, { encoder });
    // The fit does not depend on the encoder: same coefficients as without it.
    expect(Array.from(m.coefficients)).toEqual(Array.from(plain.coefficients));
    expect(m.encoder).toBe(encoder);
    expect(m.featureNames).toEqual(['age', 'plan=gold', 'plan=silver']);
    expect(m.toBundle().encoder).toEqual(encoder.toJSON());
    expect(plain.toBundle().encoder).toBeNull();
    expect(Array.from(await m.predict(table))).toEqual(Array.from(await plain.predict(x)));
    await expectCode(plain.predict(table), 'INVALID_ARGUMENT', /fitted on a matrix, not a table/);
    // Explicit feature names win over the encoder's.
    const named = await e.linearRegression(x, y!, { encoder, featureNames: ['a', 'g', 's'] });
    expect(named.featureNames).toEqual(['a', 'g', 's']);
    const back = await loadModel(await savedTo(m), e);
    expect(Array.from(await back.predict(table))).toEqual(Array.from(await m.predict(table)));
  });

  it('kmeans and logistic take it too; standardisation is applied to tables', async () => {
    const e = await engine();
    const seg = tableToDesign(table, { exclude: ['id', 'bought'], standardize: true });
    const km = await e.kmeans(seg.x, { k: 3, seed: 3, encoder: seg.encoder });
    expect(km.encoder).toBe(seg.encoder);
    expect(Array.from(await km.predict(table))).toEqual(Array.from(km.labels!));
    const log = tableToDesign(table, { target: 'bought', targetKind: 'binary', exclude: ['id'], standardize: true });
    const plain = await e.logisticRegression(log.x, log.y!);
    const m = await e.logisticRegression(log.x, log.y!, { encoder: log.encoder });
    expect(m.featureNames).toEqual(log.encoder.features);
    expect(Array.from(await m.predictProba(table))).toEqual(Array.from(await plain.predictProba(log.x)));
  });

  it('an encoder that did not build x is refused', async () => {
    const e = await engine();
    const { encoder } = tableToDesign(table, { target: 'spend', exclude: ['id', 'bought'] });
    const { x, truth } = blobs(4, 60, 2, 2);
    const y = Float64Array.from(truth);
    await expectCode(e.linearRegression(x, y, { encoder }), 'SHAPE_MISMATCH', /the encoder makes 3 design columns but x has 2; pass the x that this encoder built/);
    await expectCode(e.logisticRegression(x, y, { encoder }), 'SHAPE_MISMATCH', /the encoder makes 3 design columns but x has 2/);
    await expectCode(e.kmeans(x, { k: 2, encoder }), 'SHAPE_MISMATCH', /the encoder makes 3 design columns but x has 2/);
    const fake = { features: ['a', 'b'] } as unknown as TableEncoder;
    await expectCode(e.linearRegression(x, y, { encoder: fake }), 'INVALID_ARGUMENT', /encoder must be the TableEncoder that built x/);
  });
});

describe('kNN: one implementation, two orientations', () => {
  it('item and user kNN are KnnModels that keep their kinds, options and import paths', async () => {
    const e = await engine();
    const item = await fitItemKnn(e, ratings, { neighbors: 3 });
    const user = await fitUserKnn(e, ratings, { neighbors: 3 });
    expect(item).toBeInstanceOf(KnnModel);
    expect(user).toBeInstanceOf(KnnModel);
    expect([item.kind, item.orientation, user.kind, user.orientation]).toEqual(['itemknn', 'item', 'userknn', 'user']);
    expect(item.options).toEqual({ neighbors: 3, similarity: 'cosine', shrink: 0, normalizeSimilarity: true, kernel: item.options.kernel });
    expect(Object.keys(user.options)).toEqual(['neighbors', 'similarity', 'shrink', 'kernel']);
    expect([item.neighbours.rows, user.neighbours.rows]).toEqual([6, 8]);
    expect(ItemKnnOldPath).toBe(ItemKnnModel);
    expect(UserKnnOldPath).toBe(UserKnnModel);
    expect(fitItemKnnOldPath).toBe(fitItemKnn);
    await expectCode(user.recommendForItems(['i0'], { n: 2 }), 'INVALID_ARGUMENT', /user kNN recommends for known users only/);
    expect((await item.recommendForItems(['i0'], { n: 2 })).length).toBeGreaterThan(0);
    await expectCode(fitUserKnn(e, interactionsFromTriples(['a', 'a'], ['x', 'y']), {}), 'INVALID_ARGUMENT', /user kNN needs at least two users/);
    await expectCode(fitItemKnn(e, interactionsFromTriples(['a', 'b'], ['x', 'x']), {}), 'INVALID_ARGUMENT', /item kNN needs at least two items/);
  });

  it('the saved bundles keep their kinds and parameters (item kNN also records normalizeSimilarity)', async () => {
    const e = await engine();
    const item = (await fitItemKnn(e, ratings, { neighbors: 3, normalizeSimilarity: false })).toBundle();
    const user = (await fitUserKnn(e, ratings, { neighbors: 3, shrink: 1 })).toBundle();
    expect(item.kind).toBe('itemknn');
    expect(user.kind).toBe('userknn');
    expect(Object.keys(item.params).slice(0, 5)).toEqual(['neighbors', 'similarity', 'shrink', 'normalizeSimilarity', 'kernel']);
    expect(Object.keys(user.params).slice(0, 4)).toEqual(['neighbors', 'similarity', 'shrink', 'kernel']);
    expect(Object.keys(item.arrays)).toEqual(['neighboursIndptr', 'neighboursIndices', 'neighboursData', 'trainIndptr', 'trainIndices', 'trainData']);
    expect(Object.keys(user.arrays)).toEqual(Object.keys(item.arrays));
    // Loading an item bundle as the other orientation checks the neighbour matrix's shape (items ≠ users here).
    await expectCode(() => UserKnnModel.fromBundle(item, e, 'x.json'), 'INVALID_ARGUMENT', /x\.json: the model's neighbours matrix does not match its 8 × 8 shape/);
  });
});

async function savedTo(m: FittedModel): Promise<string> {
  const path = join(tempDir(), `${m.kind}.json`);
  await m.save(path);
  return path;
}
