// The data dir of `turnout server` and `turnout up`, made for a start that may still fail. A start
// refused after the dir was made (its listener's port in use, a store it cannot open) must leave
// nothing behind: a bad flag changes nothing. So the start remembers what it found and, on
// failure, removes only what it added — never a dir, a token or a store that was there before.
// Binding first would not do: the listener comes up last, after the tokens and the store it
// serves, and other failures (the store's) come after the dir is made as well.

import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface NewDataDir {
  /**
   * Removes what this run added: the dirs it made, or the entries it added to one that was there
   * (best effort; never throws).
   */
  undo(): void;
}

/**
 * Makes `dataDir` (owner-only, with any missing parents) and remembers its entries. Call undo()
 * only while holding its lock (src/cli/up-lock.ts), and after closing what writes there: then
 * every entry added since was added by this run.
 */
export function makeDataDir(dataDir: string): NewDataDir {
  // The first directory it made (a missing parent, maybe), or undefined when dataDir was there.
  const made = mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const before = made === undefined ? new Set(readdirSync(dataDir)) : null;
  return {
    undo() {
      // Best effort: the start's own error is the one to report, not a failure to tidy up.
      try {
        if (made !== undefined) {
          rmSync(made, { recursive: true, force: true });
          return;
        }
        for (const name of readdirSync(dataDir))
          if (!before?.has(name)) rmSync(join(dataDir, name), { recursive: true, force: true });
      } catch {
        // left as it is
      }
    },
  };
}
