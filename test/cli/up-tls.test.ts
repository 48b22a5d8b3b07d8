// `turnout up` over TLS: the API speaks HTTPS with the given certificate, its own proxy follows the
// https stream (trusting that certificate), and the CLI reaches it with --ca or TURNOUT_CA and says
// what to do without. Beyond loopback, plain HTTP is refused unless --insecure, before anything
// starts. The certificate is made by openssl for 127.0.0.1 in a temporary dir.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';
import { selfSignedCert } from '../support/self-signed.js';
import { freePort, runTurnout } from '../support/turnout-up.js';
import { Hopeless, waitFor } from '../support/wait.js';

const BIN = join(ROOT, 'bin', 'turnout.js');
let dir: string;
let cert: string;
let key: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-tls-'));
  ({ cert, key } = selfSignedCert(dir));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('turnout up --tls-cert --tls-key', () => {
  let up: ChildProcess | undefined;
  afterAll(async () => {
    if (up !== undefined && up.exitCode === null && up.signalCode === null) {
      const exited = new Promise((r) => up?.once('exit', r));
      up.kill('SIGTERM');
      await exited;
    }
  });

  it('serves HTTPS; its proxy follows the https stream; the CLI trusts it with --ca', async () => {
    const [apiPort, adminPort] = [await freePort(), await freePort()];
    const data = join(dir, 'data');
    up = spawn(
      process.execPath,
      [
        BIN,
        'up',
        '--json',
        '--data',
        data,
        '--api',
        `127.0.0.1:${apiPort}`,
        '--outbound',
        'off',
        '--edge',
        'off',
        '--admin',
        `127.0.0.1:${adminPort}`,
        '--tls-cert',
        cert,
        '--tls-key',
        key,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    up.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    up.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const child = up;
    // The proxy is ready only once it applied a snapshot from the https stream.
    await waitFor(
      'the proxy to apply a snapshot from the https stream',
      async () => {
        if (child.exitCode !== null) throw new Hopeless(`turnout up exited: ${stderr}`);
        const res = await request(`http://127.0.0.1:${adminPort}/ready`);
        await res.body.text();
        // …and up has printed what runs where (once its proxy said it listens).
        return res.statusCode === 200 && stdout.includes('\n');
      },
      { timeoutMs: 60_000, everyMs: 100 },
    );
    const summary = JSON.parse(stdout.split('\n')[0] ?? '{}') as { api: string; tls: boolean };
    const server = `https://127.0.0.1:${apiPort}`;
    expect(summary).toMatchObject({ api: server, tls: true });
    const token = readFileSync(join(data, 'admin-token'), 'utf8').trim();

    const withCa = await runTurnout(
      ['get', 'products', '--json', '--server', server, '--ca', cert],
      {
        env: { TURNOUT_TOKEN: token },
      },
    );
    expect(withCa.code, withCa.stderr).toBe(0);
    expect(JSON.parse(withCa.stdout)).toEqual([]);

    const fromEnv = await runTurnout(['get', 'products', '--json', '--server', server], {
      env: { TURNOUT_TOKEN: token, TURNOUT_CA: cert },
    });
    expect(fromEnv.code, fromEnv.stderr).toBe(0);

    const untrusted = await runTurnout(['get', 'products', '--server', server], {
      env: { TURNOUT_TOKEN: token },
    });
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.stderr).toMatch(/TLS certificate is not trusted .*--ca <file> or TURNOUT_CA/);

    const missingCa = await runTurnout(
      ['get', 'products', '--server', server, '--ca', join(dir, 'nope.pem')],
      { env: { TURNOUT_TOKEN: token } },
    );
    expect(missingCa.code).toBe(2);
    expect(missingCa.stderr).toContain('--ca: cannot read');
  });
});

describe('turnout up refuses, before anything starts', () => {
  it.each([
    [
      ['--api', '0.0.0.0:0'],
      /--api: 0\.0\.0\.0 is beyond loopback.*--tls-cert and --tls-key, or --insecure/,
    ],
    [['--tls-cert', 'CERT'], /--tls-key: required with --tls-cert/],
    [['--tls-key', 'KEY'], /--tls-cert: required with --tls-key/],
    [['--tls-cert', 'MISSING', '--tls-key', 'KEY'], /--tls-cert: cannot read .*: no such file/],
    [['--tls-cert', 'KEY_AS_DIR', '--tls-key', 'KEY'], /--tls-cert: cannot read .*: a directory/],
  ])('%j', async (args, message) => {
    const data = join(dir, `refused-${Math.random().toString(36).slice(2)}`);
    const real = args.map((a) =>
      a === 'CERT'
        ? cert
        : a === 'KEY'
          ? key
          : a === 'MISSING'
            ? join(dir, 'missing.pem')
            : a === 'KEY_AS_DIR'
              ? dir
              : a,
    );
    const run = await runTurnout(['up', '--data', data, '--admin', 'off', ...real]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(existsSync(data)).toBe(false);
  });
});
