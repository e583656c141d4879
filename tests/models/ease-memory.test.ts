// Every memory budget is a bound on measured peak RSS: an EASE fit in a child process, with the budget set to
// the fit's own estimate (easeBytes, the smallest budget the fit accepts), must not raise the process's peak
// RSS above its RSS before the fit by more than that budget.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('../helpers/ease-rss-child.mjs', import.meta.url));

describe('EASE memory budget', () => {
  it.each(['f64', 'f32'] as const)('the peak RSS of a 3,000-item fit in %s stays within its budget', async (precision) => {
    const spec = { users: 4000, items: 3000, interactions: 120_000, precision };
    const { stdout } = await run(process.execPath, ['--expose-gc', CHILD, JSON.stringify(spec)], { env: process.env, timeout: 300_000 });
    const r = JSON.parse(stdout.trim()) as { items: number; budget: number; baseline: number; peak: number };
    expect(r.items).toBe(3000);
    // Measured: maxRSS after the fit minus the RSS before it, against the budget the fit was checked against.
    expect(r.peak - r.baseline).toBeLessThanOrEqual(r.budget);
    // The budget is no loose bound either: the one matrix (8 or 4 · items² bytes) is really touched.
    expect(r.peak - r.baseline).toBeGreaterThan((precision === 'f64' ? 8 : 4) * 3000 * 3000 * 0.9);
  }, 300_000);
});
