import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes; keep the default timeout generous but bounded.
    testTimeout: 30_000,
    pool: 'forks',
    // Most files wait on real processes and sockets rather than compute: two at a time keeps
    // both cores busy (the default on 2 cores is one) and the suite well under 10 minutes.
    maxWorkers: 2,
  },
});
