// Tests that run the real `turnout` bin need dist/: `npm test` builds it first, and a test file
// run on its own builds it here when any source file is newer than the build (one build at a
// time per checkout, whatever the number of test processes).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST_MAIN = join(ROOT, 'dist', 'cli', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** dist/cli/main.js is newer than every file under src/. */
function distFresh(): boolean {
  return mtimeOf(DIST_MAIN) > newestMtime(join(ROOT, 'src'));
}

/** dist/web is newer than every file under web/. */
function webFresh(): boolean {
  return mtimeOf(join(WEB_ROOT, 'index.html')) > newestMtime(join(ROOT, 'web'));
}

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0; // not built yet
  }
}

function npmRunBuild(timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: timeoutMs }, (error, _out, stderr) =>
      error === null ? resolve() : reject(new Error(`npm run build failed: ${stderr}`)),
    );
  });
}

// Test files run in several worker processes: after a source change, each would start its own
// `npm run build` in the same dist/ at once, and they fail each other. One lock per checkout
// (a directory: mkdir is atomic) lets one build while the others wait for it to go, then look
// again. A lock older than the longest build is a crashed run's, and is taken over.
const LOCK = join(
  tmpdir(),
  `turnout-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const STALE_LOCK_MS = 300_000;

async function buildUnlessFresh(fresh: () => boolean, timeoutMs: number): Promise<void> {
  while (!fresh()) {
    try {
      mkdirSync(LOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (Date.now() - mtimeOf(LOCK) > STALE_LOCK_MS)
        rmSync(LOCK, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200)); // another process is building
      continue;
    }
    try {
      if (!fresh()) await npmRunBuild(timeoutMs);
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
    return;
  }
}

/** `npm run build`, unless dist/ is already newer than every source file. */
export async function ensureBuilt(): Promise<void> {
  await buildUnlessFresh(distFresh, 120_000);
}

/** Where `npm run build` puts the dashboard. */
export const WEB_ROOT = join(ROOT, 'dist', 'web');

/** ensureBuilt() looks at src/ only: build again when web/ is newer than dist/web. */
export async function ensureWebBuilt(): Promise<void> {
  await ensureBuilt();
  await buildUnlessFresh(webFresh, 180_000);
}
