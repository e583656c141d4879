// The layer rules (.dependency-cruiser.cjs, also `npm run check:layers`) hold on the real src/, and catch an
// upward import and a cycle planted in a temporary copy of it. Runs in the first `npm test` pass only: it
// reads source files, so the backend of a pass does not matter.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const CONFIG = '.dependency-cruiser.cjs';
const firstPass = (process.env['QUIVER_TEST_PASS'] ?? '0') === '0';

/** The violations of src/ under `dir` (a checkout: config and tsconfig.json at its top), and the cruise summary. */
async function violations(dir: string): Promise<{ found: IViolation[]; summary: ICruiseResult['summary'] }> {
  const cwd = process.cwd();
  // The configuration's paths (^src/...) are relative to the working directory, as in `npm run check:layers`.
  process.chdir(dir);
  try {
    const options = await extractDepcruiseOptions(join(dir, CONFIG));
    const tsConfig = extractTSConfig(join(dir, 'tsconfig.json'));
    const res = await cruise(['src'], { ...options, validate: true }, undefined, { tsConfig });
    const out = res.output as ICruiseResult;
    return { found: out.summary.violations, summary: out.summary };
  } finally {
    process.chdir(cwd);
  }
}

const brief = (v: IViolation) => `${v.rule.name}: ${v.from} → ${v.to}`;

describe.runIf(firstPass)('layers', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'quiver-layers-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('src/ imports only point down, with no cycle', async () => {
    const { found, summary } = await violations(root);
    expect(found.map(brief)).toEqual([]);
    // The rules saw the real graph: every module of src/, its relative imports resolved.
    expect(summary.totalCruised).toBeGreaterThan(90);
    expect(summary.totalDependenciesCruised).toBeGreaterThan(400);
  });

  it('catches an upward import and a cycle planted in a copy', async () => {
    for (const f of [CONFIG, 'tsconfig.json']) cpSync(join(root, f), join(tmp, f));
    cpSync(join(root, 'src'), join(tmp, 'src'), { recursive: true });
    const plant = (file: string, line: string) => {
      const path = join(tmp, 'src', file);
      writeFileSync(path, `${line}\n${readFileSync(path, 'utf8')}`);
    };
    plant('pool/pool.ts', "import '../engine/engine.js';");
    plant('data/csv.ts', "import '../models/kmeans.js';");
    plant('engine/scope.ts', "import './engine.js';");
    const { found } = await violations(tmp);
    const names = found.map(brief);
    expect(names).toContain('pool-not-up: src/pool/pool.ts → src/engine/engine.ts');
    expect(names).toContain('ground-not-up: src/data/csv.ts → src/models/kmeans.ts');
    // The planted import closes the circle engine.ts → scope.ts → engine.ts.
    const cycles = found.filter((v) => v.rule.name === 'no-circular').map((v) => (v.cycle ?? []).map((c) => c.name).sort().join(' '));
    expect(cycles).toContain('src/engine/engine.ts src/engine/scope.ts');
  });
});
