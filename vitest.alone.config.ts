// The service suites that must run alone (`npm test` runs them after the vitest passes): the soak test measures
// /health latency, and the contract fuzz run drives a live server. Other test files running beside them on the
// same cores would make those figures measure the test runner instead of the server.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.alone.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
