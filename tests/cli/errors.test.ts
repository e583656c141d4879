// The CLI's error contract (README, "Errors and exit codes"): every user error is exactly one stderr line
// `quiver: CODE: message` naming what to fix, exit status 2, no usage dump and no stack trace.
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quiver } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-errors-'));

/** Runs the CLI and checks the shape every error shares; returns the one line for the caller's own checks. */
async function oneErrorLine(...args: string[]): Promise<string> {
  const r = await quiver(...args);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.split('\n');
  // One line plus the empty string after its newline.
  expect(lines).toHaveLength(2);
  expect(lines[1]).toBe('');
  expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/);
  return lines[0] ?? '';
}

describe('quiver CLI errors', () => {
  it('an unknown option names the option and where the options are listed', async () => {
    const line = await oneErrorLine('info', '--no-such-flag');
    expect(line).toBe("quiver: INVALID_ARGUMENT: unknown option '--no-such-flag' (quiver info --help lists its options)");
  });

  it('a misspelt option keeps the suggestion on the same line', async () => {
    // Commander checks the required options first, so they are all given here.
    const line = await oneErrorLine('topk', '--queries', 'q.npy', '--base', 'b.npy', '--k', '1', '--out', 'o', '--exclude-slef');
    expect(line).toBe("quiver: INVALID_ARGUMENT: unknown option '--exclude-slef' (Did you mean --exclude-self?) (quiver topk --help lists its options)");
  });

  it('an option without its value', async () => {
    const line = await oneErrorLine('topk', '--queries', 'q.npy', '--base', 'b.npy', '--out', 'o', '--k');
    expect(line).toBe("quiver: INVALID_ARGUMENT: option '--k <k>' argument missing (quiver topk --help lists its options)");
  });

  it('a bad number names the flag and the value once', async () => {
    const line = await oneErrorLine('topk', '--queries', 'q.npy', '--base', 'b.npy', '--out', 'o', '--k', 'ten');
    expect(line).toBe('quiver: INVALID_ARGUMENT: --k must be a whole number ≥ 1 (got "ten") (quiver topk --help lists its options)');
    // Number('') is 0 and Number('1e3') is 1000: neither is a whole number as typed.
    expect(await oneErrorLine('info', '--threads', '')).toMatch(/^quiver: INVALID_ARGUMENT: --threads must be a whole number ≥ 1 \(got ""\)/);
    expect(await oneErrorLine('serve', '--port', '70000')).toMatch(/^quiver: INVALID_ARGUMENT: --port must be a whole number from 0 to 65535 \(got "70000"\)/);
    expect(await oneErrorLine('evaluate', '--synthetic', '5x5x10', '--algo', 'popular', '--split', 'half')).toMatch(
      /^quiver: INVALID_ARGUMENT: --split must be a number ≥ 0 \(got "half"\)/,
    );
  });

  it('a value outside the choices lists them', async () => {
    const line = await oneErrorLine('recommend', '--synthetic', '5x5x10', '--algo', 'svd', '--out', join(dir, 'r.csv'));
    expect(line).toBe('quiver: INVALID_ARGUMENT: --algo must be one of itemknn, userknn, ease, popular, als (got "svd") (quiver recommend --help lists its options)');
  });

  it('a missing required option, an unknown command and no command at all', async () => {
    expect(await oneErrorLine('topk', '--queries', 'q.npy')).toBe(
      "quiver: INVALID_ARGUMENT: required option '--base <file>' not specified (quiver topk --help lists its options)",
    );
    expect(await oneErrorLine('frobnicate')).toMatch(/^quiver: INVALID_ARGUMENT: unknown command 'frobnicate'.*\(quiver --help lists the commands\)$/);
    expect(await oneErrorLine()).toMatch(/^quiver: INVALID_ARGUMENT: no command given; give one of info, serve, /);
  });

  it('--verbose changes nothing for a user error (a stack is only for bugs)', async () => {
    const line = await oneErrorLine('--verbose', 'info', '--backend', 'nope');
    expect(line).toMatch(/^quiver: INVALID_ARGUMENT: the backend \(QUIVER_BACKEND or --backend\) must be auto, native, wasm or js/);
  });

  it('--help still prints the usage on stdout and exits 0', async () => {
    const r = await quiver('topk', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: quiver topk/);
    expect(r.stderr).toBe('');
  });

  it('serve on a busy port says which port and how to pick another, before starting anything', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      const line = await oneErrorLine('serve', '--host', '127.0.0.1', '--port', String(port), '--data-dir', join(dir, 'data'));
      expect(line).toBe(`quiver: INVALID_ARGUMENT: port ${port} on 127.0.0.1 is in use; pass --port with a free port (0 picks one)`);
    } finally {
      blocker.close();
    }
  });

  it('a missing input file is NOT_FOUND with the path, exit 2', async () => {
    const missing = join(dir, 'missing.npy');
    const line = await oneErrorLine('similarity', '--a', missing, '--out', join(dir, 's.npy'));
    expect(line.startsWith(`quiver: NOT_FOUND: cannot read ${missing}`)).toBe(true);
  });
});
