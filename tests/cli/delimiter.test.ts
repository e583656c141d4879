// `--delimiter` on every command that reads delimited text: the same names everywhere (tab among them), and
// one INVALID_ARGUMENT for a value it does not know. Child processes on the compiled dist/.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { quiver } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'quiver-cli-delim-'));

// A tab-separated table (a, b, a binary and a numeric target) and tab-separated ratings with a header.
const table = join(dir, 'table.tsv');
const rows = ['a\tb\tbought\tspend'];
for (let i = 0; i < 24; i++) rows.push(`${i % 7}\t${(i * 5) % 11}\t${i % 3 === 0 ? 'yes' : 'no'}\t${(i * 13) % 17}`);
writeFileSync(table, `${rows.join('\n')}\n`);
const ratings = join(dir, 'ratings.tsv');
const lines = ['user\titem\trating'];
for (let u = 1; u <= 40; u++) for (let i = 1; i <= 30; i++) if ((u * 7 + i * 13) % 4 === 0) lines.push(`u${u}\ti${i}\t${((u + i) % 5) + 1}`);
writeFileSync(ratings, `${lines.join('\n')}\n`);

/** Each command that reads delimited text, with the arguments it needs besides --delimiter. */
const commands: [string, string[]][] = [
  ['kmeans', ['--input', table, '--k', '2', '--exclude', 'bought', '--out', join(dir, 'km.json')]],
  ['linear', ['--input', table, '--target', 'spend', '--exclude', 'bought', '--out', join(dir, 'lin.json')]],
  ['logistic', ['--input', table, '--target', 'bought', '--exclude', 'spend', '--out', join(dir, 'log.json')]],
  ['recommend', ['--ratings', ratings, '--algo', 'popular', '--n', '2', '--out', join(dir, 'rec.csv')]],
  ['evaluate', ['--ratings', ratings, '--algo', 'popular', '--k', '2']],
];

describe('--delimiter', () => {
  it('tab is accepted by every command that reads delimited text, and the fields split on tabs', async () => {
    for (const [cmd, args] of commands) {
      const r = await quiver(cmd, ...args, '--delimiter', 'tab');
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
    }
    // The table was read as four columns: before, the table commands took `tab` for a three-letter delimiter.
    const lin = await quiver('linear', '--input', table, '--target', 'spend', '--exclude', 'bought', '--out', join(dir, 'lin2.json'), '--delimiter', '\\t');
    expect(lin.code, lin.stderr).toBe(0);
    expect(Object.keys((JSON.parse(lin.stdout) as { coefficients: Record<string, number> }).coefficients)).toEqual(['a', 'b']);
    const p = await quiver('predict', '--model', join(dir, 'lin2.json'), '--input', table, '--out', join(dir, 'p.csv'), '--delimiter', 'tab');
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/wrote .*p\.csv: 24 predictions/);
  }, 120_000);

  it('a value it does not know stops every command with INVALID_ARGUMENT, the flag and the accepted values', async () => {
    const all: [string, string[]][] = [...commands, ['predict', ['--model', join(dir, 'none.json'), '--input', table, '--out', join(dir, 'p.csv')]]];
    for (const [cmd, args] of all) {
      const r = await quiver(cmd, ...args, '--delimiter', 'tabs');
      expect(r.code, cmd).toBe(2);
      expect(r.stderr).toBe('quiver: INVALID_ARGUMENT: --delimiter must be a single character, tab (or \\t), comma, semicolon, pipe, space or :: (got "tabs")\n');
    }
  }, 60_000);
});
