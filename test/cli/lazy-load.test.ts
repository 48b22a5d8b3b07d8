// Start-up stays cheap: a command loads what it needs when it runs (issue 16). The real bin runs
// with a module-resolution hook (node --import) that records every module it resolves; commands
// that need no server stack must not load one. Which modules load, not how long it takes, so the
// test holds on a busy machine (bench/cli-startup.ts measures the time).

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { ROOT } from './run.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

/** Packages only the server side (up, demo, proxy) or a file-reading command needs. */
const HEAVY = [
  'fastify',
  '@fastify/static',
  '@fastify/swagger',
  'fastify-type-provider-zod',
  'better-sqlite3',
  'kysely',
  'pg',
  'undici',
  'pino',
  'prom-client',
  'zod',
  'yaml',
  're2js',
];

let dir: string;
let server: Server;
let api: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-lazy-'));
  // The hook runs on the loader thread and appends each resolved URL to $TURNOUT_LOAD_LOG.
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.TURNOUT_LOAD_LOG, r.url + '\\n');
  return r;
}\n`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
  );
  // A real API socket for `get`: an empty product list.
  server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ items: [], nextCursor: null }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  rmSync(dir, { recursive: true, force: true });
});

let runs = 0;

/** Runs the bin under the hook; answers its exit code and every module URL it resolved. */
function loaded(...args: string[]): Promise<{ code: number; stdout: string; urls: string[] }> {
  const log = join(dir, `load-${++runs}.log`);
  writeFileSync(log, '');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', join(dir, 'register.mjs'), BIN, ...args],
      { cwd: ROOT, timeout: 60_000, env: { ...process.env, TURNOUT_LOAD_LOG: log } },
      (error, stdout) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, urls: readFileSync(log, 'utf8').split('\n').filter(Boolean) });
      },
    );
  });
}

/** The heavy packages among the loaded URLs (by their node_modules folder). */
function heavyIn(urls: readonly string[]): string[] {
  return HEAVY.filter((pkg) => urls.some((u) => u.includes(`/node_modules/${pkg}/`)));
}

/** Our own server-side modules among the loaded URLs. */
function stackIn(urls: readonly string[]): string[] {
  return urls.filter((u) =>
    /\/dist\/(store|server|api|control|runtime|release)\/|\/dist\/proxy\/main\.js|\/dist\/cli\/local-stack\.js/.test(
      u,
    ),
  );
}

describe('start-up loads only what the command needs', () => {
  it('the hook sees the modules the bin loads (so an empty list below means something)', async () => {
    const r = await loaded('--version');
    expect(r.code).toBe(0);
    expect(r.urls.some((u) => u.endsWith('/dist/cli/main.js'))).toBe(true);
    expect(r.urls.some((u) => u.includes('/node_modules/commander/'))).toBe(true);
  });

  it.each([
    { args: ['--version'] },
    { args: ['--help'] },
    { args: ['dtab', 'show', '/svc => /v/orders/1.0.0'] },
    { args: ['release', '--help'] },
    { args: ['push', '--help'] },
  ])('turnout $args loads no server stack', async ({ args }) => {
    const r = await loaded(...args);
    expect(r.code).toBe(0);
    expect(heavyIn(r.urls)).toEqual([]);
    expect(stackIn(r.urls)).toEqual([]);
  });

  it('turnout get products talks to the API without loading undici or the stack', async () => {
    const r = await loaded('get', 'products', '--server', api);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('No resources found.');
    expect(heavyIn(r.urls)).toEqual([]);
    expect(stackIn(r.urls)).toEqual([]);
  });

  it('a command that reads YAML still loads its parser when it runs', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'kind: Org\nname: [unclosed\n');
    const r = await loaded('apply', '-f', file, '--server', api);
    expect(r.code).toBe(2);
    expect(heavyIn(r.urls)).toContain('yaml');
  });
});
