#!/usr/bin/env node
// One-command build, run by `npm install` (postinstall) and `npm run build`:
//   1. the WASM module (always): SIMD and scalar builds of assembly/ with AssemblyScript;
//   2. the TypeScript (always): src/ -> dist/;
//   3. the native addon, when `cargo` is on the PATH (napi-rs, release profile).
// Without a Rust toolchain it says so once and succeeds: Quiver then runs on WASM.
// With QUIVER_REQUIRE_NATIVE=1 a missing or failing native build fails the install (CI sets it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const requireNative = process.env.QUIVER_REQUIRE_NATIVE === '1';
const bin = (name) => join(root, 'node_modules', '.bin', name);

function run(cmd, cmdArgs, opts = {}) {
  const r = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

function fail(msg) {
  console.error(`quiver build: ${msg}`);
  process.exit(1);
}

function hasCargo() {
  const r = spawnSync('cargo', ['--version'], { stdio: 'ignore' });
  return !r.error && r.status === 0;
}

function buildWasm() {
  mkdirSync(join(root, 'build'), { recursive: true });
  const common = ['assembly/index.ts', '--config', 'assembly/asconfig.json'];
  if (run(bin('asc'), [...common, '--target', 'simd']) !== 0) fail('the WASM (SIMD) build failed');
  if (run(bin('asc'), [...common, '--target', 'scalar']) !== 0) fail('the WASM (scalar) build failed');
}

function buildTs() {
  if (run(bin('tsc'), ['-p', 'tsconfig.build.json']) !== 0) fail('the TypeScript build failed');
}

function buildNative() {
  if (!hasCargo()) {
    const msg = 'quiver: no Rust toolchain (cargo) found; skipping the native addon, Quiver will run on WASM.';
    if (requireNative) fail(`${msg} QUIVER_REQUIRE_NATIVE=1 requires it.`);
    console.log(msg);
    return;
  }
  const status = run(bin('napi'), [
    'build',
    '--platform',
    '--release',
    '--manifest-path',
    'native/Cargo.toml',
    '--output-dir',
    'native',
    '--no-js',
    '--dts',
    'index.d.ts',
  ]);
  if (status !== 0) {
    if (requireNative) fail('the native addon failed to build (QUIVER_REQUIRE_NATIVE=1)');
    console.log('quiver: the native addon failed to build; Quiver will run on WASM.');
  }
}

if (!only || only === 'wasm') buildWasm();
if (!only || only === 'ts') buildTs();
if (!only || only === 'native') {
  if (existsSync(join(root, 'native', 'Cargo.toml'))) buildNative();
  else if (requireNative) fail('native/Cargo.toml is missing');
}
