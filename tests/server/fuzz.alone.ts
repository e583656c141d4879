// The contract fuzz run: schemathesis (PyPI, pinned below) against a live server on 127.0.0.1, with a fixed seed
// and a bounded number of cases per operation. Zero failures of the checks named in CHECKS are required. The
// hooks (fuzz/hooks.py) keep positive cases within the cross-field rules JSON Schema cannot state, and
// fuzz/schemathesis.toml says which refusals of a schema-valid request are legitimate (404, 422).
// Needs python3 (with venv); without it the test is skipped with one line. The virtual environment lives in
// .venv-fuzz at the repository root (git-ignored) and is made on the first run (about 30 s, needs the network).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Quiver } from '../../src/quiver.js';
import { buildApp } from '../../src/server/app.js';
import type { FastifyInstance } from 'fastify';

const SCHEMATHESIS = '4.32.5';
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'positive_data_acceptance',
];
const MAX_EXAMPLES = Number(process.env['QUIVER_FUZZ_EXAMPLES'] ?? 40);
const SEED = Number(process.env['QUIVER_FUZZ_SEED'] ?? 42);

const root = join(import.meta.dirname, '..', '..');
const here = join(import.meta.dirname, 'fuzz');
const venv = join(root, '.venv-fuzz');
const st = join(venv, 'bin', 'schemathesis');

const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = !python.error && python.status === 0;
if (!hasPython) console.log('fuzz: skipped: python3 is not installed, so schemathesis cannot run');

/** Makes .venv-fuzz with the pinned schemathesis unless it is there already. */
function ensureSchemathesis(): void {
  const have = existsSync(st) ? spawnSync(st, ['--version'], { encoding: 'utf8' }).stdout : '';
  if (have.includes(SCHEMATHESIS)) return;
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `schemathesis==${SCHEMATHESIS}`]],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`fuzz: ${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  }
}

/** Runs a command without blocking this process's event loop (the server under test lives in it). */
function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe.skipIf(!hasPython)('contract fuzz (schemathesis)', () => {
  let engine: Quiver;
  let app: FastifyInstance;
  let url: string;

  beforeAll(async () => {
    ensureSchemathesis();
    engine = await createEngine({ threads: 1 });
    // Small limits keep every schema-valid request quick (the schema states them, so the fuzzer keeps to them).
    app = await buildApp({
      engine,
      dataDir: mkdtempSync(join(tmpdir(), 'quiver-fuzz-')),
      maxActive: 2,
      maxQueued: 64,
      limits: { maxRows: 1000, maxCells: 20_000, maxK: 100, maxSimilarityCells: 250_000, requestTimeoutMs: 30_000 },
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
    await engine?.close();
  });

  it(`finds no failure in ${MAX_EXAMPLES} cases per operation (seed ${SEED})`, async () => {
    const args = [
      '--config-file',
      join(here, 'schemathesis.toml'),
      'run',
      `${url}/docs/json`,
      '--checks',
      CHECKS.join(','),
      '--max-examples',
      String(MAX_EXAMPLES),
      '--seed',
      String(SEED),
      '--workers',
      '1',
      '--no-color',
      '--generation-database',
      'none',
    ];
    const env = { ...process.env, PYTHONPATH: here, SCHEMATHESIS_HOOKS: 'hooks', QUIVER_FUZZ_URL: url };
    // Its working directory is a scratch one: schemathesis may leave reports and caches there.
    const r = await run(st, args, { cwd: mkdtempSync(join(tmpdir(), 'quiver-fuzz-run-')), env });
    const summary = /(\d+) generated, (.*)$/m.exec(r.out);
    console.log(`fuzz: schemathesis ${SCHEMATHESIS}, seed ${SEED}, --max-examples ${MAX_EXAMPLES}: ${summary?.[0] ?? 'no summary line'}`);
    if (r.code !== 0) console.log(r.out);
    expect(r.code, 'schemathesis reported failures or errors (its report is above)').toBe(0);
    expect(Number(summary?.[1])).toBeGreaterThan(0);
  });
});
