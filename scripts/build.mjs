#!/usr/bin/env node
// One-command build. In a clone it is run by `npm install` (postinstall) and `npm run build`:
//   1. the WASM module: SIMD and scalar builds of assembly/ with AssemblyScript;
//   2. the TypeScript: src/ -> dist/;
//   3. the native addon, when `cargo` is on the PATH (napi-rs CLI, release profile, typings in native/index.d.ts).
// In an installed package (no src/: the tarball ships dist/ and build/*.wasm prebuilt, and the Rust sources of
// native/) postinstall only tries step 3, with cargo itself, because the build tools are dev dependencies.
// Without a Rust toolchain, or when the native build fails, it says so in one line and the install succeeds:
// Quiver then runs on WASM. QUIVER_REQUIRE_NATIVE=1 turns that into a failure (CI sets it where cargo exists);
// QUIVER_SKIP_NATIVE=1 skips the native build.
// `--pack` (prepack) rebuilds what the tarball ships: the WASM and a clean dist/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const pack = args.includes('--pack');
const requireNative = process.env.QUIVER_REQUIRE_NATIVE === '1';
const skipNative = process.env.QUIVER_SKIP_NATIVE === '1';
const packaged = !existsSync(join(root, 'src', 'index.ts'));
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

function buildTs({ clean = false } = {}) {
  // A clean build for the tarball, so files of deleted sources are not shipped.
  if (clean) rmSync(join(root, 'dist'), { recursive: true, force: true });
  if (run(bin('tsc'), ['-p', 'tsconfig.build.json']) !== 0) fail('the TypeScript build failed');
}

/** The file name the loader (src/backends/native.ts) looks for, as `napi build --platform` names it. */
function addonName() {
  const { platform, arch } = process;
  let abi = '';
  if (platform === 'linux') abi = process.report?.getReport()?.header?.glibcVersionRuntime ? '-gnu' : '-musl';
  else if (platform === 'win32') abi = '-msvc';
  return `quiver.${platform}-${arch}${abi}.node`;
}

function nativeUnavailable(msg) {
  if (requireNative) fail(`${msg} QUIVER_REQUIRE_NATIVE=1 requires the native addon.`);
  console.log(`${msg} Quiver will run on WASM.`);
}

function buildNativeWithNapi() {
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
  if (status !== 0) nativeUnavailable('quiver: the native addon failed to build.');
}

/** The installed package's build: plain cargo, then the library copied to the name the loader expects. */
function buildNativeWithCargo() {
  const t0 = performance.now();
  console.log('quiver: building the native addon with cargo (a few minutes; QUIVER_SKIP_NATIVE=1 skips it)');
  const manifest = join(root, 'native', 'Cargo.toml');
  // The host triple, as `napi build --platform` passes it: with a shared CARGO_TARGET_DIR the compiled
  // dependencies of a clone's build are then reused.
  const host = /^host: (\S+)$/m.exec(spawnSync('rustc', ['-vV'], { encoding: 'utf8' }).stdout ?? '')?.[1];
  const cargoArgs = ['build', '--release', '--locked', '--manifest-path', manifest, '--message-format=json-render-diagnostics'];
  if (host) cargoArgs.push('--target', host);
  const r = spawnSync('cargo', cargoArgs, {
    cwd: join(root, 'native'),
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 256 << 20,
  });
  if (r.error || r.status !== 0) return nativeUnavailable(`quiver: the native addon failed to build (cargo exit status ${r.status ?? r.error?.message}).`);
  let library;
  for (const line of r.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (msg.reason === 'compiler-artifact' && msg.target?.kind?.includes('cdylib')) {
      library = msg.filenames.find((f) => /\.(so|dylib|dll)$/.test(f));
    }
  }
  if (!library) return nativeUnavailable('quiver: cargo built no dynamic library for the native addon.');
  const out = join(root, 'native', addonName());
  copyFileSync(library, out);
  // cargo's default target directory inside the package holds hundreds of MB of intermediates nobody reuses.
  if (!process.env.CARGO_TARGET_DIR) rmSync(join(root, 'native', 'target'), { recursive: true, force: true });
  console.log(`quiver: native addon built in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${out}`);
}

function buildNative() {
  if (!existsSync(join(root, 'native', 'Cargo.toml'))) {
    if (requireNative) fail('native/Cargo.toml is missing');
    return;
  }
  if (skipNative) return nativeUnavailable('quiver: QUIVER_SKIP_NATIVE=1: the native addon is not built.');
  if (!hasCargo()) return nativeUnavailable('quiver: no Rust toolchain (cargo) found; skipping the native addon.');
  if (packaged) buildNativeWithCargo();
  else buildNativeWithNapi();
}

if (pack) {
  buildWasm();
  buildTs({ clean: true });
} else if (packaged) {
  for (const f of ['dist/index.js', 'dist/cli/main.js', 'build/quiver.simd.wasm', 'build/quiver.scalar.wasm']) {
    if (!existsSync(join(root, f))) fail(`${f} is missing from the package: it was packed without its prebuilt files (npm pack runs the prepack build)`);
  }
  if (!only || only === 'native') buildNative();
} else {
  if (!only || only === 'wasm') buildWasm();
  if (!only || only === 'ts') buildTs();
  if (!only || only === 'native') buildNative();
}
