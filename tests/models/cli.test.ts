// The model commands as a user runs them: a child process on the compiled dist/ (npm test builds it first).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeNpy, parseNpy } from '../../src/data/npy.js';
import { quiver } from '../helpers/cli.js';
import { blobs } from './blobs.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-models-cli-'));

const f = (name: string): string => join(dir, name);

// A small table: spend grows with visits and the gold plan; bought = yes mostly for high spenders.
const rows = Array.from({ length: 80 }, (_, i) => {
  const visits = (i * 7) % 13;
  const plan = ['basic', 'gold', 'silver'][i % 3]!;
  const spend = 10 + 3 * visits + (plan === 'gold' ? 20 : 0) + ((i * 11) % 5);
  const bought = spend + ((i * 3) % 7) > 45 ? 'yes' : 'no';
  return `c${i};${visits};"${plan}";${spend};${bought}`;
});
writeFileSync(f('train.csv'), ['id;visits;plan;spend;bought', ...rows].join('\r\n') + '\r\n');

describe('quiver kmeans | linear | logistic | predict', () => {
  it('kmeans on a .npy, labels written, predict gives the same clusters as float32', async () => {
    const { x } = blobs(11, 300, 3, 4);
    writeFileSync(f('x.npy'), encodeNpy(x.data, [300, 3]));
    const r = await quiver('kmeans', '--input', f('x.npy'), '--k', '4', '--n-init', '3', '--seed', '5', '--out', f('km.json'), '--labels', f('labels.npy'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { k: number; inertia: number; clusterSizes: number[] };
    expect(summary.k).toBe(4);
    expect(summary.clusterSizes.reduce((a, b) => a + b)).toBe(300);
    const labels = parseNpy(readFileSync(f('labels.npy')));
    expect(labels.dtype).toBe('i32');
    const p = await quiver('predict', '--model', f('km.json'), '--input', f('x.npy'), '--out', f('km-pred.npy'));
    expect(p.code).toBe(0);
    expect(p.stderr).toBe(`wrote ${f('km-pred.npy')}: 300 cluster indices\n`);
    const pred = parseNpy(readFileSync(f('km-pred.npy')));
    expect(pred.dtype).toBe('f32');
    expect(Array.from(pred.data)).toEqual(Array.from(labels.data));
  });

  it('kmeans from given centroids in a .npy', async () => {
    const { x } = blobs(12, 200, 2, 2);
    writeFileSync(f('x2.npy'), encodeNpy(x.data, [200, 2]));
    writeFileSync(f('c2.npy'), encodeNpy(x.data.slice(0, 4), [2, 2]));
    const r = await quiver('kmeans', '--input', f('x2.npy'), '--k', '2', '--init', f('c2.npy'), '--out', f('km2.json'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).converged).toBe(true);
  });

  it('kmeans on a CSV saves its table encoder; predict reads a CSV with the columns in another order', async () => {
    const r = await quiver('kmeans', '--input', f('train.csv'), '--k', '3', '--exclude', 'id,bought', '--standardize', '--out', f('kmcsv.json'), '--labels', f('kmcsv-labels.npy'));
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).columns).toEqual(['visits', 'plan=gold', 'plan=silver', 'spend']);
    const manifest = JSON.parse(readFileSync(f('kmcsv.json'), 'utf8')) as { encoder: { features: string[]; standardize: unknown } };
    expect(manifest.encoder.features).toEqual(['visits', 'plan=gold', 'plan=silver', 'spend']);
    expect(manifest.encoder.standardize).not.toBeNull();
    // The training rows with the columns reordered (and the unused ones dropped): the same clusters.
    const reordered = rows.map((line) => {
      const [, visits, plan, spend] = line.split(';');
      return `${spend},${plan},${visits}`;
    });
    writeFileSync(f('kmcsv-new.csv'), `${['spend,plan,visits', ...reordered].join('\n')}\n`);
    const p = await quiver('predict', '--model', f('kmcsv.json'), '--input', f('kmcsv-new.csv'), '--out', f('kmcsv-pred.npy'));
    expect(p.code).toBe(0);
    expect(Array.from(parseNpy(readFileSync(f('kmcsv-pred.npy'))).data)).toEqual(Array.from(parseNpy(readFileSync(f('kmcsv-labels.npy'))).data));
  });

  it('linear on a ;-separated CSV, then predict on new rows to CSV', async () => {
    const r = await quiver('linear', '--input', f('train.csv'), '--target', 'spend', '--exclude', 'id,bought', '--out', f('lin.json'));
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { r2: number; coefficients: Record<string, number> };
    expect(Object.keys(s.coefficients)).toEqual(['visits', 'plan=gold', 'plan=silver']);
    // oracle: the table was built as spend = 10 + 3·visits + 20·gold + noise in [0, 4]
    expect(s.coefficients['visits']).toBeCloseTo(3, 0);
    expect(s.coefficients['plan=gold']).toBeCloseTo(20, 0);
    writeFileSync(f('new.csv'), 'plan,visits\ngold,2\nbasic,0\n');
    const p = await quiver('predict', '--model', f('lin.json'), '--input', f('new.csv'), '--out', f('lin-pred.csv'));
    expect(p.code).toBe(0);
    expect(p.stderr).toBe(`wrote ${f('lin-pred.csv')}: 2 predictions\n`);
    const lines = readFileSync(f('lin-pred.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('prediction');
    expect(lines.length).toBe(3);
    expect(Number(lines[1]) - Number(lines[2])).toBeCloseTo(s.coefficients['plan=gold']! + 2 * s.coefficients['visits']!, 4);
  });

  it('logistic with --standardize and --class-weight balanced; predict writes probabilities', async () => {
    const r = await quiver('logistic', '--input', f('train.csv'), '--target', 'bought', '--exclude', 'id', '--standardize', '--class-weight', 'balanced', '--out', f('lr.json'));
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout) as { auc: number; positiveClass: string; converged: boolean };
    expect(s.positiveClass).toBe('yes');
    expect(s.converged).toBe(true);
    expect(s.auc).toBeGreaterThan(0.9);
    const p = await quiver('predict', '--model', f('lr.json'), '--input', f('train.csv'), '--out', f('lr-pred.npy'));
    expect(p.code).toBe(0);
    expect(p.stderr).toBe(`wrote ${f('lr-pred.npy')}: 80 probabilities\n`);
    const probs = parseNpy(readFileSync(f('lr-pred.npy')));
    expect(probs.shape).toEqual([80]);
    for (const v of probs.data) expect(v >= 0 && v <= 1).toBe(true);
  });

  it('errors: exit code 2 and a message that says what to fix', async () => {
    // Its own model, so the test also runs alone and in any order.
    const fit = await quiver('linear', '--input', f('train.csv'), '--target', 'spend', '--exclude', 'id,bought', '--out', f('err-lin.json'));
    expect(fit.code, fit.stderr).toBe(0);
    writeFileSync(f('ragged.csv'), 'a,b\n1,2\n3\n');
    writeFileSync(f('missing.csv'), 'visits\n1\n');
    const { x } = blobs(13, 10, 2, 2);
    writeFileSync(f('narrow.npy'), encodeNpy(x.data, [10, 2]));
    // Independent runs: start them together (most of a run is Node starting up).
    const [a, b, c] = await Promise.all([
      quiver('kmeans', '--input', f('ragged.csv'), '--k', '2', '--out', f('r.json')),
      quiver('predict', '--model', f('err-lin.json'), '--input', f('narrow.npy'), '--out', f('bad.npy')),
      quiver('predict', '--model', f('err-lin.json'), '--input', f('missing.csv'), '--out', f('bad.csv')),
    ]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/INVALID_ARGUMENT: .*ragged\.csv, line 3: this row has 1 field but the header has 2/);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/SHAPE_MISMATCH: the model expects 3 columns \(visits, plan=gold, plan=silver\) but the input has 2/);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/SHAPE_MISMATCH: .*missing\.csv lacks column "plan" that the model was fitted on/);
  });
});
