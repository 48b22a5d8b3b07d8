import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes; keep the default timeout generous but bounded.
    testTimeout: 30_000,
    pool: 'forks',
  },
});
