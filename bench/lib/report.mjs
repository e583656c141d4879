// Rows, ratios, the printed table and the JSON file.
//
// A row's `rate` is work per second in the workload's unit (GFLOP/s, rows/s), so a scaled-down row (marked
// `scaled`) still compares: "vs target" is this row's rate over the target peer's rate (> 1 means faster
// than the target). For rows at the full size that is exactly target time / this time.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function fmtTime(s) {
  if (!Number.isFinite(s)) return '—';
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(s >= 0.1 ? 0 : 1)} ms`;
  return `${(s * 1e6).toFixed(0)} µs`;
}

export function fmtRate(value, unit) {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'rows/s') {
    if (value >= 1e9) return `${(value / 1e9).toFixed(2)} G rows/s`;
    if (value >= 1e6) return `${(value / 1e6).toFixed(1)} M rows/s`;
    if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k rows/s`;
    return `${value.toFixed(0)} rows/s`;
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${unit}`;
}

function fmtBytes(b) {
  if (!Number.isFinite(b)) return '';
  return `${(b / 2 ** 20).toFixed(0)} MiB`;
}

export function fmtCount(n) {
  return n.toLocaleString('en-US');
}

/**
 * A measured row. `work` is in the rate's unit times seconds (FLOP for GFLOP/s, rows for rows/s);
 * `seconds` is what the time column shows (per call, per iteration or per fit, as `timeLabel` says).
 */
export function measuredRow({ workload, impl, what, seconds, work, unit, timer, scaled = null, notes = [], peakRssDelta, check, roofEligible = true, comparable = true, extra }) {
  const rate = unit === 'GFLOP/s' ? work / seconds / 1e9 : work / seconds;
  return { workload, impl, what, seconds, rate, unit, timer, scaled, notes, peakRssDelta, check, roofEligible, comparable, extra };
}

export function skippedRow(workload, impl, reason) {
  return { workload, impl, skipped: reason.startsWith('skipped:') ? reason : `skipped: ${reason}` };
}

export function failedRow(workload, impl, err) {
  const msg = err instanceof Error ? `${err.code ? `${err.code}: ` : ''}${err.message}` : String(err);
  return { workload, impl, failed: msg.split('\n')[0] };
}

/** Fills vsTarget and roofFraction on every measured row. targets: { W1: 'impl name', ... }. */
export function finishRows(rows, targets, roofGflops) {
  for (const r of rows) {
    if (r.skipped || r.failed) continue;
    const t = rows.find((x) => x.workload === r.workload && x.impl === targets[r.workload]?.impl && !x.skipped && !x.failed);
    r.vsTarget = t && t.unit === r.unit && r.comparable !== false ? r.rate / t.rate : null;
    r.roofFraction = r.unit === 'GFLOP/s' && r.roofEligible && roofGflops ? r.rate / roofGflops : null;
  }
  return rows;
}

/** Adds "<ratio>× <other> (target …)" to `impl`'s note: the issue's second targets (wasm vs native, native vs numpy f32). */
export function noteRatio(rows, workload, impl, otherImpl, goal) {
  const r = rows.find((x) => x.workload === workload && x.impl === impl && !x.skipped && !x.failed);
  const o = rows.find((x) => x.workload === workload && x.impl === otherImpl && !x.skipped && !x.failed);
  if (!r || !o || r.unit !== o.unit) return;
  const ratio = r.rate / o.rate;
  r.extraRatios = { ...r.extraRatios, [otherImpl]: ratio };
  r.notes.push(`${ratio.toFixed(2)}× ${otherImpl} (target ${goal})`);
}

export function printTable(title, rows, targets, out = process.stdout) {
  const header = ['workload', 'impl', 'time', 'rate', 'vs target', 'roof', 'peak RSS Δ', 'notes'];
  const body = rows.map((r) => {
    if (r.skipped || r.failed) return [r.workload, r.impl, '', '', '', '', '', r.skipped ?? `FAILED: ${r.failed}`];
    const notes = [r.scaled ? `SCALED ${r.scaled}` : null, ...r.notes, `[${r.timer}]`].filter(Boolean).join('; ');
    return [
      r.workload,
      r.impl,
      fmtTime(r.seconds),
      fmtRate(r.rate, r.unit),
      r.vsTarget == null ? '—' : `${r.vsTarget.toFixed(2)}×`,
      r.roofFraction == null ? '' : `${(r.roofFraction * 100).toFixed(0)}%`,
      fmtBytes(r.peakRssDelta),
      notes,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (i === header.length - 1 ? 0 : String(row[i]).length))));
  const line = (cells) => cells.map((c, i) => (i === cells.length - 1 ? String(c) : String(c).padEnd(widths[i]))).join('  ').trimEnd();
  out.write(`\n${title}\n`);
  out.write(`${line(header)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const row of body) out.write(`${line(row)}\n`);
  for (const [w, t] of Object.entries(targets)) {
    out.write(`  ${w} target: ${t.text}\n`);
    // What each row timed, once per distinct description.
    const seen = new Map();
    for (const r of rows) if (r.workload === w && r.what) seen.set(r.what, [...(seen.get(r.what) ?? []), r.impl]);
    for (const [what, impls] of seen) out.write(`     ${impls.join(', ')}: ${what}\n`);
  }
}

export function writeJson(dir, suite, payload) {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date(payload.startedAt).toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const file = join(dir, `${suite}-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify(payload, null, 2)}\n`);
  return file;
}
