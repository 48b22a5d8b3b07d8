// Arguments the CLI can check are checked before anything is asked or printed: a walkthrough's
// `logs -f --interval -1s` printed the log's tail, then the error; `--interval 0s` polled the API
// without a pause; `get tickets abc` answered the API's "id: Invalid input: expected number,
// received NaN". The real bin, against an address where nothing listens (a check that asked the
// API first would fail there with another error, exit 1).

import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { turnout } from './run.js';

const NOWHERE = ['--server', 'http://127.0.0.1:9'];

beforeAll(ensureBuilt, 180_000);

describe('checked before any request', () => {
  it.each([
    [['logs', 'web-1', '-f', '--interval', '-1s'], '--interval -1s: a duration'],
    [['logs', 'web-1', '-f', '--interval', '0s'], '--interval 0s: from 100ms to 1h'],
    [['release', 'status', '1', '--watch', '--interval', '0s'], '--interval 0s: from 100ms to 1h'],
    [['get', 'tickets', 'abc'], 'ticket abc: a ticket id is a positive integer'],
    [['get', 'tickets', '99999999999999999999'], 'a ticket id is a positive integer'],
    [['describe', 'ticket', '0'], 'ticket 0: a ticket id is a positive integer'],
  ])('%j: exit 2 before any request, nothing on stdout', async (args, said) => {
    const r = await turnout(...args, ...NOWHERE);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    expect(r.stderr).toContain(said);
  });
});
