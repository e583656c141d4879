/**
 * Lift and cumulative gain by decile for a binary propensity model.
 *
 * Rows are ranked by predicted probability, highest first; equal probabilities keep their input order (a stable
 * sort), so a run of ties that straddles a boundary is split between two deciles in input order. Row r (0-based
 * rank) of n falls in bin ⌊bins·r / n⌋ + 1, so the bins hold ⌊n/bins⌋ or ⌈n/bins⌉ rows. Per bin: its rows and
 * positives, the response rate, the lift (rate / overall rate), and cumulatively from the top: rows, positives,
 * gain (share of all positives captured) and lift.
 */
import { QuiverError } from '../errors.js';

export interface LiftRow {
  /** 1 = the highest-scored tenth. */
  decile: number;
  rows: number;
  positives: number;
  minScore: number;
  maxScore: number;
  rate: number;
  lift: number;
  cumulativeRows: number;
  cumulativePositives: number;
  /** Share of all positives in this bin and the ones above it. */
  cumulativeGain: number;
  cumulativeLift: number;
}

export interface LiftTable {
  rows: number;
  positives: number;
  baseRate: number;
  deciles: LiftRow[];
}

/** The lift table of 0/1 targets y under scores p (see the file header for ranks, ties and bins). */
export function liftTable(y: ArrayLike<number>, p: ArrayLike<number>, bins = 10): LiftTable {
  const n = y.length;
  if (p.length !== n) throw new QuiverError('SHAPE_MISMATCH', `lift: ${n} targets but ${p.length} scores`);
  if (!Number.isInteger(bins) || bins < 1) throw new QuiverError('INVALID_ARGUMENT', `lift: bins must be a whole number ≥ 1 (got ${bins})`);
  if (n < bins) throw new QuiverError('INVALID_ARGUMENT', `lift by ${bins} bins needs at least ${bins} rows (got ${n})`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new QuiverError('INVALID_ARGUMENT', `lift needs 0/1 targets (row ${i} has ${v})`, { row: i });
    if (Number.isNaN(p[i]!)) throw new QuiverError('NON_FINITE', `lift: the score of row ${i} is NaN`, { row: i });
    total += v;
  }
  if (total === 0) throw new QuiverError('INVALID_ARGUMENT', 'lift is undefined without positive rows; score rows that include some of the positive class');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b]! - p[a]! || a - b);
  const base = total / n;
  const out: LiftRow[] = [];
  let cumRows = 0;
  let cumPos = 0;
  let r = 0;
  for (let d = 0; d < bins; d++) {
    let rows = 0;
    let pos = 0;
    let lo = Infinity;
    let hi = -Infinity;
    // Rank r belongs to bin ⌊bins·r/n⌋.
    for (; r < n && Math.floor((bins * r) / n) === d; r++) {
      const i = order[r]!;
      rows++;
      pos += y[i]!;
      lo = Math.min(lo, p[i]!);
      hi = Math.max(hi, p[i]!);
    }
    cumRows += rows;
    cumPos += pos;
    out.push({
      decile: d + 1,
      rows,
      positives: pos,
      minScore: lo,
      maxScore: hi,
      rate: pos / rows,
      lift: pos / rows / base,
      cumulativeRows: cumRows,
      cumulativePositives: cumPos,
      cumulativeGain: cumPos / total,
      cumulativeLift: cumPos / cumRows / base,
    });
  }
  return { rows: n, positives: total, baseRate: base, deciles: out };
}

/** The table as fixed-width text, one line per decile. */
export function formatLiftTable(t: LiftTable): string {
  const head = 'decile   rows  positives    rate    lift  cum.gain  cum.lift   min.score';
  const lines = t.deciles.map((d) =>
    [
      String(d.decile).padStart(6),
      String(d.rows).padStart(6),
      String(d.positives).padStart(10),
      d.rate.toFixed(4).padStart(7),
      d.lift.toFixed(3).padStart(7),
      d.cumulativeGain.toFixed(4).padStart(9),
      d.cumulativeLift.toFixed(3).padStart(9),
      d.minScore.toPrecision(6).padStart(11),
    ].join(' '),
  );
  return `${head}\n${lines.join('\n')}\nbase rate ${t.baseRate.toFixed(4)} (${t.positives} of ${t.rows} rows)\n`;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A cumulative gain chart (the model's curve against the random-targeting diagonal) as a standalone SVG. */
export function gainChartSvg(t: LiftTable, title = 'Cumulative gain'): string {
  const w = 480;
  const h = 360;
  const m = { l: 56, r: 16, t: 36, b: 48 };
  const pw = w - m.l - m.r;
  const ph = h - m.t - m.b;
  const X = (f: number) => (m.l + f * pw).toFixed(1);
  const Y = (f: number) => (m.t + (1 - f) * ph).toFixed(1);
  const pts = [[0, 0], ...t.deciles.map((d) => [d.cumulativeRows / t.rows, d.cumulativeGain])];
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${w}" height="${h}" fill="white"/>`,
    `<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    ...ticks.map((f) => `<line x1="${X(f)}" y1="${Y(0)}" x2="${X(f)}" y2="${Y(1)}" stroke="#eee"/><text x="${X(f)}" y="${+Y(0) + 16}" text-anchor="middle">${Math.round(f * 100)}%</text>`),
    ...ticks.map((f) => `<line x1="${X(0)}" y1="${Y(f)}" x2="${X(1)}" y2="${Y(f)}" stroke="#eee"/><text x="${+X(0) - 6}" y="${+Y(f) + 4}" text-anchor="end">${Math.round(f * 100)}%</text>`),
    `<line x1="${X(0)}" y1="${Y(0)}" x2="${X(1)}" y2="${Y(1)}" stroke="#999" stroke-dasharray="4 4"/>`,
    `<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="${pts.map(([a, b]) => `${X(a!)},${Y(b!)}`).join(' ')}"/>`,
    ...pts.slice(1).map(([a, b]) => `<circle cx="${X(a!)}" cy="${Y(b!)}" r="3" fill="#1f77b4"/>`),
    `<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.l + pw / 2}" y="${h - 10}" text-anchor="middle">share of rows targeted (highest scores first)</text>`,
    `<text transform="translate(14 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">share of positives captured</text>`,
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}
