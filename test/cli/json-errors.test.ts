// `--json` means every error is JSON (issue 16): commander's own usage errors too (no plain text,
// no help dump), and a message never repeats its code. A table of failures, each run in-process
// through main() against a real API socket, and the commander case once more through the real bin.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { ERROR_CODES } from '../../src/errors.js';
import { ensureBuilt } from '../support/build.js';
import { turnout } from './run.js';

let server: Server;
let api: string;
let closed: string;

beforeAll(async () => {
  await ensureBuilt();
  // Answers like the real API for the paths below: a JSON error, or a body that is not JSON.
  server = createServer((req, res) => {
    if (req.url?.startsWith('/v1/tickets/999')) {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ error: { code: 'not_found', message: 'ticket 999 does not exist' } }),
      );
    } else if (req.url?.startsWith('/v1/products')) {
      res.statusCode = 403;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ error: { code: 'forbidden', message: 'role viewer may not do this' } }),
      );
    } else {
      res.statusCode = 502;
      res.end('<html>bad gateway</html>');
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port nothing listens on: bound, then closed.
  const gone = createServer();
  await new Promise<void>((done) => gone.listen(0, '127.0.0.1', done));
  closed = `http://127.0.0.1:${(gone.address() as AddressInfo).port}`;
  await new Promise<void>((done) => gone.close(() => done()));
}, 180_000);

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
});

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'turnout', ...argv], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

type Case = [what: string, argv: () => string[], code: string, exit: number, message: RegExp];

const CASES: Case[] = [
  [
    'unknown option',
    () => ['get', 'products', '--sett', 'x', '--json'],
    'invalid_argument',
    2,
    /^unknown option '--sett'/,
  ],
  [
    'missing argument',
    () => ['describe', '--json'],
    'invalid_argument',
    2,
    /^missing required argument 'kind'$/,
  ],
  [
    'missing required option',
    () => ['dtab', 'bind', '/svc', '--json'],
    'invalid_argument',
    2,
    /^required option '--dtab <dtab>' not specified$/,
  ],
  [
    'an option value not among its choices',
    () => ['host', 'list', '--state', 'bogus', '--json'],
    'invalid_argument',
    2,
    /^option '--state <state>' argument 'bogus' is invalid\. Allowed choices are ready, cordoned, draining, down\.$/,
  ],
  ['unknown command', () => ['gett', '--json'], 'invalid_argument', 2, /^unknown command 'gett'/],
  [
    'too many arguments',
    () => ['dtab', 'show', '/a=>/b', 'extra', '--json'],
    'invalid_argument',
    2,
    /^too many arguments for 'show'/,
  ],
  [
    'a command refuses its input',
    () => ['get', 'widgets', '--json'],
    'invalid_argument',
    2,
    /^unknown kind widgets: expected one of /,
  ],
  ['a dtab that does not parse', () => ['dtab', 'show', '/a=>', '--json'], 'dtab_syntax', 2, /./],
  [
    'the API: not found',
    () => ['get', 'tickets', '999', '--server', api, '--json'],
    'not_found',
    1,
    /^ticket 999 does not exist$/,
  ],
  [
    'the API: forbidden',
    () => ['get', 'products', '--server', api, '--json'],
    'forbidden',
    1,
    /^role viewer may not do this$/,
  ],
  [
    'the API answers no JSON',
    () => ['get', 'orgs', '--server', api, '--json'],
    'internal',
    1,
    /^the API answered HTTP 502$/,
  ],
  [
    'the API is down',
    () => ['get', 'orgs', '--server', closed, '--json'],
    'upstream_unavailable',
    1,
    /^cannot reach the Turnout API at .*connection refused/,
  ],
];

describe('--json: every error is one JSON object on stderr', () => {
  it.each(CASES)('%s', async (_what, argv, code, exit, message) => {
    const r = await run(argv());
    expect(r.code).toBe(exit);
    expect(ERROR_CODES[code as keyof typeof ERROR_CODES].exit).toBe(exit);
    expect(r.out).toBe('');
    // Exactly one line, and it is the whole of stderr: no text before it, no help after it.
    expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(r.err) as { error: { code: string; message: string } };
    expect(parsed.error.code).toBe(code);
    expect(parsed.error.message).toMatch(message);
    expect(parsed.error.message.startsWith(`${code}:`)).toBe(false);
  });

  it.each([
    [['get', 'products', '--sett', 'x', '--json'], '--sett'],
    [['dtab', 'bind', '/svc', '--json'], '--dtab'],
    [['host', 'list', '--state', 'bogus', '--json'], '--state'],
    [['describe', '--json'], undefined],
  ])('a usage error about an option names it as the field: %j', async (argv, field) => {
    const r = await run(argv);
    expect((JSON.parse(r.err) as { error: { field?: string } }).error.field).toBe(field);
  });

  it('without --json the same usage error stays text for people (with the help)', async () => {
    const r = await run(['get', 'products', '--sett', 'x']);
    expect(r.code).toBe(2);
    expect(r.err).toContain("error: unknown option '--sett'");
    expect(r.err).toContain('Usage: turnout get');
  });

  it('through the real bin: --sett x --json prints one JSON error and exit 2', async () => {
    const r = await turnout('release', 'create', 'shop', '--sett', 'orders=2.0.0', '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        code: 'invalid_argument',
        message: expect.stringMatching(/^unknown option '--sett'/),
        field: '--sett',
      },
    });
  });

  it('through the real bin: an API error message does not repeat its code', async () => {
    const r = await turnout('get', 'tickets', '999', '--server', api, '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr)).toEqual({
      error: { code: 'not_found', message: 'ticket 999 does not exist' },
    });
  });
});
