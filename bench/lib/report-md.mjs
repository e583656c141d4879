// The human-readable report of a suite: Markdown (machine, date, load, then per workload a table with each
// row's ratio to the best anchor) and an SVG bar chart of the same ratios, written beside the JSON as
// bench/results/<suite>-<date>.md and .svg. Pure functions of the result object, so they are unit-tested
// on a fixed one (bench/tests/report.test.mjs).
import { writeFileSync } from 'node:fs';
import { fmtRate, fmtTime } from './report.mjs';

/** Quiver's own rows: the backends, with or without a level / variant suffix. Everything else is an anchor. */
export function isEngineRow(r) {
  return /^(native|wasm|js)( |$)/.test(r.impl);
}

const measured = (r) => !r.skipped && !r.failed;

/**
 * Per workload: the fastest anchor (highest rate among the measured non-engine rows that compare, or among
 * the rows marked `reference` when there are any: the `isa` suite marks its AVX2 rows so), and every
 * measured row's rate over it. Rows in another unit, or marked not comparable, get no ratio.
 */
export function ratiosToBestAnchor(rows) {
  const out = {};
  for (const w of [...new Set(rows.map((r) => r.workload))]) {
    const inW = rows.filter((r) => r.workload === w);
    const marked = inW.some((r) => r.reference);
    const anchors = inW.filter((r) => measured(r) && (marked ? r.reference : !isEngineRow(r)) && r.comparable !== false);
    const best = anchors.reduce((b, r) => (b === null || r.rate > b.rate ? r : b), null);
    out[w] = {
      best: best?.impl ?? null,
      rows: inW.map((r) => ({
        impl: r.impl,
        row: r,
        ratio: best && measured(r) && r.unit === best.unit && r.comparable !== false ? r.rate / best.rate : null,
      })),
    };
  }
  return out;
}

function fmtMiB(b) {
  return Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(0)} MiB` : '';
}

function cell(s) {
  return String(s ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function isaOf(machine) {
  const simd = Object.entries(machine.backends ?? {})
    .map(([b, v]) => `${b}=${v.ok ? v.simd : 'unavailable'}`)
    .join(', ');
  return `${(machine.cpuFlags ?? []).join(' ')}${simd ? `; backends: ${simd}` : ''}`;
}

export function renderMarkdown(payload) {
  const m = payload.machine;
  const ratios = ratiosToBestAnchor(payload.rows);
  const lines = [
    `# Quiver bench: ${payload.suite}${payload.quick ? ' (--quick: scaled down, not comparable)' : ''}`,
    '',
    `- date: ${payload.startedAt}`,
    `- CPU: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB`,
    `- ISA: ${isaOf(m)}`,
    `- load average (1, 5, 15 min): ${m.loadAverageAtStart?.join(', ')} at start, ${payload.loadAverageAtEnd?.join(', ') ?? '?'} at end`,
    `- threads: ${payload.threads}; node ${m.node}; ${m.python?.version ? `python ${m.python.version}` : `python: ${m.python?.unavailable ?? '?'}`}`,
    `- sgemm roof: ${payload.roof?.gflops ? `${payload.roof.gflops.toFixed(0)} GFLOP/s` : `not measured (${payload.roof?.reason ?? '?'})`}`,
    '',
    'Ratio = this row\'s rate / the best anchor\'s rate (> 1: faster than the fastest non-Quiver implementation). Engine rows: `plain` = the public call on plain arrays, `shared` = input already in shared memory, `kernel` = the kernel on staged memory; a level name (avx2) = the native backend forced to that level.',
  ];
  for (const [w, { best, rows }] of Object.entries(ratios)) {
    const t = payload.targets?.[w];
    lines.push('', `## ${w}`, '');
    if (t) lines.push(t.text, '');
    lines.push(`Best anchor: ${best ?? 'none measured'}`, '');
    lines.push('| impl | time | rate | vs best anchor | peak RSS Δ | RSS per call / (in+out) | notes |', '|---|---:|---:|---:|---:|---:|---|');
    for (const { impl, row, ratio } of rows) {
      if (!measured(row)) {
        lines.push(`| ${cell(impl)} | | | | | | ${cell(row.skipped ?? `FAILED: ${row.failed}`)} |`);
        continue;
      }
      const rss = row.extra?.rssRatio;
      const notes = [row.scaled ? `SCALED ${row.scaled}` : null, ...(row.notes ?? []), `[${row.timer}]`].filter(Boolean).join('; ');
      lines.push(
        `| ${cell(impl)} | ${fmtTime(row.seconds)} | ${fmtRate(row.rate, row.unit)} | ${ratio == null ? '—' : `${ratio.toFixed(2)}×`} | ${fmtMiB(row.peakRssDelta)} | ${Number.isFinite(rss) ? `${rss.toFixed(2)}×` : ''} | ${cell(notes)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One horizontal bar per measured row with a ratio, grouped by workload; a line at 1× (the best anchor). */
export function renderSvg(payload) {
  const ratios = ratiosToBestAnchor(payload.rows);
  const bars = [];
  for (const [w, { best, rows }] of Object.entries(ratios)) {
    const withRatio = rows.filter((r) => r.ratio != null);
    if (withRatio.length) bars.push({ header: `${w} (best anchor: ${best})` });
    for (const r of withRatio) bars.push({ label: r.impl, ratio: r.ratio, engine: isEngineRow(r.row) });
  }
  const labelW = 300;
  const plotW = 420;
  const rowH = 18;
  const top = 40;
  const maxRatio = Math.max(1, ...bars.filter((b) => b.ratio != null).map((b) => b.ratio));
  const x = (v) => labelW + (v / maxRatio) * plotW;
  const height = top + bars.length * rowH + 30;
  const width = labelW + plotW + 70;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(`Quiver bench ${payload.suite}: rate / best anchor`)}</title>`,
    `<text x="8" y="16" font-size="13" font-weight="bold">${esc(`${payload.suite}: rate / best anchor (${payload.machine.cpu}, ${payload.startedAt.slice(0, 10)})`)}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * rowH;
    if (b.header) {
      parts.push(`<text x="8" y="${y + 13}" font-weight="bold">${esc(b.header)}</text>`);
      return;
    }
    const fill = b.engine ? '#2b6cb0' : '#a0aec0';
    parts.push(`<text x="${labelW - 6}" y="${y + 13}" text-anchor="end">${esc(b.label)}</text>`);
    parts.push(`<rect x="${labelW}" y="${y + 3}" width="${(x(b.ratio) - labelW).toFixed(1)}" height="${rowH - 6}" fill="${fill}"><title>${esc(`${b.label}: ${b.ratio.toFixed(2)}×`)}</title></rect>`);
    parts.push(`<text x="${(x(b.ratio) + 4).toFixed(1)}" y="${y + 13}">${b.ratio.toFixed(2)}×</text>`);
  });
  const one = x(1).toFixed(1);
  parts.push(`<line x1="${one}" y1="${top - 4}" x2="${one}" y2="${top + bars.length * rowH}" stroke="#c53030" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${one}" y="${top + bars.length * rowH + 14}" text-anchor="middle" fill="#c53030">1× best anchor</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Writes <base>.md and <base>.svg (base = the JSON file's path without .json); returns both paths. */
export function writeReport(jsonFile, payload) {
  const base = jsonFile.replace(/\.json$/, '');
  writeFileSync(`${base}.md`, renderMarkdown(payload));
  writeFileSync(`${base}.svg`, renderSvg(payload));
  return [`${base}.md`, `${base}.svg`];
}
