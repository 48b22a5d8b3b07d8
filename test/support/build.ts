// Tests that run the real `turnout` bin need dist/: `npm test` builds it first, and a test file
// run on its own builds it here when any source file is newer than the build (one build at a
// time per checkout, whatever the number of test processes).

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
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
// (a directory: mkdir is atomic, holding its owner's pid) lets one build while the others wait
// for the lock directory to go — watched, not polled — and then look again. A lock whose owner
// is no longer running is a crashed run's, and is taken over.
const LOCK = join(
  tmpdir(),
  `turnout-build-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}.lock`,
);
const OWNER = join(LOCK, 'pid');

function ownerGone(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(OWNER, 'utf8'));
  } catch {
    return false; // just made: its owner writes the pid next
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Resolves when the lock directory is removed (or its owner is gone). */
function lockReleased(boundMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(bound);
      watcher.close();
      resolve();
    };
    const watcher = watch(dirname(LOCK), (_event, file) => {
      if (file === basename(LOCK) && !existsSync(LOCK)) done();
    });
    // Bounds a hang only (an owner killed mid-build leaves the directory): the caller then
    // checks the owner and takes the lock over.
    const bound = setTimeout(done, boundMs);
    if (!existsSync(LOCK) || ownerGone()) done(); // released before the watch began
  });
}

async function buildUnlessFresh(fresh: () => boolean, timeoutMs: number): Promise<void> {
  while (!fresh()) {
    try {
      mkdirSync(LOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (ownerGone()) rmSync(LOCK, { recursive: true, force: true });
      else await lockReleased(timeoutMs); // another process is building
      continue;
    }
    try {
      writeFileSync(OWNER, String(process.pid));
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
