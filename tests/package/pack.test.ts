// The package as a user gets it: `npm pack`, then `npm install ./quiver-0.1.0.tgz` in an empty directory, then the
// CLI through npx and the library through an ESM import. Without cargo it must install and run on WASM; with cargo
// (QUIVER_PACK_NATIVE=1, slow: it compiles the addon) the install must build the native addon.
// The tree is packed as it is built (npm test compiles dist/ first): --ignore-scripts leaves out the prepack
// build, which would rebuild dist/ under the other test files' workers.
// Dependencies come from npm's cache when it has them (--prefer-offline).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
// Only the first npm test pass: the forced-backend passes would pack and install the same thing again.
const pass = process.env['QUIVER_TEST_PASS'];
const firstPass = pass === undefined || pass === '0';
const withCargo = process.env['QUIVER_PACK_NATIVE'] === '1';
if (!firstPass) console.warn(`package: skipped in test pass ${pass} (runs in pass 0 only)`);
else if (!withCargo) console.warn('package: the install with cargo is skipped (QUIVER_PACK_NATIVE=1 runs it; .ci/run sets it where cargo exists)');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function sh(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeout?: number }): Promise<Result> {
  try {
    const r = await run(cmd, args, { ...opts, maxBuffer: 64 << 20, timeout: opts.timeout ?? 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number | string; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? `${err.code}` };
  }
}

const RUST_TOOLS = /^(cargo|rustc|rustup)(\.exe)?$/;

/**
 * PATH without the Rust toolchain: a directory holding cargo is replaced by a directory of links to everything
 * else in it, so a cargo in /usr/bin does not take sh and node away with it.
 */
function pathWithoutCargo(scratch: string): string {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  return dirs
    .map((d, i) => {
      let entries: string[];
      try {
        entries = readdirSync(d);
      } catch {
        return d;
      }
      if (!entries.some((f) => RUST_TOOLS.test(f))) return d;
      const farm = join(scratch, `path${i}`);
      mkdirSync(farm, { recursive: true });
      for (const f of entries) if (!RUST_TOOLS.test(f)) symlinkSync(join(d, f), join(farm, f));
      return farm;
    })
    .join(delimiter);
}

/** The environment of a user's shell: none of the test run's backend switches. */
function userEnv(path: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path, QUIVER_THREADS: '2' };
  for (const k of ['QUIVER_BACKEND', 'QUIVER_REQUIRE_NATIVE', 'QUIVER_TEST_PASS', 'QUIVER_NATIVE_PATH', 'VITEST', 'NODE_OPTIONS']) delete env[k];
  return env;
}

/** An empty project that allows the package's install script (npm 11 blocks dependency scripts by default). */
function emptyProject(dir: string, tarball: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module', allowScripts: { [`file:${tarball}`]: true } }, null, 2)}\n`);
  // Cosine of (3, 4) and (4, 3) is 24/25 = 0.96 (by hand).
  writeFileSync(
    join(dir, 'use.mjs'),
    [
      "import { createEngine } from 'quiver';",
      'const e = await createEngine({ threads: 1 });',
      'const s = await e.cosineSimilarity({ rows: 2, cols: 2, data: new Float32Array([3, 4, 4, 3]) });',
      'console.log(JSON.stringify({ backend: e.info().backend, sims: Array.from(s.data) }));',
      'await e.close();',
      '',
    ].join('\n'),
  );
}

async function install(dir: string, tarball: string, env: NodeJS.ProcessEnv): Promise<Result & { seconds: number }> {
  const t0 = performance.now();
  const r = await sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: dir, env, timeout: 900_000 });
  return { ...r, seconds: (performance.now() - t0) / 1000 };
}

async function expectWorkingInstall(dir: string, env: NodeJS.ProcessEnv, backend: 'wasm' | 'native'): Promise<void> {
  const info = await sh('npx', ['--no', 'quiver', 'info'], { cwd: dir, env });
  expect(info.code, info.stderr).toBe(0);
  const parsed = JSON.parse(info.stdout) as { backend: string; attempts: { backend: string; ok: boolean }[] };
  expect(parsed.backend).toBe(backend);
  const used = await sh(process.execPath, ['use.mjs'], { cwd: dir, env });
  expect(used.code, used.stderr).toBe(0);
  const out = JSON.parse(used.stdout) as { backend: string; sims: number[] };
  expect(out.backend).toBe(backend);
  // float32 kernels: within a few ulps of the exact values.
  const expected = [1, 0.96, 0.96, 1];
  expect(out.sims).toHaveLength(4);
  for (const [i, v] of out.sims.entries()) expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-6);
  // The CLI's error style holds in the installed package too.
  const bad = await sh('npx', ['--no', 'quiver', 'info', '--bogus'], { cwd: dir, env });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toBe("quiver: INVALID_ARGUMENT: unknown option '--bogus' (quiver info --help lists its options)\n");
}

describe.runIf(firstPass)('the npm package', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'quiver-pack-'));
  let tarball = '';
  let files: string[] = [];

  beforeAll(async () => {
    const r = await sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], { cwd: root, env: process.env });
    expect(r.code, r.stderr).toBe(0);
    const [meta] = JSON.parse(r.stdout) as { filename: string; size: number; files: { path: string }[] }[];
    if (!meta) throw new Error('npm pack printed no package');
    tarball = join(scratch, meta.filename);
    files = meta.files.map((f) => f.path);
    process.stdout.write(`npm pack: ${meta.filename}, ${(meta.size / 1024).toFixed(0)} KiB, ${files.length} files\n`);
  }, 120_000);

  it('ships the prebuilt JS and WASM, the Rust sources, the install script and the demo data; no sources or tests', () => {
    for (const f of [
      'bin/quiver.js',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/pool/worker.js',
      'dist/pool/worker-entry.cjs',
      'build/quiver.simd.wasm',
      'build/quiver.scalar.wasm',
      'native/Cargo.toml',
      'native/Cargo.lock',
      'native/build.rs',
      'native/src/lib.rs',
      'native/index.d.ts',
      'scripts/build.mjs',
      'data/bank.csv',
    ]) {
      expect(files, f).toContain(f);
    }
    const unwanted = files.filter((f) => /^(src|tests|assembly|bench|node_modules)\/|\.map$|\.node$|^native\/target\//.test(f));
    expect(unwanted).toEqual([]);
  });

  it('installs in an empty directory without a Rust toolchain and runs on WASM', async () => {
    const dir = join(scratch, 'no-cargo');
    emptyProject(dir, tarball);
    const env = userEnv(pathWithoutCargo(scratch));
    const which = await sh('sh', ['-c', 'command -v cargo || echo none'], { cwd: dir, env });
    expect(which.stdout.trim()).toBe('none');
    const r = await install(dir, tarball, env);
    process.stdout.write(`npm install (no cargo): ${r.seconds.toFixed(1)} s\n`);
    expect(r.code, r.stderr).toBe(0);
    // The install script ran, found no cargo, and let the install succeed.
    expect(r.stdout).toContain('quiver: no Rust toolchain (cargo) found; skipping the native addon. Quiver will run on WASM.');
    expect(`${r.stdout}${r.stderr}`).not.toContain('EBADENGINE');
    expect(existsSync(join(dir, 'node_modules', 'quiver', 'data', 'bank.csv'))).toBe(true);
    await expectWorkingInstall(dir, env, 'wasm');
  }, 300_000);

  it.runIf(withCargo)('with cargo on the PATH the install builds the native addon (QUIVER_PACK_NATIVE=1)', async () => {
    const dir = join(scratch, 'with-cargo');
    emptyProject(dir, tarball);
    // The clone's target directory: its compiled dependencies are reused, only the addon itself is compiled.
    const env = { ...userEnv(process.env['PATH'] ?? ''), CARGO_TARGET_DIR: process.env['CARGO_TARGET_DIR'] ?? join(root, 'native', 'target') };
    const r = await install(dir, tarball, env);
    process.stdout.write(`npm install (with cargo): ${r.seconds.toFixed(1)} s\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/quiver: native addon built in \d+ s: .*quiver\.[\w-]+\.node/);
    await expectWorkingInstall(dir, env, 'native');
  }, 900_000);
});
