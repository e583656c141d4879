// Python peers: each bench/python/<script>.py runs in its own subprocess with 2 BLAS/OpenMP threads, reads
// the .npy inputs this process wrote (exact same values), and prints one JSON line of timings. A missing
// python3 or module becomes a one-line skip, never a failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { venvPython } from './setup-python.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const scriptsDir = join(here, '..', 'python');
// QUIVER_BENCH_PYTHON, else the venv `setup-python` made (bench/.venv), else python3 from PATH.
const PYTHON = process.env.QUIVER_BENCH_PYTHON || (existsSync(venvPython(join(here, '..'))) ? venvPython(join(here, '..')) : 'python3');

export function pythonEnv(threads) {
  const t = String(threads);
  // SKLEARNEX_VERBOSE: scikit-learn-intelex logs, per fit, whether it ran its own code (_anchors.py checks it).
  return { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t, PYTHONDONTWRITEBYTECODE: '1', SKLEARNEX_VERBOSE: 'INFO' };
}

let probed = null;

/** `--no-python`: every peer row becomes a skip line with this reason. */
export function disablePython(reason) {
  probed = { ok: false, reason, modules: {} };
}

/** { ok, reason?, python?, modules: { numpy: version|null, ... }, threadpools? } — probed once. */
export function probePython(threads) {
  if (probed) return probed;
  const r = spawnSync(PYTHON, [join(scriptsDir, 'probe.py')], { env: pythonEnv(threads), encoding: 'utf8', timeout: 60_000 });
  if (r.error) probed = { ok: false, reason: `${PYTHON} not found (${r.error.code ?? r.error.message})`, modules: {} };
  else if (r.status !== 0) probed = { ok: false, reason: `${PYTHON} failed: ${lastLine(r.stderr)}`, modules: {} };
  else probed = { ok: true, ...JSON.parse(lastLine(r.stdout)) };
  return probed;
}

/** Reason to skip a peer that needs `modules`, or null when it can run. */
export function missingPython(threads, modules) {
  const p = probePython(threads);
  if (!p.ok) return `skipped: ${p.reason}`;
  const dist = { sklearn: 'scikit-learn', faiss: 'faiss-cpu', sklearnex: 'scikit-learn-intelex' };
  for (const m of modules) if (!p.modules[m]) return `skipped: ${dist[m] ?? m} not installed (npm run bench -- setup-python)`;
  return null;
}

function lastLine(text) {
  const lines = String(text ?? '').trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/** Runs one peer script with a JSON config; resolves to its JSON output ({ skipped } or { error } on trouble). */
export function runPeer(script, cfg, threads, timeoutMs = 30 * 60_000) {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [join(scriptsDir, script), JSON.stringify({ threads, ...cfg })], {
      env: pythonEnv(threads),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ skipped: `${PYTHON} not found (${e.code ?? e.message})` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return resolve({ error: `${script} exited ${signal ?? code}: ${lastLine(err) || lastLine(out)}` });
      try {
        resolve(JSON.parse(lastLine(out)));
      } catch {
        resolve({ error: `${script} printed no JSON: ${lastLine(out)} ${lastLine(err)}` });
      }
    });
  });
}

/** A temporary folder for .npy inputs, removed at exit. */
export class InputDir {
  constructor() {
    this.path = mkdtempSync(join(tmpdir(), 'quiver-bench-'));
    this.files = new Map();
  }
  /** Writes an array once (keyed by name) with the library's own .npy writer; returns the path. */
  write(name, encodeNpy, data, shape) {
    const existing = this.files.get(name);
    if (existing) return existing;
    const p = join(this.path, `${name}.npy`);
    writeFileSync(p, encodeNpy(data, shape));
    this.files.set(name, p);
    return p;
  }
  /** Deletes the files of names no longer needed (W4's input is 256 MB). */
  drop(...names) {
    for (const n of names) {
      const p = this.files.get(n);
      if (p) rmSync(p, { force: true });
      this.files.delete(n);
    }
  }
  dispose() {
    rmSync(this.path, { recursive: true, force: true });
  }
}
