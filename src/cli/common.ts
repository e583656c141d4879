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

export function intOption(name: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    // Number('') is 0 and Number(' 1') is 1: only plain digits count as a whole number.
    const n = /^\s*-?\d+\s*$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min} (got "${v}")`);
    if (n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max} (got "${v}")`);
    return n;
  };
}

export function floatOption(name: string, min = -Infinity) {
  return (v: string): number => {
    const n = v.trim() === '' ? Number.NaN : Number(v);
    if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number ≥ ${min} (got "${v}")`);
    return n;
  };
}

/**
 * Prints any failure as one line `quiver: CODE: message` and sets the exit code: 2 for what the user can fix
 * (a QuiverError other than INTERNAL, or a file-system error such as a missing or unwritable path), 70 for a bug.
 * A bug's stack trace (and its causes) is printed only with --verbose.
 */
export function reportError(err: unknown, opts: { verbose?: boolean } = {}): void {
  const e = systemError(err) ?? QuiverError.from(err);
  const internal = e.code === 'INTERNAL';
  const hint = internal && !opts.verbose ? ' (this is a bug: rerun with --verbose for the stack trace, and report it)' : '';
  process.stderr.write(`quiver: ${e.code}: ${e.message.replace(/\s*\n\s*/g, ' ')}${hint}\n`);
  process.exitCode = internal ? 70 : 2;
  if (internal && opts.verbose) {
    for (let c: unknown = err; c instanceof Error; c = c.cause) process.stderr.write(`${c.stack ?? c.message}\n`);
  }
}

/** Node's file-system and socket errors (ENOENT, EACCES, EADDRINUSE, …) are the user's to fix, not bugs. */
function systemError(err: unknown): QuiverError | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, syscall } = err as NodeJS.ErrnoException;
  if (typeof code !== 'string' || typeof syscall !== 'string' || !/^E[A-Z0-9]+$/.test(code)) return undefined;
  return new QuiverError(code === 'ENOENT' ? 'NOT_FOUND' : 'INVALID_ARGUMENT', err.message);
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

/** Where a progress line goes: stderr, or a stand-in in tests. */
export interface ProgressStream {
  isTTY?: boolean;
  write(s: string): unknown;
}

/** A fit's progress report (RecommenderOptions.onProgress). */
export interface PhaseReport {
  phase: string;
  done: number;
  total: number;
}

/**
 * The progress line of a fit on a TTY, in the style of `Progress` (one self-rewriting line, silent in pipes):
 * `fit itemknn: similarity 12,000/50,000 items (24%), ETA 3.1 s, 1.0 s`. Each phase has its own ETA (from the
 * rate since the phase began); a new phase is drawn at once, updates within a phase at most every 100 ms.
 * `note` shows what runs before the first report (reading the input), so a long run never starts blank.
 */
export class FitProgressLine {
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #start: number;
  #phase: string | null = null;
  #phaseStart = 0;
  #last = Number.NEGATIVE_INFINITY;
  #shown = false;

  constructor(
    private readonly label: string,
    private readonly units: Readonly<Record<string, string>> = {},
    stream: ProgressStream = process.stderr,
    now: () => number = Date.now,
  ) {
    this.#stream = stream;
    this.#now = now;
    this.#start = now();
  }

  get tty(): boolean {
    return this.#stream.isTTY === true;
  }

  /** A line without counts, e.g. "reading ratings.csv". */
  note(text: string): void {
    if (!this.tty) return;
    this.#draw(`${this.label}: ${text}`);
  }

  /** The onProgress callback of a fit (bound: pass it as is). */
  readonly update = (p: PhaseReport): void => {
    if (!this.tty) return;
    const t = this.#now();
    if (p.phase !== this.#phase) {
      this.#phase = p.phase;
      this.#phaseStart = t;
    } else if (t - this.#last < 100 && p.done < p.total) {
      return;
    }
    this.#last = t;
    const unit = this.units[p.phase] ? ` ${this.units[p.phase]}` : '';
    let line = `${this.label}: ${p.phase} ${p.done.toLocaleString('en-US')}/${p.total.toLocaleString('en-US')}${unit}`;
    if (p.total > 0) line += ` (${Math.floor((100 * p.done) / p.total)}%)`;
    const secs = (t - this.#phaseStart) / 1000;
    if (p.done > 0 && p.done < p.total && secs > 0) line += `, ETA ${(((p.total - p.done) * secs) / p.done).toFixed(1)} s`;
    line += `, ${((t - this.#start) / 1000).toFixed(1)} s`;
    this.#draw(line);
  };

  /** Clears the line (nothing was drawn in a pipe). */
  done(): void {
    if (this.#shown) this.#stream.write('\r\x1b[2K');
    this.#shown = false;
  }

  #draw(line: string): void {
    this.#shown = true;
    this.#stream.write(`\r\x1b[2K${line}`);
  }
}

/** Units of the fit phases the recommenders report (item kNN's similarity rows are items, user kNN's users). */
export function fitUnits(algo: string): Record<string, string> {
  return {
    similarity: algo === 'userknn' ? 'users' : 'items',
    gram: 'user blocks',
    factor: 'tile columns',
    invert: 'tile columns',
    multiply: 'tile columns',
    users: 'iterations',
    items: 'iterations',
  };
}
