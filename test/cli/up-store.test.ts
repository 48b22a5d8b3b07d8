// `turnout up --store`: the control plane on Postgres (migrated at start, nothing written to the
// data dir's SQLite file), and a store flag or TURNOUT_STORE that names nothing usable refused
// before anything starts (exit 2, the field named, no data dir created).

import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { ensureBuilt } from '../support/build.js';
import { withTestPostgres } from '../support/postgres.js';
import { runTurnout, startUp } from '../support/turnout-up.js';

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe('turnout up with a store that names nothing usable', () => {
  let parent: string;
  beforeAll(() => {
    parent = mkdtempSync(join(tmpdir(), 'turnout-up-store-'));
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it.each([
    [['--store', 'mysql://root:secret@db/t'], {}, '--store'],
    [[], { TURNOUT_STORE: 'postgres://db' }, 'TURNOUT_STORE'],
  ])('refuses %j %j naming %s, before anything starts', async (args, env, field) => {
    const data = join(parent, `data-${field}`);
    const run = await runTurnout(['up', '--data', data, '--api', '127.0.0.1:0', ...args], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${field}: `);
    expect(run.stderr).not.toContain('secret');
    expect(existsSync(data)).toBe(false);
  });
});

withTestPostgres('turnout up --store postgres://', (pgTest) => {
  it('runs the control plane on Postgres: migrated at start, what the API writes is there', async () => {
    const db = await pgTest.createDatabase('up_store');
    const up = await startUp({ insecure: true, args: ['--store', db.url] });
    try {
      const res = await request(`${up.server}/v1/orgs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'acme' }),
      });
      await res.body.text();
      expect(res.statusCode).toBe(201);
      // Postgres holds it (read past the control plane), and the data dir got no SQLite file.
      const store = await openPostgresStore(db.url);
      try {
        expect((await store.getOrg('acme'))?.name).toBe('acme');
      } finally {
        await store.close();
      }
      expect(existsSync(join(up.data, 'turnout.db'))).toBe(false);
    } finally {
      await up.stop();
      await db.drop();
    }
  });
});
