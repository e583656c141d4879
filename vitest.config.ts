import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // bench/tests: the bench harness's own unit tests (its report writer), plain ESM like the harness.
    include: ['tests/**/*.test.ts', 'bench/tests/**/*.test.mjs'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
