/**
 * Saving and loading fitted models: a JSON manifest plus one binary array file, written atomically
 * (see bundle.ts). `loadModel` reads the manifest's `kind` and rebuilds the matching model class, bound
 * to the engine that will score with it.
 */
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { readBundle, writeBundle } from './bundle.js';
import { KMeansModel } from './kmeans.js';
import { LinearModel } from './linear.js';
import { LogisticModel } from './logistic.js';

export type Model = KMeansModel | LinearModel | LogisticModel;
export type ModelKind = Model['kind'];

/** Writes `path` (the JSON manifest) and the arrays beside it (`model.json` → `model.bin`). */
export async function saveModel(model: Model, path: string): Promise<void> {
  await writeBundle(path, model.toBundle());
}

/** Reads a model saved by `save`/`saveModel`, whatever its kind. */
export async function loadModel(path: string, engine: Engine): Promise<Model> {
  const b = await readBundle(path);
  switch (b.kind) {
    case 'kmeans':
      return KMeansModel.fromBundle(b, engine, path);
    case 'linear':
      return LinearModel.fromBundle(b, engine, path);
    case 'logistic':
      return LogisticModel.fromBundle(b, engine, path);
    default:
      throw new QuiverError('INVALID_ARGUMENT', `${path} holds a "${b.kind}" model, which this command cannot load (kmeans, linear or logistic)`, {
        kind: b.kind,
      });
  }
}
