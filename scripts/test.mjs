#!/usr/bin/env node
// `npm test`: builds the TypeScript (the pool's workers run dist/), runs the checks, then vitest four times.
//   checks: the type-check of tests/ (tsconfig.tests.json), the linter (Biome, biome.jsonc), the layer rules
//           (`npm run check:layers`, when package.json has that script), and in native/ `cargo test --release`
//           and `cargo clippy -D warnings` (each when its tool is installed; a missing one is a skip, said once).
//   vitest: every suite on the default backend, then everything but the backend kernel suites (tests/backends,
//           which hold every backend to the reference in one pass) with QUIVER_BACKEND forced to wasm and to js;
//           last, tests/**/*.alone.ts one file at a time with nothing beside them (vitest.alone.config.ts).
// A failed step prints one `npm test: FAILED` line and fails the run; the rest still run, so one run shows
// every failure. The last line is `N passed, N failed, N skipped`: vitest tests, cargo tests, and one per check.
// `npm test -- <vitest args>` forwards the args to each vitest pass and leaves the checks out (a targeted run).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const native = join(root, 'native');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const extra = process.argv.slice(2);

let passed = 0;
let failed = 0;
let skipped = 0;
let status = 0;

const seconds = (t0) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

function fail(step, why) {
  console.log(`npm test: FAILED: ${step}: ${why}`);
  failed += 1;
  status = 1;
}

function skip(step, why, checks = 1) {
  console.log(`npm test: skipped ${step}: ${why}`);
  skipped += checks;
}

function available(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

/** Runs one check with inherited output; counts it as one test. */
function check(step, cmd, args, opts = {}) {
  console.log(`\n=== ${step} ===`);
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) return fail(step, `could not start ${cmd}: ${r.error.message}`);
  if (r.status !== 0) return fail(step, `exit status ${r.status ?? r.signal} after ${seconds(t0)} (its output is above)`);
  console.log(`npm test: ${step} ok in ${seconds(t0)}`);
  passed += 1;
}

/** The host target triple, so cargo reuses the release dependencies that `napi build --platform` compiled. */
function hostTarget() {
  const r = spawnSync('rustc', ['-vV'], { encoding: 'utf8' });
  return r.status === 0 ? /^host: (\S+)$/m.exec(r.stdout)?.[1] : undefined;
}

function cargoTests(target) {
  const step = 'cargo test --release (native/)';
  console.log(`\n=== ${step} ===`);
  const t0 = performance.now();
  const args = ['test', '--release', ...(target ? ['--target', target] : [])];
  const r = spawnSync('cargo', args, { cwd: native, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.error) return fail(step, `could not start cargo: ${r.error.message}`);
  process.stdout.write(r.stdout);
  // One `test result:` line per test binary (unit tests, doc-tests).
  let counted = 0;
  for (const m of r.stdout.matchAll(/^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored/gm)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
    skipped += Number(m[3]);
    counted += Number(m[1]) + Number(m[2]);
  }
  if (r.status !== 0) {
    // A build failure has no result line: count it as one failure.
    if (counted === 0) failed += 1;
    status = 1;
    return console.log(`npm test: FAILED: ${step}: exit status ${r.status ?? r.signal} after ${seconds(t0)} (its output is above)`);
  }
  console.log(`npm test: ${step} ok in ${seconds(t0)}`);
}

// 1. The build: without it the workers run stale code, so a failure stops here.
const build = spawnSync(bin('tsc'), ['-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('npm test: FAILED: tsc -p tsconfig.build.json (the build the workers run); nothing else was run');
  process.exit(build.status ?? 1);
}

// 2. The checks.
if (extra.length > 0) {
  console.log(`npm test: vitest arguments given (${extra.join(' ')}): the checks are left out; run \`npm test\` alone for them`);
} else {
  check('tsc -p tsconfig.tests.json --noEmit (the tests type-check)', bin('tsc'), ['-p', 'tsconfig.tests.json', '--noEmit']);
  if (existsSync(bin('biome'))) check('biome lint (biome.jsonc)', bin('biome'), ['lint', '--error-on-warnings']);
  else fail('biome lint', `${bin('biome')} is missing: run npm install (it is a dev dependency)`);
  const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts ?? {};
  if (scripts['check:layers']) check('npm run check:layers (the layer rules)', 'npm', ['run', '--silent', 'check:layers']);
  else skip('the layer check', 'package.json has no check:layers script');
  if (!available('cargo', ['--version'])) {
    skip('cargo test and cargo clippy', 'no cargo on the PATH', 2);
  } else {
    const target = hostTarget();
    cargoTests(target);
    if (available('cargo', ['clippy', '--version'])) {
      check('cargo clippy --release --all-targets -- -D warnings (native/)', 'cargo', ['clippy', '--release', '--all-targets', ...(target ? ['--target', target] : []), '--', '-D', 'warnings'], { cwd: native });
    } else {
      skip('cargo clippy', 'clippy is not installed (rustup component add clippy)');
    }
  }
}

// 3. vitest, three passes.
const passes = [
  { label: 'default backend, every suite', env: {}, args: [] },
  // The backend suites test every backend whatever QUIVER_BACKEND says: once is enough. A forwarded filter may
  // match only backend suites, which leaves these passes nothing to run.
  // The distributed bulk tests (tests/bulk: Redis, worker processes, about a minute) test the queue and the
  // store, which do not depend on the backend: once is enough too.
  { label: 'QUIVER_BACKEND=wasm, all but tests/backends, tests/bulk and bench/tests', env: { QUIVER_BACKEND: 'wasm' }, args: ['--exclude', 'tests/backends/**', '--exclude', 'tests/bulk/**', '--exclude', 'bench/tests/**', '--passWithNoTests'] },
  { label: 'QUIVER_BACKEND=js, all but tests/backends, tests/bulk and bench/tests', env: { QUIVER_BACKEND: 'js' }, args: ['--exclude', 'tests/backends/**', '--exclude', 'tests/bulk/**', '--exclude', 'bench/tests/**', '--passWithNoTests'] },
  // tests/**/*.alone.ts, one file at a time with nothing beside them: the service soak test (it measures /health
  // latency) and the schemathesis contract fuzz run (skipped with one line where python3 is absent).
  { label: 'service suites alone (soak, contract fuzz: vitest.alone.config.ts)', env: {}, args: ['--config', 'vitest.alone.config.ts', '--passWithNoTests'] },
];
const out = mkdtempSync(join(tmpdir(), 'quiver-test-'));
for (const [i, pass] of passes.entries()) {
  console.log(`\n=== vitest: ${pass.label} ===`);
  const t0 = performance.now();
  const json = join(out, `pass${i}.json`);
  const env = { ...process.env, ...pass.env };
  // The forced passes must not be failed by the native requirement of the first one.
  if (pass.env.QUIVER_BACKEND) env.QUIVER_REQUIRE_NATIVE = '0';
  env.QUIVER_TEST_PASS = String(i);
  const r = spawnSync(bin('vitest'), ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${json}`, ...pass.args, ...extra], {
    cwd: root,
    stdio: 'inherit',
    env,
  });
  if (r.status !== 0) {
    status = r.status ?? 1;
    console.log(`npm test: FAILED: vitest (${pass.label}): exit status ${r.status ?? r.signal}`);
  }
  try {
    const res = JSON.parse(readFileSync(json, 'utf8'));
    passed += res.numPassedTests;
    failed += res.numFailedTests;
    skipped += res.numPendingTests + (res.numTodoTests ?? 0);
  } catch {
    failed += 1;
    status = status || 1;
  }
  console.log(`npm test: vitest (${pass.label}) took ${seconds(t0)}`);
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(status);
