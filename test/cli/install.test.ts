// SLOW (about a minute): packs the clone with `npm pack`, installs the tarball with
// `npm install -g` into a temporary prefix, and runs the installed `turnout` from a folder
// outside the repository, as docs/getting-started.md tells a user to. npm takes the
// dependencies from its local cache (--prefer-offline); only metadata it has never seen comes
// from the registry. Install scripts are skipped (--ignore-scripts): better-sqlite3's native
// build took over 10 minutes on the busy 2-core machine, and no command run here opens a store.
// Every step has its own timeout.

import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { type CliRun, ROOT } from './run.js';

const PACK_TIMEOUT_MS = 120_000;
const INSTALL_TIMEOUT_MS = 300_000;

interface Run extends CliRun {
  error: string | null;
}

function run(command: string, args: string[], cwd: string, timeout: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr, error: error?.message ?? null });
    });
  });
}

let work = '';
/** What `npm install -g` of the tarball printed: checked for engine warnings below. */
let installOutput = '';
let prefix = '';
let elsewhere = '';

beforeAll(
  async () => {
    await ensureBuilt();
    work = mkdtempSync(join(tmpdir(), 'turnout-install-'));
    prefix = join(work, 'prefix');
    elsewhere = join(work, 'elsewhere');
    mkdirSync(prefix);
    mkdirSync(elsewhere);
    // dist/ is built above, so the pack skips the prepare script's second build.
    const pack = await run(
      'npm',
      ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      ROOT,
      PACK_TIMEOUT_MS,
    );
    expect(pack.code, `npm pack: ${pack.stderr}`).toBe(0);
    const [{ filename }] = JSON.parse(pack.stdout) as [{ filename: string }];
    const install = await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--ignore-scripts',
        '--no-audit',
      ].concat('--no-fund', join(work, filename)),
      elsewhere,
      INSTALL_TIMEOUT_MS,
    );
    expect(install.code, `npm install -g: ${install.error} ${install.stderr}`).toBe(0);
    installOutput = install.stdout + install.stderr;
  },
  PACK_TIMEOUT_MS + INSTALL_TIMEOUT_MS + 120_000,
);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
}, 120_000);

// A busy machine can take well over the usual 20 s to start a CLI; this only bounds a hang.
const CLI_TIMEOUT_MS = 90_000;

/** The installed bin, run from a folder outside the repository. */
function installed(...args: string[]): Promise<Run> {
  return run(join(prefix, 'bin', 'turnout'), args, elsewhere, CLI_TIMEOUT_MS);
}

/** The clone's own bin, run in the clone: what the installed one must match. */
function turnout(...args: string[]): Promise<Run> {
  return run(process.execPath, [join(ROOT, 'bin', 'turnout.js'), ...args], ROOT, CLI_TIMEOUT_MS);
}

describe('turnout installed from `npm pack` into a prefix (slow)', () => {
  it('answers --version with the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    const result = await installed('--version');
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe(version);
    expect(result.code).toBe(0);
  });

  it('shows a dtab exactly as the clone does', async () => {
    const dtab = '/svc => /v; /svc/orders => 1 * /v/orders/1 & 3 * /v/orders/2';
    const [fromInstall, fromClone] = await Promise.all([
      installed('dtab', 'show', dtab),
      turnout('dtab', 'show', dtab),
    ]);
    expect(fromClone.code).toBe(0);
    expect(fromInstall).toMatchObject({ code: 0, stdout: fromClone.stdout, stderr: '' });
  });

  it('explains a route from a file in the folder it runs in, as the clone does', async () => {
    copyFileSync(join(ROOT, 'examples', 'routing.yaml'), join(elsewhere, 'routing.yaml'));
    const args = ['route', 'explain', '--product', 'shop', '--lane', 't-42', '/svc/account'];
    const fromInstall = await installed(...args.concat('--config', 'routing.yaml'));
    const fromClone = await turnout(...args.concat('--config', 'examples/routing.yaml'));
    expect(fromClone.code).toBe(0);
    expect(fromInstall).toMatchObject({ code: 0, stdout: fromClone.stdout, stderr: '' });
    expect(fromInstall.stdout).toContain('t-42');
  });

  // The clone's lockfile and overrides do not reach a packed install: npm resolves the ranges in
  // package.json afresh, so a dependency that moved to Node >= 22 shows here first.
  it('installs every dependency without an engine warning on this Node', () => {
    expect(installOutput).not.toContain('EBADENGINE');
  });

  it('carries the examples `turnout demo` runs', () => {
    const pkg = join(prefix, 'lib', 'node_modules', 'turnout');
    for (const file of ['examples/shop.yaml', 'examples/services/service.mjs']) {
      expect(existsSync(join(pkg, file)), file).toBe(true);
    }
  });
});
