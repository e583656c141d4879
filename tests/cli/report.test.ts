// reportError, the one place the CLI turns a failure into its stderr line and exit code (README, "Errors and exit
// codes"): user errors exit 2 with one line; a bug exits 70, and only --verbose prints its stack and causes.
import { describe, expect, it, vi } from 'vitest';
import { reportError } from '../../src/cli/common.js';
import { QuiverError } from '../../src/errors.js';

function capture(err: unknown, verbose?: boolean): { text: string; code: number | string | undefined } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  });
  const before = process.exitCode;
  try {
    reportError(err, { verbose });
    return { text: chunks.join(''), code: process.exitCode };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}


describe('reportError', () => {
  it('a QuiverError is one line with its code, exit 2', () => {
    const r = capture(new QuiverError('SHAPE_MISMATCH', 'a has 3 columns, b has 4'));
    expect(r).toEqual({ text: 'quiver: SHAPE_MISMATCH: a has 3 columns, b has 4\n', code: 2 });
  });

  it('a multi-line message stays on one line', () => {
    expect(capture(new QuiverError('INVALID_ARGUMENT', 'first\n  second')).text).toBe('quiver: INVALID_ARGUMENT: first second\n');
  });

  it('file-system errors are the user’s: ENOENT is NOT_FOUND, EACCES INVALID_ARGUMENT, exit 2', () => {
    const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/x/y.npy'"), { code: 'ENOENT', syscall: 'open' });
    expect(capture(enoent)).toEqual({ text: "quiver: NOT_FOUND: ENOENT: no such file or directory, open '/x/y.npy'\n", code: 2 });
    const eacces = Object.assign(new Error("EACCES: permission denied, open '/out.npy'"), { code: 'EACCES', syscall: 'open' });
    expect(capture(eacces)).toEqual({ text: "quiver: INVALID_ARGUMENT: EACCES: permission denied, open '/out.npy'\n", code: 2 });
  });

  it('a bug is INTERNAL, exit 70, one line that says to rerun with --verbose', () => {
    const r = capture(new TypeError('x.map is not a function'));
    expect(r.code).toBe(70);
    expect(r.text).toBe('quiver: INTERNAL: x.map is not a function (this is a bug: rerun with --verbose for the stack trace, and report it)\n');
  });

  it('with --verbose a bug also prints its stack and its causes', () => {
    const cause = new RangeError('index 9 out of range');
    const err = new Error('tile merge failed', { cause });
    const r = capture(err, true);
    expect(r.code).toBe(70);
    const lines = r.text.split('\n');
    expect(lines[0]).toBe('quiver: INTERNAL: tile merge failed');
    expect(lines[1]).toBe('Error: tile merge failed');
    expect(r.text).toContain('RangeError: index 9 out of range');
    expect(r.text).toMatch(/\n\s+at .*report\.test\.ts:\d+:\d+/);
  });

  it('--verbose adds nothing to a user error', () => {
    expect(capture(new QuiverError('TOO_LARGE', 'over the memory budget'), true).text).toBe('quiver: TOO_LARGE: over the memory budget\n');
  });
});
