/** What every CLI command shares: engine options, error reporting, progress on a TTY, option parsing. */
import { InvalidArgumentError, type Command } from 'commander';
import { createEngine, type Quiver } from '../quiver.js';
import { QuiverError } from '../errors.js';
import { parseBackendChoice } from '../backends/index.js';

export interface GlobalOptions {
  backend?: string;
  threads?: number;
}

/** Adds --backend and --threads to a command. */
export function withEngineOptions(cmd: Command): Command {
  return cmd
    .option('--backend <name>', 'kernel backend: auto, native, wasm or js (default: QUIVER_BACKEND or auto)')
    .option('--threads <n>', 'worker threads (default: QUIVER_THREADS or the available cores)', intOption('--threads'));
}

export async function engineFrom(opts: GlobalOptions): Promise<Quiver> {
  const backend = opts.backend === undefined ? undefined : parseBackendChoice(opts.backend);
  return createEngine({ backend, threads: opts.threads });
}

/** Runs a command body with an engine that is always closed afterwards. */
export async function withEngine<T>(opts: GlobalOptions, body: (e: Quiver) => Promise<T>): Promise<T> {
  const e = await engineFrom(opts);
  try {
    return await body(e);
  } finally {
    await e.close();
  }
}

export function intOption(name: string, min = 1) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min} (got "${v}")`);
    return n;
  };
}

export function floatOption(name: string, min = -Infinity) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number ≥ ${min} (got "${v}")`);
    return n;
  };
}

/** Prints a QuiverError as `quiver: CODE: message` and sets the exit code; anything else is a bug report. */
export function reportError(err: unknown): void {
  const e = QuiverError.from(err);
  process.stderr.write(`quiver: ${e.code}: ${e.message}\n`);
  process.exitCode = e.code === 'INTERNAL' ? 70 : 2;
  if (e.code === 'INTERNAL' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
}

/**
 * Progress for long runs: a single self-rewriting line on a TTY (done, rate, ETA), silent in pipes.
 */
export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  readonly #start = Date.now();
  #last = 0;
  constructor(
    private readonly label: string,
    private readonly total?: number,
    private readonly unit = 'rows',
  ) {}

  update(done: number, extra = ''): void {
    if (!this.#tty) return;
    const now = Date.now();
    if (now - this.#last < 100 && (this.total === undefined || done < this.total)) return;
    this.#last = now;
    const secs = (now - this.#start) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    let line = `${this.label}: ${done.toLocaleString('en-US')}`;
    if (this.total !== undefined) line += `/${this.total.toLocaleString('en-US')}`;
    line += ` ${this.unit}, ${Math.round(rate).toLocaleString('en-US')} ${this.unit}/s`;
    if (this.total !== undefined && rate > 0) line += `, ETA ${Math.max(0, (this.total - done) / rate).toFixed(1)} s`;
    if (extra) line += `, ${extra}`;
    process.stderr.write(`\r\x1b[2K${line}`);
  }

  done(): void {
    if (this.#tty) process.stderr.write('\r\x1b[2K');
  }
}
