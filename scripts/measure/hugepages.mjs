// Whether QUIVER_HUGEPAGES=1 pays on this machine (not a unit test, not part of `npm run bench`). Two bounded
// measurements, each in fresh processes, with and without the advice:
//   1. faulting in a fresh 64 MiB SharedArrayBuffer, 30 times per process, with the memory of the previous one
//      reused (gc() between buffers) and drawn fresh (no gc: the old buffers wait for the collector);
//   2. W1 from a plain array (bench/lib/call-child.mjs, the bench's `native plain` row), alternating 0 and 1.
//   node scripts/measure/hugepages.mjs [--pairs 4] [--skip-w1]
// Prints min / median / max per case and the load average: the advice is worth turning on where both the
// fresh-memory case and W1 are faster with it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const self = fileURLToPath(import.meta.url);
const root = new URL('../../', import.meta.url);

if (process.argv[2] === '--child') {
  // One process: 30 fresh 64 MiB buffers, each written once per 4 KiB page.
  const { nativeAddonPath } = await import(new URL('dist/backends/native.js', root).href);
  const addon = createRequire(import.meta.url)(nativeAddonPath());
  const advise = process.argv[3] === '1';
  const times = [];
  for (let it = 0; it < 30; it++) {
    globalThis.gc?.();
    const sab = new SharedArrayBuffer(64 << 20);
    if (advise) addon.adviseHugepages(new Uint8Array(sab));
    const f = new Float32Array(sab);
    const t0 = performance.now();
    for (let i = 0; i < f.length; i += 1024) f[i] = 1;
    times.push(performance.now() - t0);
  }
  console.log(JSON.stringify(times));
  process.exit(0);
}

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0].toFixed(1)}  median ${s[s.length >> 1].toFixed(1)}  max ${s.at(-1).toFixed(1)} ms (${s.length})`;
};
const load = () => loadavg().map((v) => v.toFixed(2)).join(' ');
const pairs = Number(arg('--pairs', '4'));

console.log(`load average ${load()}`);
for (const reuse of [true, false]) {
  const got = { 0: [], 1: [] };
  for (let p = 0; p < pairs; p++) {
    for (const adv of ['0', '1']) {
      const r = spawnSync(process.execPath, [...(reuse ? ['--expose-gc'] : []), self, '--child', adv], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      got[adv].push(...JSON.parse(r.stdout.trim()));
    }
  }
  for (const adv of ['0', '1']) console.log(`64 MiB fault-in, memory ${reuse ? 'reused ' : 'fresh  '} advice ${adv}: ${summary(got[adv])}`);
}

if (!process.argv.includes('--skip-w1')) {
  const job = { workload: 'W1', variant: 'plain', backend: 'native', threads: 2, cfg: { n: 4096, d: 256, seed: 101 }, budget: { maxTime: 3, minSamples: 5 }, runs: 2, long: false };
  const got = { 0: [], 1: [] };
  for (let p = 0; p < pairs; p++) {
    for (const adv of ['0', '1']) {
      const r = spawnSync(process.execPath, [fileURLToPath(new URL('bench/lib/call-child.mjs', root)), JSON.stringify(job)], { encoding: 'utf8', env: { ...process.env, QUIVER_HUGEPAGES: adv } });
      const out = JSON.parse(r.stdout.trim().split('\n').pop());
      if (out.error) throw new Error(out.error);
      got[adv].push(out.seconds * 1e3);
    }
  }
  for (const adv of ['0', '1']) console.log(`W1 native plain (per-process medians), QUIVER_HUGEPAGES=${adv}: ${summary(got[adv])}`);
}
console.log(`load average ${load()}`);
