// Running the CLI as a user does: a child process on the compiled dist/ (npm test builds it first).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const bin = join(import.meta.dirname, '..', '..', 'bin', 'quiver.js');
export const cliEnv = { ...process.env, QUIVER_THREADS: '2' };

/** `quiver ...args`: its exit code and output (a failing exit is returned, not thrown). */
export async function quiver(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [bin, ...args], { env: cliEnv, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}
