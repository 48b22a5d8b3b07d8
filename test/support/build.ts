// Tests that run the real `turnout` bin need dist/: `npm test` builds it first, and a test file
// run on its own builds it here when any source file is newer than the build.

import { execFile } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
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

/** `npm run build`, unless dist/ is already newer than every source file. */
export async function ensureBuilt(): Promise<void> {
  let built = 0;
  try {
    built = statSync(DIST_MAIN).mtimeMs;
  } catch {
    // not built yet
  }
  if (built > newestMtime(join(ROOT, 'src'))) return;
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: 120_000 }, (error, _out, stderr) =>
      error === null ? resolve() : reject(new Error(`npm run build failed: ${stderr}`)),
    );
  });
}

/** Where `npm run build` puts the dashboard. */
export const WEB_ROOT = join(ROOT, 'dist', 'web');

/** ensureBuilt() looks at src/ only: build again when web/ is newer than dist/web. */
export async function ensureWebBuilt(): Promise<void> {
  await ensureBuilt();
  let built = 0;
  try {
    built = statSync(join(WEB_ROOT, 'index.html')).mtimeMs;
  } catch {
    // not built
  }
  if (built > newestMtime(join(ROOT, 'web'))) return;
  await new Promise<void>((resolve, reject) => {
    execFile('npm', ['run', 'build'], { cwd: ROOT, timeout: 180_000 }, (error, _o, stderr) =>
      error === null ? resolve() : reject(new Error(`npm run build failed: ${stderr}`)),
    );
  });
}
