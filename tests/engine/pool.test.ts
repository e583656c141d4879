// The pool as a layer of its own: it runs the handlers of any module it is given, by name, and knows no
// engine task. Also the engine's own registry (every task kind the engine dispatches, one name each), the
// engine memory that models use instead of the backend, and the façade that createEngine returns.
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { TASK_KINDS, handlers } from '../../src/engine/handlers.js';
import { Pool } from '../../src/pool/pool.js';
import { Quiver, createEngine } from '../../src/quiver.js';
import { engineFactory } from '../helpers/engines.js';
import { expectCode } from '../helpers/errors.js';

const engine = engineFactory();

describe('pool', () => {
  const pool = new Pool({ threads: 1, backend: { name: 'js' }, handlers: [join(import.meta.dirname, 'fixtures', 'echo-handlers.mjs')] });
  afterAll(() => pool.close());

  it('runs a handler module’s tasks by name, on the backend it was given', async () => {
    expect(await pool.run('echo', { n: 3 })).toEqual({ backend: 'js', task: { n: 3 } });
    expect(await pool.ping()).toEqual({ backend: 'js', simd: 'f64-reference' });
  });

  it('rebuilds a worker’s error with its code and details; an unknown name is an error, not a hang', async () => {
    const err = await expectCode(pool.run('fail', { at: 7 }), 'SHAPE_MISMATCH', /failed on purpose at 7/);
    expect(err.details).toEqual({ at: 7 });
    await expectCode(pool.run('nope', null), 'INTERNAL', /no handler named "nope"/);
  });

  it.runIf(process.platform === 'linux')('runs its threads at the nice increment it was given, and leaves the main thread alone', async () => {
    const base = getPriority();
    const niced = new Pool({ threads: 1, backend: { name: 'js' }, handlers: [join(import.meta.dirname, 'fixtures', 'echo-handlers.mjs')], niceIncrement: 7 });
    try {
      expect(await niced.run('nice', null)).toBe(Math.min(19, base + 7));
      expect(await pool.run('nice', null)).toBe(base);
      expect(getPriority()).toBe(base);
    } finally {
      await niced.close();
    }
    expect(() => new Pool({ threads: 1, backend: { name: 'js' }, handlers: [], niceIncrement: 20 })).toThrow(/niceIncrement must be a whole number from 0 to 19/);
  });

  it('names a missing handler module when it is built', () => {
    expect(() => new Pool({ threads: 1, backend: { name: 'js' }, handlers: ['/nonexistent/handlers.js'] })).toThrow(/is missing/);
  });
});

describe('engine registry, memory and façade', () => {
  it('registers every task kind under its own name, with the function that also runs inline', () => {
    const names = TASK_KINDS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    // oracle: the task names the engine's ops dispatch, written out
    expect(Object.keys(handlers).sort()).toEqual(['als', 'cholesky', 'gram', 'kmeans', 'lloyd', 'logistic', 'matvec', 'multinomial', 'normalize', 'rowNorms', 'similarity', 'sparseScore', 'sparseSimilarity', 'tiles', 'topk', 'topkExcl']);
    for (const k of TASK_KINDS) expect(handlers[k.name]).toBe(k.run);
  });

  it('allocVector gives an engine buffer that a kernel writes as its output, released once', async () => {
    const e = await engine({ threads: 2, inlineWork: 0 });
    const x = { rows: 5000, cols: 3, data: Float32Array.from({ length: 15000 }, (_, i) => (i * 7919) % 13) };
    const c = { rows: 2, cols: 3, data: new Float32Array([0, 0, 0, 9, 9, 9]) };
    const want = await e.kmeansStep(x, c);
    const buf = e.allocVector(x.rows);
    expect(buf.data).toBeInstanceOf(Float64Array);
    expect(buf.length).toBe(x.rows);
    const got = await e.kmeansStep(x, c, null, { into: { labels: new Int32Array(x.rows), minDist2: buf.data } });
    expect(Array.from(buf.data)).toEqual(Array.from(want.minDist2!));
    expect(got.inertia).toBe(want.inertia);
    buf.release();
    buf.release();
    expect(buf.released).toBe(true);
    expect(() => e.allocVector(0)).toThrow(/length must be a whole number/);
  });

  it('createEngine returns the façade: an Engine with the model conveniences; the Engine class has none', async () => {
    const e = await createEngine({ threads: 1 });
    try {
      expect(e).toBeInstanceOf(Quiver);
      expect(e).toBeInstanceOf(Engine);
      for (const m of ['kmeans', 'linearRegression', 'logisticRegression', 'fitRecommender']) {
        expect(typeof (e as unknown as Record<string, unknown>)[m]).toBe('function');
        expect(m in Engine.prototype).toBe(false);
      }
      const model = await e.kmeans({ rows: 4, cols: 1, data: new Float32Array([0, 1, 10, 11]) }, { k: 2, seed: 1 });
      expect(Array.from(model.centroids.data).sort((a, b) => a - b)).toEqual([0.5, 10.5]);
    } finally {
      await e.close();
    }
  });
});
