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
import type { Engine } from '../engine/engine.js';
import type { Model } from '../models/persist.js';
import type { Registry } from './registry.js';

/** The numeric columns of bank.csv that the demo propensity model scores. */
export const DEMO_COLUMNS = ['age', 'balance', 'day', 'duration', 'campaign', 'pdays', 'previous'];

export function bankCsvPath(): string {
  return fileURLToPath(new URL('../../data/bank.csv', import.meta.url));
}

export async function ensureDemoModels(engine: Engine, dataDir: string, models: Registry<Model>, log: (msg: string) => void): Promise<string[]> {
  const marker = join(dataDir, 'demo.json');
  if (!existsSync(marker) && existsSync(bankCsvPath())) {
    const table = await readCsv(bankCsvPath());
    const { x, y } = tableToDesign(table, { target: 'y', targetKind: 'binary', columns: DEMO_COLUMNS });
    const propensity = await models.add(await engine.logisticRegression(x, y!, { l2: 1, featureNames: DEMO_COLUMNS }));
    const seg = tableToDesign(table, { columns: ['age', 'balance'] }).x;
    const segments = await models.add(await engine.kmeans(seg, { k: 4, nInit: 4, seed: 42 }));
    await writeFile(marker, `${JSON.stringify({ propensity: propensity.id, segments: segments.id, source: 'data/bank.csv (UCI Bank Marketing, CC BY 4.0)' }, null, 2)}\n`);
    log(`fitted demo models from data/bank.csv: propensity ${propensity.id} (logistic on ${DEMO_COLUMNS.join(', ')}), segments ${segments.id} (KMeans k=4 on age, balance)`);
  }
  if (!existsSync(marker)) return [];
  const ids = JSON.parse(await readFile(marker, 'utf8')) as { propensity?: string; segments?: string };
  const out: string[] = [];
  const has = (id: string | undefined) => id !== undefined && models.list().some((s) => s.id === id);
  if (has(ids.propensity)) {
    out.push(
      `curl -s -X POST {url}/v1/models/${ids.propensity}/predict -H 'content-type: application/json' -d '{"rows":[[35,1200,15,300,2,-1,0],[58,40,5,90,6,-1,0]]}'   # purchase propensity (${DEMO_COLUMNS.join(',')})`,
    );
  }
  if (has(ids.segments)) out.push(`curl -s -X POST {url}/v1/models/${ids.segments}/predict -H 'content-type: application/json' -d '{"rows":[[30,500],[62,9000]]}'   # segment of (age, balance)`);
  return out;
}
