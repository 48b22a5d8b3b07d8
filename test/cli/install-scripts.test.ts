// The dependencies whose install scripts `npm install` runs are approved in package.json
// (`allowScripts`), so npm 11 installs the clone without a warning and a later npm that blocks
// unapproved scripts still builds better-sqlite3's native module (without it no store opens).
// Fails when a new dependency brings an install script nobody reviewed: approve it with
// `npm install-scripts approve <pkg> --no-allow-scripts-pin` (or deny it) in the same change.

import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './run.js';

function npmJson(args: string[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`npm ${args.join(' ')}: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

describe('install scripts', () => {
  it('every installed package with an install script is approved or denied in package.json', async () => {
    const listed = (await npmJson(['install-scripts', 'ls', '--json'])) as {
      allowScripts: unknown[];
    };
    expect(listed.allowScripts).toEqual([]);
  });

  it('the native store driver is among the approved ones', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    expect(pkg.allowScripts?.['better-sqlite3']).toBe(true);
  });
});
