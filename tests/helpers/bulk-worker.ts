// A `quiver bulk worker` process on the compiled dist/ for the tests/bulk suites: short locks (2 s, stalled
// checks every 1 s) so a dead worker's shard is retried within seconds, its stderr kept for assertions.
import { type ChildProcess, spawn } from 'node:child_process';
import { bin, cliEnv } from './cli.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class WorkerProc {
  readonly child: ChildProcess;
  log = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  constructor(url: string) {
    this.child = spawn(process.execPath, [bin, 'bulk', 'worker', '--redis', url, '--threads', '1', '--lock-duration', '2000', '--fit-lock-duration', '2000', '--stalled-interval', '1000'], {
      env: { ...cliEnv, QUIVER_THREADS: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    this.exited = new Promise((r) => this.child.once('exit', (code, signal) => r({ code, signal })));
  }
  get pid(): number {
    return this.child.pid!;
  }
  async waitFor(re: RegExp, ms = 30_000): Promise<RegExpExecArray> {
    const t0 = Date.now();
    for (;;) {
      const m = re.exec(this.log);
      if (m) return m;
      if (Date.now() - t0 > ms) throw new Error(`worker ${this.pid} did not log ${re} within ${ms} ms; its log:\n${this.log}`);
      await sleep(20);
    }
  }
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    return (await this.exited).code;
  }
  /** A test that failed half-way must not leave its worker to take the next test's jobs (a stopped one too). */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGCONT');
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
