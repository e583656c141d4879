// The vendor anchors of the W rows: AMD's AOCL-DA and Intel's scikit-learn-intelex, each through its
// scikit-learn interface (bench/python/w*_anchor.py, w2_aoclda.py). Every row carries the evidence that
// the vendor's code ran (`verified`, see bench/python/_anchors.py); a fit that fell back to stock
// scikit-learn is a FAILED row, a missing package one skip line.
import { missingPython, runPeer } from './python.mjs';
import { failedRow, measuredRow, skippedRow } from './report.mjs';

export const ANCHORS = [
  { key: 'aoclda', label: 'aoclda', module: 'aoclda' },
  { key: 'sklearnex', label: 'sklearnex', module: 'sklearnex' },
];

/**
 * One row per anchor for `workload`. `spec` = { script, estimator, inputs() → paths, cfg, row(r) → the
 * measuredRow fields besides workload/impl/notes, anchors? (keys; default both) }.
 */
export async function anchorRows(ctx, workload, spec) {
  const rows = [];
  for (const a of ANCHORS) {
    if (spec.anchors && !spec.anchors.includes(a.key)) continue;
    const impl = `${a.label} ${spec.estimator}`;
    if (!ctx.wantImpl(impl)) continue;
    const missing = missingPython(ctx.threads, ['numpy', 'sklearn', a.module]);
    if (missing) {
      rows.push(skippedRow(workload, impl, missing));
      continue;
    }
    ctx.log(`${workload} ${impl}`);
    const r = await runPeer(spec.script, { ...spec.inputs(), ...spec.cfg, anchor: a.key }, ctx.threads);
    if (r.skipped) rows.push(skippedRow(workload, impl, r.skipped));
    else if (r.error) rows.push(failedRow(workload, impl, r.error));
    else {
      const fields = spec.row(r);
      rows.push(
        measuredRow({
          workload,
          impl,
          ...fields,
          peakRssDelta: r.peakRssDelta,
          notes: [...(fields.notes ?? []), `verified: ${r.verified}`, `${a.label} ${r.version ?? ''}`.trim()],
          extra: { ...fields.extra, times: r.times, verified: r.verified, version: r.version, anchor: a.key },
        }),
      );
      if (r.faissPatch === false) rows.push(skippedRow(workload, `${a.label} FAISS patch`, `skipped: ${a.label} ${r.version ?? ''} ships no FAISS patch`));
    }
  }
  return rows;
}
