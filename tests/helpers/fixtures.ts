// Stored reference results (tests/fixtures/models, written by scripts/fixtures/make_model_fixtures.py) and
// the files they were computed from. A fixture records its source file's sha256; a test reads the file
// through sourceText, which compares the hash before any figure, so a changed input fails as "regenerate the
// fixture" instead of as a wrong coefficient.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');

/** The input file a fixture came from: its path as the generator names it, and its sha256. */
export interface FixtureSource {
  path: string;
  sha256: string;
}

export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(repoRoot, 'tests', 'fixtures', 'models', name), 'utf8')) as T;
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * The text of `file`, after checking that it is the file `fixture` (a name under tests/fixtures/models) was
 * computed from. Throws, naming both hashes and the fix, when it is not.
 */
export function sourceText(file: string, source: FixtureSource, fixture: string): string {
  const bytes = readFileSync(file);
  const got = createHash('sha256').update(bytes).digest('hex');
  if (got !== source.sha256) {
    throw new Error(
      `${file} has sha256 ${got}, but tests/fixtures/models/${fixture} was computed from ${source.path} with sha256 ` +
        `${source.sha256}: restore the file, or regenerate the fixtures with scripts/fixtures/make_model_fixtures.py ` +
        '(its header says how) and review the changed figures',
    );
  }
  return bytes.toString('utf8');
}
