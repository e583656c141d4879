// Engine rows timed in fresh processes (call-child.mjs): the public call from a plain array, the same
// call from shared memory, and the kernel row where the suite has one; on AVX-512 machines every native
// row again with QUIVER_NATIVE_ISA=avx2. Each row carries two peak RSS figures above the process baseline:
// `peakRssDelta` (the `peak RSS Δ` column, its meaning unchanged) is the timed process's, over the whole timing
// loop, so it also holds earlier calls' results not yet garbage collected; `extra.peakRssDeltaPerCall` comes
// from a second fresh process that makes the call once, and is what the memory target judges
// (`extra.rssRatio` = that over the bytes of inputs and outputs, target ≤ 1.5×; `extra.rssRatioLoop` the loop's).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { BACKENDS, benchDir, cpuFlagSet } from './context.mjs';
import { failedRow, measuredRow, skippedRow } from './report.mjs';

export const RSS_TARGET = 1.5;

/** Whether this CPU has AVX512_BF16 (then cosine top-k screens in bf16, and W2 gets a row with the screen off). */
export const hasBf16 = () => cpuFlagSet().has('avx512_bf16');

/** Whether this CPU has AVX-512F (then the native rows get an avx2 twin). */
export const hasAvx512 = () => cpuFlagSet().has('avx512f');

function runChild(job, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', join(benchDir, 'lib', 'call-child.mjs'), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) return resolve(JSON.parse(last));
      } catch {
        // fall through
      }
      resolve({ error: `child exited ${code}: ${(err.trim().split('\n').pop() ?? '') || last}` });
    });
  });
}

const WHAT = {
  plain: 'the public call on the input as a user holds it (plain typed arrays)',
  shared: 'the public call on the input already in shared memory (engine.allocMatrix, or a SharedArrayBuffer view when the engine has none)',
  kernel: 'the kernel alone on a matrix in engine memory (engine.allocMatrix), staged in place before the timer (not what a user sees)',
};

/**
 * spec = { workload, cfg (full size), cfgFor(backend) → cfg (scaled js rows), work(cfg), unit, call (text),
 * variants (default plain, shared), long (hrtime runs instead of benchmark.js), scaled(cfg) → note|null,
 * implSuffix (appended to each row's impl, for a second set of rows with other options), levels(backend, isa)
 * → bool (which levels run; default all), screenTwin (cosine top-k: on a CPU with AVX512_BF16, the native
 * rows again with the bf16 screen off, `native f32 …`: the A/B of the screen) }.
 */
export async function childRows(ctx, spec) {
  const rows = [];
  const variants = spec.variants ?? ['plain', 'shared'];
  const levels = [
    { backend: 'native', isa: null },
    ...(spec.screenTwin && hasBf16() ? [{ backend: 'native', isa: null, tag: 'f32', env: { QUIVER_TOPK_SCREEN: '0' } }] : []),
    ...(hasAvx512() ? [{ backend: 'native', isa: 'avx2' }] : []),
    { backend: 'wasm' },
    { backend: 'js' },
  ];
  for (const { backend, isa, tag, env: levelEnv } of levels) {
    if (!BACKENDS.includes(backend) || (spec.levels && !spec.levels(backend, isa))) continue;
    const cfg = spec.cfgFor ? spec.cfgFor(backend) : spec.cfg;
    for (const variant of variants) {
      if (backend === 'js' && variant !== 'plain') continue;
      const impl = `${backend}${isa ? ` ${isa}` : ''}${tag ? ` ${tag}` : ''} ${variant}${spec.implSuffix ?? ''}`;
      const env = { ...(isa ? { QUIVER_NATIVE_ISA: isa } : {}), ...(levelEnv ?? {}) };
      if (!ctx.wantImpl(impl)) continue;
      ctx.log(`${spec.workload} ${impl} (fresh process)`);
      const job = { workload: spec.workload, variant, backend, threads: ctx.threads, cfg, budget: ctx.budget, runs: ctx.longRuns, long: spec.long ?? false };
      const r = await runChild(job, env);
      if (r.skipped) rows.push(skippedRow(spec.workload, impl, r.skipped));
      else if (r.error) rows.push(failedRow(spec.workload, impl, r.error));
      else {
        // One call in its own fresh process: the peak RSS the memory target is about.
        const once = await runChild({ ...job, once: true }, env);
        const perCall = once.error || once.skipped ? null : once.peakRssDelta;
        const rssRatioLoop = r.peakRssDelta / r.ioBytes;
        const rssRatio = perCall === null ? rssRatioLoop : perCall / r.ioBytes;
        const rssNote = perCall === null ? `RSS ${rssRatioLoop.toFixed(2)}× in+out over the timing loop (one-call run failed: ${once.error ?? once.skipped})` : `RSS ${rssRatio.toFixed(2)}× in+out per call (${rssRatioLoop.toFixed(2)}× over the timing loop)`;
        rows.push(
          measuredRow({
            workload: spec.workload,
            impl,
            what: `${spec.call}: ${WHAT[variant]}; fresh process`,
            seconds: r.seconds,
            work: spec.work(cfg),
            unit: spec.unit,
            timer: spec.perIteration ? `${r.timer}, per iteration` : r.timer,
            scaled: spec.scaled?.(cfg) ?? null,
            notes: [r.simd, variant === 'shared' || variant === 'kernel' ? r.allocated : null, `${rssNote}${rssRatio > RSS_TARGET ? ` (target ≤ ${RSS_TARGET}×)` : ''}`].filter(Boolean),
            peakRssDelta: r.peakRssDelta,
            check: r.check,
            extra: { times: r.times, fitSeconds: r.fitSeconds, ioBytes: r.ioBytes, bytes: r.bytes, rssRatio, rssRatioLoop, peakRssDeltaPerCall: perCall, isa: isa ?? 'auto', variant, kind: variant === 'kernel' ? 'kernel' : 'public' },
          }),
        );
      }
    }
  }
  return rows;
}
