#!/usr/bin/env node
// Quiver benchmark harness: `npm run bench -- <similarity|models|isa|http|recommend|distributed|all ...> [options]`.
//
// Runs the workloads of issues 2 and 3 side by side on the COMPILED library (dist/index.js) and its peers,
// prints one table per suite and writes bench/results/<suite>-<ISO date>.json with the machine's facts.
//
// `npm run bench -- setup-python` creates bench/.venv with every Python peer and anchor (requirements in
// bench/python/) and exits; the harness uses that interpreter from then on.
//
// Options:
//   --quick         every workload scaled down (validation runs; numbers are not comparable to the targets)
//   --runs N        timed runs for long workloads (W2, W3, ml-* incumbents); default 2
//   --threads N     threads for the engine and every peer; default 2 (the targets are stated for 2)
//   --only W1,W3    run only these workloads
//   --impl a,b      run only rows whose implementation name contains one of these (native, wasm, js, numpy,
//                   faiss, sklearn, ml-)
//   --no-python     skip every Python peer (and the sgemm roof)
//   --out DIR       where the JSON goes (default bench/results)
// QUIVER_BENCH_QUICK=1 is the same as --quick; QUIVER_BENCH_PYTHON picks the interpreter (default python3);
// QUIVER_BENCH_DIST points at another compiled copy of src/ instead of dist/.
import { join } from 'node:path';
import { benchDir, describeMachine, loadLibrary, machineFacts, measureRoof } from './lib/context.mjs';
import { InputDir, disablePython } from './lib/python.mjs';
import { setupPython } from './lib/setup-python.mjs';
import { writeReport } from './lib/report-md.mjs';
import { finishRows, printTable, writeJson } from './lib/report.mjs';
import * as distributed from './suites/distributed.mjs';
import * as http from './suites/http.mjs';
import * as isa from './suites/isa.mjs';
import * as models from './suites/models.mjs';
import * as recommend from './suites/recommend.mjs';
import * as similarity from './suites/similarity.mjs';

const SUITES = { similarity, models, isa, http, recommend, distributed };

function usage(msg) {
  if (msg) console.error(`bench: ${msg}`);
  console.error('usage: npm run bench -- setup-python | <similarity|models|isa|http|recommend|distributed|all ...> [--quick] [--runs N] [--threads N] [--only W1,W2] [--impl native,numpy] [--no-python] [--out DIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { suites: [], quick: process.env.QUIVER_BENCH_QUICK === '1', runs: 2, threads: 2, only: null, impl: null, python: true, out: join(benchDir, 'results') };
  const value = (i, flag) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) usage(`${flag} needs a value`);
    return v;
  };
  const positiveInt = (v, flag) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) usage(`${flag} must be a positive integer (got ${v})`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') opts.quick = true;
    else if (a === '--no-python') opts.python = false;
    else if (a === '--runs') opts.runs = positiveInt(value(i++, a), a);
    else if (a === '--threads') opts.threads = positiveInt(value(i++, a), a);
    else if (a === '--only') opts.only = value(i++, a).toUpperCase().split(',').filter(Boolean);
    else if (a === '--impl') opts.impl = value(i++, a).toLowerCase().split(',').filter(Boolean);
    else if (a === '--out') opts.out = value(i++, a);
    else if (a === '--help' || a === '-h') usage();
    else if (a === 'all') opts.suites.push(...Object.keys(SUITES));
    else if (a in SUITES) opts.suites.push(a);
    else usage(`unknown suite or option "${a}" (suites: ${Object.keys(SUITES).join(', ')}, all)`);
  }
  if (opts.suites.length === 0) usage('name a suite');
  opts.suites = [...new Set(opts.suites)];
  return opts;
}

if (process.argv[2] === 'setup-python') process.exit(setupPython(benchDir));
const opts = parseArgs(process.argv.slice(2));
if (!opts.python) disablePython('--no-python');
const inputs = new InputDir();
const cleanup = () => inputs.dispose();
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const log = (msg) => process.stderr.write(`  · ${msg}\n`);
const lib = await loadLibrary();
const startedAt = new Date().toISOString();
log('machine facts and backends');
const machine = await machineFacts(lib, opts.threads);
log('sgemm roof (numpy)');
const roof = await measureRoof(opts.threads, opts.quick);
const header = describeMachine(machine, roof);
console.log(`Quiver benchmarks${opts.quick ? ' (--quick: every workload scaled down; smoke test only, not comparable to the targets)' : ''}`);
for (const line of header) console.log(line);

const ctx = {
  lib,
  threads: opts.threads,
  quick: opts.quick,
  longRuns: opts.runs,
  // benchmark.js for short repeated operations; the Python peers use the same budget with perf_counter.
  budget: opts.quick ? { maxTime: 0.5, minSamples: 3 } : { maxTime: 3, minSamples: 5 },
  pyBudget: opts.quick ? { minRuns: 3, maxTime: 0.5, warmup: 1 } : { minRuns: 5, maxTime: 3, warmup: 1 },
  inputs,
  log,
  wantWorkload: (w) => !opts.only || opts.only.includes(w),
  wantImpl: (impl) => !opts.impl || opts.impl.some((f) => impl.toLowerCase().includes(f)),
};

for (const name of opts.suites) {
  const suite = SUITES[name];
  const t0 = Date.now();
  const rows = await suite.run(ctx);
  // Only the workloads that produced rows (--only may have left some out).
  const targets = Object.fromEntries(Object.entries(suite.targets(ctx)).filter(([w]) => rows.some((r) => r.workload === w)));
  finishRows(rows, targets, roof.gflops);
  printTable(`suite ${name}${opts.quick ? ' (--quick)' : ''}: ${((Date.now() - t0) / 1000).toFixed(0)} s`, rows, targets);
  const payload = {
    suite: name,
    startedAt,
    quick: opts.quick,
    threads: opts.threads,
    machine,
    roof,
    targets,
    rows,
    loadAverageAtEnd: (await import('node:os')).loadavg().map((v) => +v.toFixed(2)),
    note: 'vsTarget = this row\'s rate / the target peer\'s rate (> 1: faster); rates are work per second, so scaled rows compare.',
  };
  const file = writeJson(opts.out, name, payload);
  const [md, svg] = writeReport(file, payload);
  console.log(`  results: ${file}\n  report:  ${md}\n  chart:   ${svg}`);
}
