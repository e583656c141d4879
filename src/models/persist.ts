/**
 * Saving and loading fitted models: a JSON manifest plus one binary array file, written atomically
 * (see bundle.ts). `loadModel` reads the manifest's `kind` and rebuilds the class registered for it
 * (registry.ts), bound to the engine that will score with it.
 */
import type { Engine } from '../engine/engine.js';
import { readBundle, writeBundle } from './bundle.js';
import type { FittedModel } from './model.js';
import { type Model, modelFromBundle } from './registry.js';

export type { Model, ModelKind } from './registry.js';

/** Writes `path` (the JSON manifest) and the arrays beside it (`model.json` → `model.bin`). */
export async function saveModel(model: FittedModel, path: string): Promise<void> {
  await writeBundle(path, model.toBundle());
}

/** Reads a model saved by `save`/`saveModel`, whatever its kind. */
export async function loadModel(path: string, engine: Engine): Promise<Model> {
  return modelFromBundle(await readBundle(path), engine, path);
}
