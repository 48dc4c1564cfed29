import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Run by vitest.package.config.ts, after these.
    exclude: ['test/package/**', 'node_modules/**'],
    // Finds PostgreSQL for the Postgres tests, or starts a throwaway one.
    globalSetup: ['test/store/postgres/global-setup.ts'],
    // Every step the engine takes in any test is checked against the job chart's edges.
    setupFiles: ['test/support/chart-steps.setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
