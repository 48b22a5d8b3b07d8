// `turnout agent`'s bad input: a clear error naming the flag and the reason, exit 2, and nothing
// created (the data dir is checked after the flags). A token the server refuses at start ends the
// start the same way (a socket that answers 401 or 403 as the API does), instead of retrying.

import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnout } from '../cli/run.js';
import { tempDir } from '../runtime/support.js';
import { ensureBuilt } from '../support/build.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

const OK = ['--server', 'http://127.0.0.1:1', '--token', 't', '--advertise', '127.0.0.1'];

describe('turnout agent flags', () => {
  it.each([
    [['--advertise', 'host.example'], '--advertise', /expected an IP address/],
    [['--server', 'cp.example:7070'], '--server', /expected the API's http\(s\):\/\/host:port/],
    [['--token', ''], '--token', /agent token is required/],
    [['--name', 'Bad_Name'], '--name', /lower-case DNS name/],
    [['--labels', 'zone'], '--labels', /expected key=value/],
    [['--max-instances', '0'], '--max-instances', /whole number ≥ 1/],
    [['--ttl', '1000'], '--ttl', /at least 1500 ms/],
    [['--edge', 'nowhere'], '--edge', /expected host:port/],
    [['--artifact-cache-bytes', '10GB'], '--artifact-cache-bytes', /KiB, MiB or GiB/],
    [['--max-unpacked-bytes', '0'], '--max-unpacked-bytes', /whole number of bytes ≥ 1/],
    [['--max-unpacked-files', 'many'], '--max-unpacked-files', /whole number ≥ 1/],
  ])('%j is refused naming %s', async (bad, flag, why) => {
    const data = join(tempDir('agent-cli'), 'data');
    const run = await turnout('agent', ...OK, ...bad, '--data', data, '--json');
    expect(run.code).toBe(2);
    const error = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '{}').error;
    expect(error).toMatchObject({ code: 'invalid_argument', field: flag });
    expect(error.message).toMatch(why);
    expect(existsSync(data)).toBe(false);
  });
});

describe('turnout agent against a server that refuses its token', () => {
  let server: Server;
  let api: string;
  /** What the fake API answers every call: 401 for the token 'wrong', 403 for 'viewer'. */
  beforeAll(async () => {
    server = createServer((req, res) => {
      const viewer = req.headers.authorization === 'Bearer viewer';
      res.statusCode = viewer ? 403 : 401;
      res.setHeader('content-type', 'application/json');
      const error = viewer
        ? { code: 'forbidden', message: 'role viewer may not call this route (it needs agent)' }
        : { code: 'unauthorized', message: 'unknown bearer token' };
      res.end(JSON.stringify({ error }));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((done) => server.close(() => done()));
  });

  it.each([
    [
      'wrong',
      'unauthorized',
      2,
      /unknown bearer token — .*an agent needs a join token — `turnout server token join`/,
    ],
    ['viewer', 'forbidden', 1, /role viewer may not call this route/],
  ])('token %s: exits (%s, exit %i) naming --token and why', async (token, code, exit, why) => {
    const data = join(tempDir('agent-cli'), 'data');
    const run = await turnout(
      'agent',
      ...['--server', api, '--token', token, '--advertise', '127.0.0.1', '--name', 'h9'],
      ...['--no-proxy', '--data', data, '--json'],
    );
    expect(run.code).toBe(exit);
    const error = JSON.parse(run.stderr.trim().split('\n').at(-1) ?? '{}').error;
    expect(error).toMatchObject({ code, field: '--token' });
    expect(error.message).toContain(`refused host h9's token (${code}): `);
    expect(error.message).toMatch(why);
  });
});
