// `npm run bench -- setup-python`: creates the bench's own virtual environment (bench/.venv, git-ignored)
// and installs bench/python/requirements.txt into it, then requirements-extra.txt (whose failure only
// warns). Anything installed by hand is gone on a fresh machine; this is the one documented way.
// The harness then uses bench/.venv/bin/python unless QUIVER_BENCH_PYTHON names another interpreter.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export function venvPython(benchDir) {
  return join(benchDir, '.venv', 'bin', 'python');
}

function run(cmd, args) {
  process.stderr.write(`  $ ${cmd} ${args.join(' ')}\n`);
  return spawnSync(cmd, args, { stdio: 'inherit' }).status === 0;
}

/** Returns the exit code for the harness. `base`: the interpreter that creates the venv (python3). */
export function setupPython(benchDir, base = process.env.QUIVER_BENCH_BASE_PYTHON || 'python3') {
  const py = venvPython(benchDir);
  if (!existsSync(py) && !run(base, ['-m', 'venv', join(benchDir, '.venv')])) {
    console.error(`bench: could not create ${join(benchDir, '.venv')} with ${base} (install python3-venv?)`);
    return 1;
  }
  const pip = [py, ['-m', 'pip', 'install', '--upgrade', 'pip']];
  run(...pip);
  if (!run(py, ['-m', 'pip', 'install', '-r', join(benchDir, 'python', 'requirements.txt')])) {
    console.error('bench: installing bench/python/requirements.txt failed (see above)');
    return 1;
  }
  if (!run(py, ['-m', 'pip', 'install', '-r', join(benchDir, 'python', 'requirements-extra.txt')])) {
    console.error('bench: warning: requirements-extra.txt failed; the recommend/http peers will be skipped');
  }
  console.log(`bench: Python peers installed in ${join(benchDir, '.venv')}; the harness uses it by default`);
  return 0;
}
