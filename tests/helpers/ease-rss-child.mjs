// An EASE fit in a process of its own, so its peak RSS is the fit's: argv[2] is JSON { users, items,
// interactions, precision }. Warms the engine up first (pool threads, backend, a small fit), then fits with the memory
// budget set to the fit's own estimate (`easeBytes`), and prints one JSON line: { items, budget, baseline,
// peak } in bytes (baseline: the RSS just before the fit; peak: the process's maximum RSS after it).
import { createEngine, fitEase, SyntheticInteractions } from '../../dist/index.js';
import { easeBytes } from '../../dist/models/ease.js';
import { readFileSync } from 'node:fs';

// VmHWM, not resourceUsage().maxRSS: on Linux exec carries over the spawning process's high-water mark, so
// maxRSS here would start at the test runner's resident size.
function peakRss() {
  const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}

const { users, items, interactions, precision } = JSON.parse(process.argv[2]);
const engine = await createEngine({ threads: 2 });
try {
  const warm = new SyntheticInteractions({ users: 300, items: 600, interactions: 6000, seed: 2 }).toInteractions();
  (await fitEase(engine, warm)).release();
  const data = new SyntheticInteractions({ users, items, interactions, seed: 1 }).toInteractions();
  globalThis.gc?.();
  const budget = easeBytes(items, engine.info().backend, precision);
  const baseline = process.memoryUsage().rss;
  const model = await fitEase(engine, data, { memoryBudget: budget, precision });
  const peak = peakRss();
  process.stdout.write(`${JSON.stringify({ items: model.items, budget, baseline, peak })}\n`);
} finally {
  await engine.close();
}
