// `turnout server` and `turnout up` with a Postgres `--store` they cannot use: not an internal
// error but one naming the flag (or TURNOUT_STORE) and the reason, the password never shown. A
// Postgres that cannot be reached (nothing listens on its port) is upstream_unavailable, exit 1;
// one that answers and refuses the URL's database is invalid_argument, exit 2 (fix the URL).

import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import { withTestPostgres } from '../support/postgres.js';
import { madeTempDir } from '../support/temp-dir.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

const SECRET = 'hunter2-secret';

let parent: string;
let closed: number;

beforeAll(async () => {
  await ensureBuilt();
  parent = madeTempDir('turnout-store-unreachable-');
  // Free a moment ago, and nothing here listens on it.
  closed = await freePort();
}, 120_000);

/** `turnout <command>` on a fresh data dir with `store`, listening on a free loopback port. */
function start(command: 'server' | 'up', store: string, more: readonly string[] = []) {
  const data = join(parent, `${command}-${Math.random().toString(36).slice(2)}`);
  const listen = command === 'server' ? '--listen' : '--api';
  const local = command === 'up' ? ['--insecure-local', '--edge', 'off', '--outbound', 'off'] : [];
  return runTurnout([command, '--data', data, listen, '127.0.0.1:0', ...local, ...more], {
    env: store === '' ? {} : { TURNOUT_STORE: store },
  });
}

describe('a Postgres --store that nothing answers on', () => {
  const url = () => `postgres://turnout:${SECRET}@127.0.0.1:${closed}/turnout`;
  const masked = () => `postgres://turnout:***@127.0.0.1:${closed}/turnout`;

  it.each(['server', 'up'] as const)(
    'turnout %s: upstream_unavailable naming --store',
    async (c) => {
      const r = await start(c, '', ['--store', url()]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `turnout: --store: cannot connect to Postgres at ${masked()}: connect ECONNREFUSED 127.0.0.1:${closed}\n`,
      );
      expect(r.stderr).not.toContain(SECRET);
      expect(r.stderr).not.toContain('internal error');
    },
  );

  it.each(['server', 'up'] as const)('turnout %s --json: the same as a JSON error', async (c) => {
    const r = await start(c, '', ['--store', url(), '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toContain(SECRET);
    expect(JSON.parse(r.stderr)).toEqual({
      error: {
        code: 'upstream_unavailable',
        message: `--store: cannot connect to Postgres at ${masked()}: connect ECONNREFUSED 127.0.0.1:${closed}`,
        field: '--store',
      },
    });
  });

  it('names TURNOUT_STORE when the URL came from there', async () => {
    const r = await start('server', url(), ['--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error).toMatchObject({
      code: 'upstream_unavailable',
      field: 'TURNOUT_STORE',
    });
    expect(r.stderr).not.toContain(SECRET);
  });
});

withTestPostgres('a Postgres --store that refuses its database', (pgTest) => {
  it('turnout server --json: invalid_argument naming --store', async () => {
    const db = await pgTest.createDatabase('store_refused');
    try {
      const missing = new URL(db.url);
      missing.pathname = '/no_such_database';
      const r = await start('server', '', ['--store', missing.toString(), '--json']);
      expect(r.code).toBe(2);
      const { error } = JSON.parse(r.stderr);
      expect(error).toMatchObject({ code: 'invalid_argument', field: '--store' });
      expect(error.message).toMatch(
        /^--store: cannot connect to Postgres at .*\/no_such_database: database "no_such_database" does not exist$/,
      );
    } finally {
      await db.drop();
    }
  });
});
