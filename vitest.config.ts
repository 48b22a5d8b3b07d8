import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A test's timeout only bounds a hang: tests wait for events, never for a time. CLI tests run
    // the real bin several times each, and under a busy core one `turnout` command took 4–10 s
    // (a six-command test ran past 30 s); 120 s keeps a hang bounded without failing slow runs.
    testTimeout: 120_000,
    pool: 'forks',
    // Most files wait on real processes and sockets rather than compute: two at a time keeps
    // both cores busy (the default on 2 cores is one) and the suite well under 10 minutes.
    maxWorkers: 2,
  },
});
