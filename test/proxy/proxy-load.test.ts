// `turnout proxy` loads only what serving traffic needs (issue 15: memory): prom-client comes with
// the first scrape of /metrics and the YAML parser with the first YAML document, not at start.
// The real bin runs under a module-resolution hook that records every module it resolves (as in
// test/cli/lazy-load.test.ts); which modules load, not how much memory, so it holds on a busy
// machine.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';

const BIN = join(ROOT, 'bin', 'turnout.js');

let dir = '';
let child: ChildProcess | null = null;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-proxy-load-'));
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
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({
      version: 1,
      products: [{ name: 'shop', entry: 'web', dtab: '/svc/web => /v/web/1' }],
      modules: [
        { name: 'web', versions: [{ version: '1', endpoints: [{ address: '127.0.0.1:9' }] }] },
      ],
    }),
  );
}, 180_000);

afterAll(async () => {
  if (child !== null && child.exitCode === null) {
    const exited = new Promise((done) => child?.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Starts `turnout proxy` under the hook; resolves with its admin port once it is listening. */
function startProxy(log: string): Promise<number> {
  writeFileSync(log, '');
  child = spawn(
    process.execPath,
    [
      '--import',
      join(dir, 'register.mjs'),
      BIN,
      'proxy',
      '--config',
      join(dir, 'snapshot.json'),
      '--outbound',
      '127.0.0.1:0',
      '--edge',
      'off',
      '--admin',
      '127.0.0.1:0',
      '--data',
      join(dir, 'data'),
      '--workers',
      '1',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, TURNOUT_LOAD_LOG: log },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let err = '';
    child?.stderr?.setEncoding('utf8');
    child?.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const m = /admin 127\.0\.0\.1:(\d+)/.exec(err);
      if (m !== null) resolve(Number(m[1]));
    });
    child?.once('exit', (code) => reject(new Error(`turnout proxy exited ${code}: ${err}`)));
  });
}

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

function loadedPackages(log: string, names: readonly string[]): string[] {
  const urls = readFileSync(log, 'utf8').split('\n');
  return names.filter((pkg) => urls.some((u) => u.includes(`/node_modules/${pkg}/`)));
}

describe('turnout proxy loads what serving needs', () => {
  it('serves without prom-client or the YAML parser, and loads prom-client at the first scrape', async () => {
    const log = join(dir, 'load.log');
    const admin = await startProxy(log);
    const ready = await get(admin, '/ready');
    expect(ready.status).toBe(200);
    // The hook saw the data plane load (so the empty list below means something).
    expect(loadedPackages(log, ['undici', 'pino'])).toEqual(['undici', 'pino']);
    expect(loadedPackages(log, ['prom-client', 'yaml'])).toEqual([]);

    const metrics = await get(admin, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('turnout_config_version 1');
    expect(loadedPackages(log, ['prom-client'])).toEqual(['prom-client']);
  });
});
