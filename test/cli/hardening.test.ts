// The CLI against hostile input, on the real bin and a real `turnout up` (token auth): a YAML alias
// bomb is bad input (exit 2, invalid_argument), store text with control characters is printed
// escaped (an env value holding ESC[2J must not clear the terminal of whoever runs describe), and
// the data dir `up` creates is owner-only.

import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { ensureBuilt } from '../support/build.js';
import type { RunningUp } from '../support/turnout-up.js';
import { runTurnout, startUp } from '../support/turnout-up.js';

const ESC = '\u001b';
const CLEAR = `${ESC}[2J`;
const TITLE = `${ESC}]0;pwned\u0007`;

/** A few lines that expand to 9^9 strings when turned into values. */
const BOMB = [
  'kind: Org',
  'name: bomb',
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'
    .split('')
    .map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
].join('\n');

describe('the CLI and hostile input', () => {
  let up: RunningUp;
  let root: string;
  let ticketId: number;
  const cli = (...args: string[]) =>
    runTurnout([...args, '--server', up.server], { env: { TURNOUT_TOKEN: up.token ?? '' } });

  async function send(method: 'POST' | 'PUT', path: string, body: unknown): Promise<void> {
    const res = await request(`${up.server}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${up.token}` },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  }

  beforeAll(async () => {
    await ensureBuilt();
    root = mkdtempSync(join(tmpdir(), 'turnout-hostile-'));
    // a data dir `up` creates itself, so its mode is up's doing
    up = await startUp({ insecure: false, data: join(root, 'data') });
    await send('POST', '/v1/orgs', { name: 'acme' });
    await send('POST', '/v1/modules', {
      name: 'web',
      org: 'acme',
      run: { process: { command: 'node', args: [`--title=${TITLE}`], env: { CLEAR } } },
    });
    await send('POST', '/v1/modules/web/versions', {
      version: '2.0.0',
      run: { process: { env: { AGAIN: `x${CLEAR}y` } } },
    });
    await send('POST', '/v1/products', {
      name: 'shop',
      org: 'acme',
      entry: 'web',
      hosts: ['shop.localhost'],
    });
    // Tickets have no free-text writes in the API; the store takes them as the engine would.
    const store = await openSqliteStore(join(up.data, 'turnout.db'));
    try {
      const t = await store.createTicket(
        { product: 'shop', items: [{ module: 'web', version: '2.0.0' }] },
        `rey${CLEAR}`,
      );
      await store.appendTicketEvent(t.id, { type: 'note', data: { why: CLEAR } }, `eve${CLEAR}`);
      await store.updateTicket(t.id, { progress: { message: `halted ${CLEAR}here` } }, 'engine');
      ticketId = t.id;
    } finally {
      await store.close();
    }
  }, 180_000);

  afterAll(async () => {
    await up?.stop();
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  describe('a YAML alias bomb', () => {
    it('from a file is bad input: exit 2, invalid_argument, nothing applied', async () => {
      const file = join(root, 'bomb.yaml');
      writeFileSync(file, BOMB);
      const run = await cli('apply', '-f', file, '--json');
      expect(run.code, run.stderr).toBe(2);
      const error = JSON.parse(run.stderr).error;
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toContain('alias');
      expect(error.message).toContain(file);
      const orgs = (await up.get('/v1/orgs')) as { items: { name: string }[] };
      expect(orgs.items.map((o) => o.name)).toEqual(['acme']);
    });

    it('from standard input too, in text', async () => {
      const run = await runTurnout(['apply', '-f', '-', '--server', up.server], {
        env: { TURNOUT_TOKEN: up.token ?? '' },
        input: BOMB,
      });
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^turnout: -: document 1: its aliases expand too far/);
    });

    it('a file over 4 MiB is refused before it is parsed', async () => {
      const file = join(root, 'big.yaml');
      writeFileSync(file, `kind: Org\nname: big\n# ${'x'.repeat(4 * 1024 * 1024)}\n`);
      const run = await cli('apply', '-f', file, '--json');
      expect(run.code, run.stderr).toBe(2);
      const error = JSON.parse(run.stderr).error;
      expect(error).toMatchObject({ code: 'invalid_argument', field: 'file' });
      expect(error.message).toContain('larger than 4194304 bytes');
    });
  });

  describe('store text with control characters', () => {
    it('describe module prints env and args escaped, never a raw ESC', async () => {
      const run = await cli('describe', 'module', 'web');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain(ESC);
      expect(run.stdout).not.toContain('\u0007');
      expect(run.stdout).toContain('env CLEAR=\\x1b[2J');
      expect(run.stdout).toContain('--title=\\x1b]0;pwned\\x07');
      expect(run.stdout).toContain('AGAIN=x\\x1b[2Jy');
    });

    it('--json keeps the value, JSON-escaped', async () => {
      const run = await cli('describe', 'module', 'web', '--json');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain(ESC);
      expect(JSON.parse(run.stdout).module.run.process.env.CLEAR).toBe(CLEAR);
    });

    it('describe ticket prints the creator and event actors escaped', async () => {
      const run = await cli('describe', 'ticket', String(ticketId));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain(ESC);
      expect(run.stdout).toContain('by rey\\x1b[2J');
      expect(run.stdout).toContain('by eve\\x1b[2J');
    });

    it('release status prints the progress message and event actors escaped', async () => {
      const run = await cli('release', 'status', String(ticketId));
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain(ESC);
      expect(run.stdout).toContain('halted \\x1b[2Jhere');
      expect(run.stdout).toContain('by eve\\x1b[2J');
    });
  });

  describe("up's data dir", () => {
    it('is 0700, and the store, its WAL, the token and the records in it are 0600', async () => {
      const mode = (name: string) => (statSync(join(up.data, name)).mode & 0o777).toString(8);
      // `up` writes proxy.json once the proxy runs, after the API answers: wait for that.
      for (const name of ['proxy.json', 'proxy.log']) {
        await waitUntil(`${name} to exist`, () => existsSync(join(up.data, name)));
      }
      expect(mode('.')).toBe('700');
      expect(mode('instances')).toBe('700');
      for (const name of [
        'turnout.db',
        'turnout.db-wal',
        'turnout.db-shm',
        'admin-token',
        'up.pid',
        'proxy.json',
        'proxy.log',
      ]) {
        expect(mode(name), name).toBe('600');
      }
    });
  });
});

/** Polls a cheap local condition until it holds (the deadline only bounds a broken run). */
async function waitUntil(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
