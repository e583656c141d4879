#!/usr/bin/env node
// `npm test`: builds the TypeScript (the pool's workers run dist/), then runs the vitest suite once on the
// default backend and again with QUIVER_BACKEND forced to wasm and to js. Ends with one plain summary line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);

const tsc = spawnSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

const passes = [
  { label: 'default backend', env: {} },
  { label: 'QUIVER_BACKEND=wasm', env: { QUIVER_BACKEND: 'wasm' } },
  { label: 'QUIVER_BACKEND=js', env: { QUIVER_BACKEND: 'js' } },
];
const out = mkdtempSync(join(tmpdir(), 'quiver-test-'));
let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;
for (const [i, pass] of passes.entries()) {
  console.log(`\n=== vitest: ${pass.label} ===`);
  const json = join(out, `pass${i}.json`);
  const env = { ...process.env, ...pass.env };
  // The forced passes must not be failed by the native requirement of the first one.
  if (pass.env.QUIVER_BACKEND) env.QUIVER_REQUIRE_NATIVE = '0';
  env.QUIVER_TEST_PASS = String(i);
  const r = spawnSync(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...extra], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) status = r.status ?? 1;
  try {
    const res = JSON.parse(readFileSync(json, 'utf8'));
    passed += res.numPassedTests;
    failed += res.numFailedTests;
    skipped += res.numPendingTests + (res.numTodoTests ?? 0);
  } catch {
    failed += 1;
    status = status || 1;
  }
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
