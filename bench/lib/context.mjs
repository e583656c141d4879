// What every suite gets: the compiled library, engine helpers that turn "cannot load" into a skip line,
// machine facts, the sgemm roof, and the size/budget tables for full and --quick runs.
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { probePython, runPeer, missingPython } from './python.mjs';

export const benchDir = join(dirname(fileURLToPath(import.meta.url)), '..');
export const rootDir = join(benchDir, '..');
export const BACKENDS = ['native', 'wasm', 'js'];

export async function loadLibrary() {
  // QUIVER_BENCH_DIST: another compiled copy of src/ (to try a build without touching dist/).
  const entry = process.env.QUIVER_BENCH_DIST ? join(process.env.QUIVER_BENCH_DIST, 'index.js') : join(rootDir, 'dist', 'index.js');
  try {
    return await import(pathToFileURL(entry).href);
  } catch (e) {
    throw new Error(`cannot import the compiled library (${entry}): ${e.message}. Run \`npm install\` (or \`npm run build\`) first.`);
  }
}

function reasonOf(e) {
  return e?.details?.cause?.message ?? e?.message ?? String(e);
}

/**
 * Opens an engine on one backend with `threads` workers. A backend that cannot load gives the skip line for
 * its rows; one that loads but fails its first call throws (the rows then say FAILED, with the reason).
 */
export async function openEngine(lib, backend, threads) {
  let engine;
  try {
    engine = await lib.createEngine({ backend, threads });
  } catch (e) {
    return { skipped: `skipped: ${backend} backend unavailable (${reasonOf(e)})` };
  }
  try {
    // Start the workers and load the backend in each (a small call above the inline threshold), so no
    // timed call pays for pool start-up.
    const warm = { rows: 256, cols: 128, data: new Float32Array(256 * 128).map((_, i) => ((i * 7919) % 13) - 6) };
    await engine.cosineSimilarity(warm);
  } catch (e) {
    await engine.close().catch(() => {});
    const err = new Error(`the ${backend} backend loaded but its warm-up call failed: ${reasonOf(e)}`);
    err.code = e?.code;
    throw err;
  }
  return { engine };
}

/** Runs fn(engine) on an engine that is always closed afterwards. */
export async function withEngine(lib, backend, threads, fn) {
  const { engine, skipped } = await openEngine(lib, backend, threads);
  if (!engine) return { skipped };
  try {
    return { value: await fn(engine) };
  } finally {
    await engine.close();
  }
}

let cpuinfoText = null;
/** /proc/cpuinfo's text, read once ('' where there is none). */
function readCpuinfo() {
  if (cpuinfoText === null) {
    try {
      cpuinfoText = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      cpuinfoText = '';
    }
  }
  return cpuinfoText;
}

/** The first value of a /proc/cpuinfo field in `text` (its first CPU's), trimmed; undefined when absent. */
function cpuinfoField(text, name) {
  return new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
}

/** The feature flags a cpuinfo text lists. */
function flagsOf(text) {
  return new Set(cpuinfoField(text, 'flags')?.split(/\s+/) ?? []);
}

let allFlags = null;
/** Every feature flag this CPU lists in /proc/cpuinfo (empty where there is none). */
export function cpuFlagSet() {
  allFlags ??= flagsOf(readCpuinfo());
  return allFlags;
}

/**
 * The CPU's model name with its vendor family and model, and the core design where the family tells it, for
 * example "AMD EPYC (family 26, model 2: Zen 5)". Cloud VMs often show a bare "AMD EPYC", and Zen 4 and Zen 5
 * differ where this bench looks (Zen 5 runs 512-bit FMAs at full width, Zen 4 as two halves), so every report
 * names which it ran on.
 */
export function cpuName(cpuinfo = readCpuinfo()) {
  const model = cpuinfoField(cpuinfo, 'model name') ?? os.cpus()[0]?.model ?? 'unknown';
  const family = Number(cpuinfoField(cpuinfo, 'cpu family') || Number.NaN);
  const number = Number(cpuinfoField(cpuinfo, 'model') || Number.NaN);
  if (!Number.isInteger(family) || !Number.isInteger(number)) return model;
  let design = '';
  if (cpuinfoField(cpuinfo, 'vendor_id') === 'AuthenticAMD') {
    // Family 19h is Zen 3 (no AVX-512) and Zen 4 (AVX-512); 1Ah is Zen 5; 17h is Zen and Zen 2.
    if (family === 0x1a) design = 'Zen 5';
    else if (family === 0x19) design = flagsOf(cpuinfo).has('avx512f') ? 'Zen 4' : 'Zen 3';
    else if (family === 0x17) design = 'Zen or Zen 2';
  }
  return `${model} (family ${family}, model ${number}${design ? `: ${design}` : ''})`;
}

/** The flags the reports name. */
function cpuFlags() {
  return ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512bw', 'avx512vl', 'avx512_vnni', 'avx512_bf16'].filter((f) => cpuFlagSet().has(f));
}

/** CPU, cores, memory, Node, every backend's load result and SIMD level, and the Python peers' versions. */
export async function machineFacts(lib, threads) {
  const backends = {};
  for (const b of BACKENDS) {
    try {
      const e = await lib.createEngine({ backend: b, threads });
      const info = e.info();
      // The bf16 top-k screen shows beside the level ('avx512+bf16'), so every report says which kernel ran.
      backends[b] = { ok: true, simd: info.topkScreen === 'bf16' ? `${info.simd}+bf16` : info.simd, versions: info.versions };
      await e.close();
    } catch (e) {
      backends[b] = { ok: false, reason: reasonOf(e) };
    }
  }
  const py = probePython(threads);
  return {
    cpu: cpuName(),
    cpuFlags: cpuFlags(),
    cores: os.availableParallelism(),
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    node: process.versions.node,
    loadAverageAtStart: os.loadavg().map((v) => +v.toFixed(2)),
    threads,
    backends,
    python: py.ok ? { version: py.python, modules: py.modules, threadpools: py.threadpools } : { unavailable: py.reason },
  };
}

/** numpy float32 n³ matmul on `threads` threads, best of a few runs; null (with the reason) without numpy. */
export async function measureRoof(threads, quick) {
  const missing = missingPython(threads, ['numpy']);
  if (missing) return { gflops: null, reason: missing };
  const n = quick ? 2048 : 4096;
  const r = await runPeer('roof.py', { n, runs: quick ? 3 : 5 }, threads);
  if (r.skipped || r.error) return { gflops: null, reason: r.skipped ?? r.error };
  return { gflops: r.gflops, n, seconds: r.seconds, times: r.times, timer: r.timer };
}

export function describeMachine(m, roof) {
  const be = BACKENDS.map((b) => (m.backends[b].ok ? `${b}=${m.backends[b].simd}` : `${b}=unavailable`)).join(' ');
  const py = m.python.unavailable
    ? `python: ${m.python.unavailable}`
    : `python ${m.python.version}: ${Object.entries(m.python.modules)
        .map(([k, v]) => `${k} ${v ?? 'missing'}`)
        .join(', ')}`;
  const roofText = roof.gflops
    ? `sgemm roof ${roof.gflops.toFixed(0)} GFLOP/s (numpy f32 ${roof.n}³ matmul, ${threads(m)} threads, ${roof.timer})`
    : `sgemm roof not measured (${roof.reason})`;
  const lines = [`machine: ${m.cpu}, ${m.cores} cores (${m.cpuFlags.join(' ')}), ${m.memoryGiB} GiB, node ${m.node}`, `backends: ${be}; engine threads ${m.threads}`, py, roofText];
  // Other work on the machine skews every row (BLAS threads that spin-wait suffer most): say so up front.
  const load1 = m.loadAverageAtStart[0];
  if (load1 > m.cores * 0.5) lines.push(`WARNING: load average ${load1} on ${m.cores} cores when the run started: other work is running, numbers are not reliable`);
  return lines;
}

function threads(m) {
  return m.threads;
}

/**
 * This process's peak resident size, in bytes. On Linux, VmHWM of /proc/self/status: `resourceUsage().maxRSS`
 * (ru_maxrss) is not the process's own there, because exec carries over the high-water mark of the process
 * that spawned it, so a child of a suite holding W4's 256 MB matrix started with at least that much.
 */
export function peakRssBytes() {
  // (see resetPeakRss)
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Resets the peak that `peakRssBytes` reads to the resident size now (Linux: `5` written to
 * /proc/self/clear_refs; elsewhere nothing). The children call it after building their inputs, so the peak
 * they report is the call's (inputs resident, copies, outputs, scratch) and not the JavaScript garbage of
 * generating the inputs; the Python peers do the same before their first call.
 */
export function resetPeakRss() {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}
