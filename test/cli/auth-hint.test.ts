// An API call refused for its token says how to authenticate (issue 16): --token, TURNOUT_TOKEN,
// and where `turnout up` and `turnout server` keep their admin token; and which token was refused. The real bin against
// a socket that answers 401 the way the API does (src/api/auth.ts).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { turnout } from './run.js';

let server: Server;
let api: string;

beforeAll(async () => {
  await ensureBuilt();
  server = createServer((req, res) => {
    res.statusCode = 401;
    res.setHeader('content-type', 'application/json');
    res.setHeader('www-authenticate', 'Bearer realm="turnout"');
    const message =
      req.headers.authorization === undefined
        ? 'missing bearer token (Authorization: Bearer <token>)'
        : 'unknown bearer token';
    res.end(JSON.stringify({ error: { code: 'unauthorized', message } }));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

const HOW =
  'pass the API token with --token <token> or TURNOUT_TOKEN; `turnout up` and `turnout server` save their admin token in <data>/admin-token (by default .turnout/admin-token; `turnout server token admin` prints it)';

describe('an unauthorized API call', () => {
  it('without a token: says none was sent and how to send one', async () => {
    const r = await turnout('get', 'orgs', '--server', api);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `turnout: unauthorized: missing bearer token (Authorization: Bearer <token>) — no token was sent: ${HOW}\n`,
    );
  });

  it('with a wrong --token: says that one was refused (as JSON with --json)', async () => {
    const r = await turnout('get', 'orgs', '--server', api, '--token', 'wrong', '--json');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        code: 'unauthorized',
        message: `unknown bearer token — the token from --token was refused: ${HOW}`,
      },
    });
  });
});
