// The dependency tree against what package.json promises:
// - engines.node (what users need) lies inside the Node range of every runtime dependency, and devEngines (what
//   contributors need) inside the range of every package in the lock, so `npm install` never warns EBADENGINE
//   on a Node that package.json accepts;
// - package-lock.json is exactly what npm writes for package.json, so `npm install` on a clean clone leaves
//   `git status` clean. (.ci/run checks that end to end in its fresh clone.)
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

interface LockEntry {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devEngines: { runtime: { name: string; version: string } };
};
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

/** Lock entries whose engines.node range does not contain `range`, as "path@version needs X". */
function outside(range: string, entries: [string, LockEntry][]): string[] {
  const bad: string[] = [];
  for (const [path, e] of entries) {
    const need = Array.isArray(e.engines) ? undefined : e.engines?.node;
    if (path === '' || !need) continue;
    if (!semver.subset(range, need, { includePrerelease: false })) bad.push(`${path.replace(/^.*node_modules\//, '')}@${e.version} needs ${need}`);
  }
  return bad;
}

describe('dependencies and the declared Node range', () => {
  const entries = Object.entries(lock.packages);

  it('this Node is inside both declared ranges', () => {
    expect(semver.satisfies(process.version, pkg.engines.node), pkg.engines.node).toBe(true);
    expect(pkg.devEngines.runtime.name).toBe('node');
    expect(semver.satisfies(process.version, pkg.devEngines.runtime.version), pkg.devEngines.runtime.version).toBe(true);
  });

  it('every runtime dependency supports the whole of engines.node', () => {
    // A failure names the package: pin an older release that supports the range (see README, "Node versions").
    expect(outside(pkg.engines.node, entries.filter(([, e]) => !e.dev))).toEqual([]);
  });

  it('every package of the lock supports the whole of devEngines', () => {
    expect(outside(pkg.devEngines.runtime.version, entries)).toEqual([]);
  });

  it('package-lock.json is what npm install writes for package.json', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quiver-lock-'));
    for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(root, f), join(dir, f));
    await run('npm', ['install', '--package-lock-only', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: dir, timeout: 120_000 });
    const rewritten = readFileSync(join(dir, 'package-lock.json'), 'utf8');
    // On a mismatch, regenerate the lock: npm install --package-lock-only --ignore-scripts (README).
    expect(rewritten === readFileSync(join(root, 'package-lock.json'), 'utf8'), 'package-lock.json is out of date with package.json').toBe(true);
  }, 120_000);
});
