// Temp directories a test file makes are removed after its tests (test/support/temp-dir-cleanup.ts,
// a setup file of every test file, calls removeTempDirs in its afterAll), so a test that fails,
// times out or simply forgets leaves nothing in /tmp. Directories a test removed itself are
// skipped (rmSync with force).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

/** Removes every directory madeTempDir made in this file's process. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A process of the test still writing there: the OS's tmp cleaning has the rest.
    }
  }
}

/** A new directory under the OS's temp dir, `<prefix>XXXXXX`, removed after the file's tests. */
export function madeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
