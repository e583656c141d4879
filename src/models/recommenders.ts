/** One entry point for the recommenders by name: fit, and load whatever kind a saved bundle holds (see registry.ts). */
import type { Interactions } from '../data/ratings.js';
import type { Engine } from '../engine/engine.js';
import { QuiverError } from '../errors.js';
import { checkBackfill } from './backfill.js';
import { readBundle } from './bundle.js';
import type { RecommenderKind, RecommenderState } from './recommender.js';
import { type AnyRecommender, isRecommenderKind, RECOMMENDER_KINDS, RECOMMENDERS, type RecommenderOptions, recommenderFromBundle } from './registry.js';

export { RECOMMENDER_KINDS } from './registry.js';
export type { AnyRecommender, RecommenderOptions } from './registry.js';

export function checkRecommenderKind(v: unknown): RecommenderKind {
  if (isRecommenderKind(v)) return v;
  throw new QuiverError('INVALID_ARGUMENT', `algorithm must be one of ${RECOMMENDER_KINDS.join(', ')} (got ${JSON.stringify(v)})`, { known: [...RECOMMENDER_KINDS] });
}

export async function fitRecommender(engine: Engine, kind: RecommenderKind, data: Interactions | RecommenderState, opts: RecommenderOptions = {}): Promise<AnyRecommender> {
  // Each kind's fit reads the options it knows (the registry checks that every one takes these arguments).
  const fitKind: (e: Engine, d: Interactions | RecommenderState, o: RecommenderOptions) => Promise<AnyRecommender> = RECOMMENDERS[checkRecommenderKind(kind)].fit;
  // Checked before the fit: a typo should not cost a long fit first.
  const backfill = checkBackfill(opts.backfill);
  return (await fitKind(engine, data, opts)).withBackfill(backfill);
}

/** Reads a recommender saved with `save(path)`, whatever its kind. */
export async function loadRecommender(path: string, engine: Engine): Promise<AnyRecommender> {
  return recommenderFromBundle(await readBundle(path), engine, path);
}
