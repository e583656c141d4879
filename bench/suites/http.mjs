// Suite `http` (issue 5): the service on 127.0.0.1 under a bounded autocannon load from this process.
// Quiver runs as `quiver serve` in a child process (as users run it); the FastAPI peer serves the same
// fitted logistic model when python3 has fastapi, uvicorn and scikit-learn.
//   H1 single-row logistic scoring (JSON)        target ≥ 5,000 req/s with p99 ≤ 10 ms; ≥ 3× FastAPI
//   H2 1,000-row batch scoring (JSON)            rows/s
//   H3 1,000-row batch scoring (.npy in and out) target ≥ 1,000,000 rows/s
//   H4 top-10 similar items of a fitted recommender (when the recommender routes exist)
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { classification, toRows } from '../lib/data.mjs';
import { rootDir } from '../lib/context.mjs';
import { missingPython, pythonEnv } from '../lib/python.mjs';
import { failedRow, measuredRow, skippedRow } from '../lib/report.mjs';

const require = createRequire(import.meta.url);
const PYTHON = process.env.QUIVER_BENCH_PYTHON ?? 'python3';

export const name = 'http';

const SIZES = { full: { seconds: 10, connections: 32, fitRows: 20_000, cols: 32 }, quick: { seconds: 3, connections: 16, fitRows: 5_000, cols: 32 } };

export function targets() {
  return {
    H1: { impl: 'fastapi', text: 'single-row logistic scoring, JSON: ≥ 5,000 req/s with p99 ≤ 10 ms on 2 cores with the load generator on the same machine; ≥ 3× the FastAPI app.' },
    H2: { impl: null, text: '1,000-row batch scoring, JSON in and out: rows per second.' },
    H3: { impl: null, text: '1,000-row batch scoring, .npy in and out: ≥ 1,000,000 rows/s.' },
    H4: { impl: null, text: 'top-10 similar items of a fitted item-kNN recommender (GET), requests per second.' },
  };
}

/** Starts a child and resolves with the first stdout line matching `re`. */
function startChild(cmd, args, env, re, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what} did not start in 60 s: ${err.trim().split('\n').pop() ?? ''}`));
    }, 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before listening: ${err.trim().split('\n').pop() ?? out}`));
    });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** One bounded autocannon run (duration-limited); returns req/s, p50, p99 and error counts. */
async function load(opts) {
  const autocannon = require('autocannon');
  const r = await autocannon({ ...opts, pipelining: 1 });
  return {
    reqPerSec: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    total: r.requests.total,
  };
}

function row(workload, impl, what, res, seconds, rowsPerReq, extraNotes = []) {
  const notes = [`p50 ${res.p50} ms, p99 ${res.p99} ms`, `${res.total.toLocaleString('en-US')} requests`, ...extraNotes];
  if (res.non2xx || res.errors) notes.push(`NON-2XX ${res.non2xx}, ERRORS ${res.errors}`);
  // time column: mean seconds per request at that throughput; rate: rows (or requests) per second.
  return measuredRow({
    workload,
    impl,
    what,
    seconds: 1 / res.reqPerSec,
    work: rowsPerReq,
    unit: rowsPerReq === 1 ? 'req/s' : 'rows/s',
    timer: `autocannon, ${seconds} s`,
    notes,
    roofEligible: false,
    extra: { p50: res.p50, p99: res.p99, reqPerSec: res.reqPerSec },
  });
}

export async function run(ctx) {
  const s = SIZES[ctx.quick ? 'quick' : 'full'];
  const rows = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'quiver-bench-http-'));
  let server;
  try {
    ctx.log('starting quiver serve');
    const env = { ...process.env, QUIVER_THREADS: String(ctx.threads) };
    server = await startChild(process.execPath, [join(rootDir, 'bin', 'quiver.js'), 'serve', '--port', '0', '--data-dir', dataDir], env, /listening on (http:\/\/\S+)/, 'quiver serve');
    const url = server.match[1];
    const { x, y } = classification(s.fitRows, s.cols, 601);
    const fit = await fetch(`${url}/v1/logistic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rows: toRows(x), target: Array.from(y), l2: 1 }),
    }).then((r) => r.json());
    if (!fit.id) throw new Error(`fitting the logistic model failed: ${JSON.stringify(fit).slice(0, 200)}`);
    const one = JSON.stringify({ rows: toRows(x).slice(0, 1) });
    const batchRows = toRows(x).slice(0, 1000);
    const batch = JSON.stringify({ rows: batchRows });
    const { encodeNpy } = ctx.lib;
    const npyBody = Buffer.from(encodeNpy(x.data.slice(0, 1000 * s.cols), [1000, s.cols]));
    const common = { duration: s.seconds, connections: s.connections };
    const predictUrl = `${url}/v1/models/${fit.id}/predict`;

    ctx.log('H1 single-row JSON scoring');
    const h1 = await load({ ...common, url: predictUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body: one });
    rows.push(row('H1', 'quiver', 'POST /v1/models/:id/predict, one row, JSON', h1, s.seconds, 1, [h1.p99 <= 10 ? 'p99 ≤ 10 ms' : 'p99 ABOVE 10 ms']));

    ctx.log('H2 1,000-row JSON scoring');
    const h2 = await load({ ...common, connections: Math.min(8, s.connections), url: predictUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body: batch });
    rows.push(row('H2', 'quiver', 'POST /v1/models/:id/predict, 1,000 rows, JSON in and out', h2, s.seconds, 1000));

    ctx.log('H3 1,000-row .npy scoring');
    const h3 = await load({
      ...common,
      connections: Math.min(8, s.connections),
      url: predictUrl,
      method: 'POST',
      headers: { 'content-type': 'application/x-npy', accept: 'application/x-npy' },
      body: npyBody,
    });
    rows.push(row('H3', 'quiver', 'POST /v1/models/:id/predict, 1,000 rows, .npy in and out', h3, s.seconds, 1000));

    ctx.log('H4 similar items');
    const rec = await fetch(`${url}/v1/recommenders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ synthetic: { users: 20_000, items: 5_000, interactions: 400_000, seed: 7 }, algo: 'itemknn', neighbors: 50 }),
    });
    if (rec.status === 404) {
      rows.push(skippedRow('H4', 'quiver', 'recommender routes not available in this build'));
    } else {
      const r = await rec.json();
      if (!r.id) rows.push(failedRow('H4', 'quiver', new Error(`fitting the recommender failed: ${JSON.stringify(r).slice(0, 200)}`)));
      else {
        const h4 = await load({ ...common, url: `${url}/v1/recommenders/${r.id}/similar/1?n=10`, method: 'GET' });
        rows.push(row('H4', 'quiver', 'GET /v1/recommenders/:id/similar/:item?n=10 (item-kNN, 5,000 items)', h4, s.seconds, 1));
      }
    }

    const missing = missingPython(ctx.threads, ['numpy', 'sklearn', 'fastapi', 'uvicorn']);
    if (missing) rows.push(skippedRow('H1', 'fastapi', missing));
    else {
      ctx.log('H1 FastAPI peer');
      const model = await fetch(`${url}/v1/models/${fit.id}`).then((r) => r.json());
      const cfg = JSON.stringify({ threads: ctx.threads, coefficients: model.coefficients, intercept: model.intercept });
      let peer;
      try {
        peer = await startChild(PYTHON, [join(rootDir, 'bench', 'python', 'http_fastapi.py'), cfg], pythonEnv(ctx.threads), /"port": (\d+)/, 'the FastAPI peer');
        const peerUrl = `http://127.0.0.1:${peer.match[1]}/predict`;
        // uvicorn prints its banner after the port line: wait until it answers.
        for (let i = 0; i < 100; i++) {
          const ok = await fetch(peerUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: one }).then((r) => r.ok, () => false);
          if (ok) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const p = await load({ ...common, url: peerUrl, method: 'POST', headers: { 'content-type': 'application/json' }, body: one });
        rows.push(row('H1', 'fastapi', 'POST /predict, one row, JSON (uvicorn, 1 worker, scikit-learn predict_proba)', p, s.seconds, 1));
      } catch (e) {
        rows.push(failedRow('H1', 'fastapi', e));
      } finally {
        if (peer) await stop(peer.child);
      }
    }
  } catch (e) {
    rows.push(failedRow('H1', 'quiver', e));
  } finally {
    if (server) await stop(server.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
  return rows;
}
