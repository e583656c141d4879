// The bf16 top-k screen against the f32 kernel on one thread (not a unit test, not part of `npm run bench`):
// cosine topK of --queries × --base Gaussian rows, d = --cols, k = 10, each mode in fresh processes that
// alternate (QUIVER_TOPK_SCREEN=0 for the f32 kernel). Prints each call's wall and process CPU time in ms; the
// first call of a process includes its warm-up. On a CPU without AVX512_BF16 both modes run the f32 kernel.
//   node scripts/measure/topk-screen.mjs [--queries 2000] [--base 100000] [--cols 128] [--rounds 2]   (after a build)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: o } = parseArgs({
  options: {
    child: { type: 'boolean', default: false },
    queries: { type: 'string', default: '2000' },
    base: { type: 'string', default: '100000' },
    cols: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '2' },
  },
});
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (o.child) {
  const { createEngine } = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
  const { gaussianMatrix } = await import(pathToFileURL(join(root, 'bench', 'lib', 'data.mjs')).href);
  const d = Number(o.cols);
  const q = gaussianMatrix(Number(o.queries), d, 11);
  const x = gaussianMatrix(Number(o.base), d, 12);
  const e = await createEngine({ threads: 1 });
  const out = [];
  for (let i = 0; i < 4; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await e.topK(q, x, { k: 10, metric: 'cosine' });
    const c = process.cpuUsage(c0);
    out.push(`${(performance.now() - t0).toFixed(0)}/${((c.user + c.system) / 1000).toFixed(0)}`);
  }
  console.log(`${e.info().topkScreen ?? 'n/a'}: ${out.join(' ')} (wall/CPU ms)`);
  await e.close();
} else {
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const screen of ['1', '0']) {
      const args = [fileURLToPath(import.meta.url), '--child', '--queries', o.queries, '--base', o.base, '--cols', o.cols];
      const res = spawnSync(process.execPath, args, { env: { ...process.env, QUIVER_TOPK_SCREEN: screen }, encoding: 'utf8' });
      process.stdout.write(res.status === 0 ? res.stdout : `failed: ${res.stderr}\n`);
    }
  }
}
