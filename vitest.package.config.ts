import { defineConfig } from 'vitest/config';

// The package as users get it: packs, installs the tarball into a new app and runs it. Apart from
// the other tests, after them: it builds a native module and would slow their timed paths.
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
