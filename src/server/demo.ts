/**
 * The embedded default for `npm start`: on a first run (no marker in the data directory) fit demo models from
 * data the repository ships (UCI Bank Marketing `data/bank.csv`, CC BY 4.0), so the service has something to
 * score at once. Returns example requests naming the models' ids.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '../data/csv.js';
import { tableToDesign } from '../data/table.js';
import type { Quiver } from '../quiver.js';
import type { Model } from '../models/persist.js';
import { SyntheticInteractions } from '../data/synthetic.js';
import { fitRecommender, type AnyRecommender } from '../models/recommenders.js';
import type { Registry } from './registry.js';

/** The numeric columns of bank.csv that the demo propensity model scores. */
export const DEMO_COLUMNS = ['age', 'balance', 'day', 'duration', 'campaign', 'pdays', 'previous'];

export function bankCsvPath(): string {
  return fileURLToPath(new URL('../../data/bank.csv', import.meta.url));
}

/** The demo recommender's data: the seeded synthetic generator (MovieLens may not be redistributed). */
export const DEMO_SYNTHETIC = { users: 5000, items: 1000, interactions: 100_000, seed: 42 };

export async function ensureDemoModels(
  engine: Quiver,
  dataDir: string,
  models: Registry<Model>,
  recommenders: Registry<AnyRecommender>,
  log: (msg: string) => void,
): Promise<string[]> {
  const marker = join(dataDir, 'demo.json');
  if (!existsSync(marker) && existsSync(bankCsvPath())) {
    const table = await readCsv(bankCsvPath());
    const { x, y } = tableToDesign(table, { target: 'y', targetKind: 'binary', columns: DEMO_COLUMNS });
    const propensity = await models.add(await engine.logisticRegression(x, y!, { l2: 1, featureNames: DEMO_COLUMNS }));
    const seg = tableToDesign(table, { columns: ['age', 'balance'] }).x;
    const segments = await models.add(await engine.kmeans(seg, { k: 4, nInit: 4, seed: 42 }));
    const ratings = new SyntheticInteractions(DEMO_SYNTHETIC).toInteractions();
    const recs = await recommenders.add(await fitRecommender(engine, 'itemknn', ratings, {}));
    await writeFile(
      marker,
      `${JSON.stringify({ propensity: propensity.id, segments: segments.id, recommender: recs.id, source: 'data/bank.csv (UCI Bank Marketing, CC BY 4.0); synthetic interactions', synthetic: DEMO_SYNTHETIC }, null, 2)}\n`,
    );
    log(
      `fitted demo models: propensity ${propensity.id} (logistic on ${DEMO_COLUMNS.join(', ')} of data/bank.csv), segments ${segments.id} (KMeans k=4 on age, balance), ` +
        `recommender ${recs.id} (item kNN on ${DEMO_SYNTHETIC.users} × ${DEMO_SYNTHETIC.items} synthetic interactions)`,
    );
  }
  if (!existsSync(marker)) return [];
  const ids = JSON.parse(await readFile(marker, 'utf8')) as { propensity?: string; segments?: string; recommender?: string };
  const out: string[] = [];
  const has = (id: string | undefined) => id !== undefined && models.list().some((s) => s.id === id);
  if (has(ids.propensity)) {
    out.push(
      `curl -s -X POST {url}/v1/models/${ids.propensity}/predict -H 'content-type: application/json' -d '{"rows":[[35,1200,15,300,2,-1,0],[58,40,5,90,6,-1,0]]}'   # purchase propensity (${DEMO_COLUMNS.join(',')})`,
    );
  }
  if (has(ids.segments)) out.push(`curl -s -X POST {url}/v1/models/${ids.segments}/predict -H 'content-type: application/json' -d '{"rows":[[30,500],[62,9000]]}'   # segment of (age, balance)`);
  if (ids.recommender !== undefined && recommenders.list().some((s) => s.id === ids.recommender)) {
    out.push(`curl -s -X POST {url}/v1/recommenders/${ids.recommender}/recommend -H 'content-type: application/json' -d '{"user":"1","n":10}'   # top-10 unseen items for user 1`);
    out.push(`curl -s '{url}/v1/recommenders/${ids.recommender}/similar/1?n=10'   # items similar to item 1`);
  }
  return out;
}
