import { configDefaults, defineConfig } from 'vitest/config';
import { CHANGES_INTERFACES } from './test/support/test-groups.js';

export default defineConfig({
  test: {
    // A test's timeout only bounds a hang: tests wait for events, never for a time. CLI tests run
    // the real bin several times each, and under a busy core one `turnout` command took 4–10 s
    // (a six-command test ran past 30 s); 120 s keeps a hang bounded without failing slow runs.
    testTimeout: 120_000,
    pool: 'forks',
    // Temp directories made through test/support/temp-dir.ts are removed after each file.
    setupFiles: ['test/support/temp-dir-cleanup.ts'],
    // Most files wait on real processes and sockets rather than compute: two at a time keeps
    // both cores busy (the default on 2 cores is one) and the suite well under 10 minutes.
    maxWorkers: 2,
    // Files that change network interfaces first, as a group of their own (test/support/test-groups.ts).
    projects: [
      {
        extends: true,
        test: { name: 'netns', include: CHANGES_INTERFACES, sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'main',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...CHANGES_INTERFACES],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
