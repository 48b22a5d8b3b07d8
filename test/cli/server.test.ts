// `turnout server` as a real child process: the control plane alone on SQLite (and on Postgres),
// migrated at start, answering /v1/whoami with the admin token it generated (mode 0600, once),
// over TLS when given a certificate, refusing to listen beyond loopback without TLS or --insecure
// before anything starts, stopping on SIGTERM with exit 0 and its data dir unlocked; and
// `turnout server token join`, which prints the join token the server uses for agents.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { ensureBuilt } from '../support/build.js';
import { withTestPostgres } from '../support/postgres.js';
import { selfSignedCert } from '../support/self-signed.js';
import { call, startServer } from '../support/turnout-server.js';
import { freePort, runTurnout } from '../support/turnout-up.js';

let dir: string;

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'turnout-server-'));
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listen = async () => `127.0.0.1:${await freePort()}`;
const read = (path: string) => readFileSync(path, 'utf8').trim();

describe('turnout server on SQLite', () => {
  it('starts, migrates, answers whoami with its admin token, and stops on SIGTERM', async () => {
    const data = join(dir, 'sqlite');
    const server = await startServer(['--data', data, '--listen', await listen()]);
    try {
      const s = server.summary;
      expect(s.store).toBe(join(data, 'turnout.db'));
      expect(s.tokens).toEqual([
        { name: 'admin', role: 'admin' },
        { name: 'join', role: 'agent' },
      ]);
      expect(s.adminTokenFile).toBe(join(data, 'admin-token'));
      expect(s.joinTokenFile).toBe(join(data, 'join-token'));
      expect([s.adminTokenCreated, s.joinTokenCreated]).toEqual([true, true]);
      // Paths only: neither token is printed.
      const admin = read(join(data, 'admin-token'));
      const joinToken = read(join(data, 'join-token'));
      expect(JSON.stringify(s)).not.toContain(admin);
      expect(JSON.stringify(s)).not.toContain(joinToken);
      for (const f of ['admin-token', 'join-token'])
        expect(statSync(join(data, f)).mode & 0o777).toBe(0o600);
      expect(statSync(data).mode & 0o777).toBe(0o700);

      const me = await call(`${server.url}/v1/whoami`, admin);
      expect(me).toEqual({ status: 200, body: { name: 'admin', role: 'admin' } });
      // Migrated: the hosts table (migration 0005) takes a host.
      const put = await call(`${server.url}/v1/hosts/h1`, admin, 'PUT', { address: '10.0.0.1' });
      expect(put.status).toBe(200);
      // The join token is an agent's: it registers a host (bound to it), and reads nothing else.
      const joined = await call(`${server.url}/v1/hosts/h2`, joinToken, 'PUT', {
        address: '10.0.0.2',
      });
      expect(joined).toMatchObject({ status: 200, body: { name: 'h2', registeredBy: 'join' } });
      expect((await call(`${server.url}/v1/orgs`, joinToken)).status).toBe(403);
      expect((await call(`${server.url}/v1/whoami`, 'not-a-token')).status).toBe(401);
      // `server token join` prints the very token the server uses.
      const printed = await runTurnout(['server', 'token', 'join', '--data', data]);
      expect(printed).toMatchObject({ code: 0, stdout: `${joinToken}\n` });
    } finally {
      const end = await server.stop();
      expect(end).toEqual({ code: 0, signal: null });
    }
    expect(server.stderr()).toContain('turnout server: SIGTERM; stopping');
    // The data dir is unlocked, and a second start reuses both tokens and the store.
    expect(existsSync(join(data, 'up.pid'))).toBe(false);
    const admin = read(join(data, 'admin-token'));
    const again = await startServer(['--data', data, '--listen', await listen()]);
    try {
      expect([again.summary.adminTokenCreated, again.summary.joinTokenCreated]).toEqual([
        false,
        false,
      ]);
      const host = await call(`${again.url}/v1/hosts/h1`, admin);
      expect(host).toMatchObject({ status: 200, body: { name: 'h1', address: '10.0.0.1' } });
    } finally {
      expect(await again.stop()).toEqual({ code: 0, signal: null });
    }
  });

  it('refuses a data dir another server holds, naming it', async () => {
    const data = join(dir, 'locked');
    const first = await startServer(['--data', data, '--listen', await listen()]);
    try {
      const second = await runTurnout(['server', '--data', data, '--listen', await listen()]);
      expect(second.code).not.toBe(0);
      expect(second.stderr).toContain(
        `another turnout server (pid ${first.child.pid}) is running on data dir ${data}`,
      );
    } finally {
      await first.stop();
    }
  });

  it.each([
    [['--listen', '0.0.0.0:7070'], '--listen: 0.0.0.0 is beyond loopback'],
    [['--listen', '[::]:7070'], '--listen: :: is beyond loopback'],
    [['--listen', 'off'], '--listen cannot be off'],
    [['--tls-cert', '/nonexistent.pem'], '--tls-key: required with --tls-cert'],
    [['--store', 'mysql://db/x'], '--store: unknown store "mysql:"'],
  ])('refuses %j before anything starts: %s', async (args, message) => {
    const data = join(dir, `refused-${args.join('')}`.replace(/[^a-z0-9-]/gi, '_'));
    const run = await runTurnout(['server', '--data', data, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    if (message.includes('beyond loopback')) expect(run.stderr).toContain('--insecure');
    expect(existsSync(data)).toBe(false);
  });

  it('server token refuses what it does not know', async () => {
    const run = await runTurnout(['server', 'token', 'root', '--data', join(dir, 'tk')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown token root: expected admin or join');
    expect(existsSync(join(dir, 'tk'))).toBe(false);
  });
});

describe('turnout server --tls-cert --tls-key', () => {
  it('speaks HTTPS with the certificate', async () => {
    const { cert, key } = selfSignedCert(dir);

    const data = join(dir, 'tls');
    const server = await startServer([
      '--data',
      data,
      '--listen',
      await listen(),
      '--tls-cert',
      cert,
      '--tls-key',
      key,
    ]);
    try {
      expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(server.summary.tls).toBe(true);
      const admin = read(join(data, 'admin-token'));
      const me = await call(`${server.url}/v1/whoami`, admin, 'GET', undefined, read(cert));
      expect(me).toEqual({ status: 200, body: { name: 'admin', role: 'admin' } });
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
    }
  });
});

withTestPostgres('turnout server --store postgres://', (pgTest) => {
  it('runs on Postgres: migrated at start, what the API writes is there', async () => {
    const db = await pgTest.createDatabase('server_store');
    const data = join(dir, 'pg');
    // TURNOUT_STORE names it, as a systemd unit's Environment= would.
    const server = await startServer(['--data', data, '--listen', await listen()], {
      TURNOUT_STORE: db.url,
    });
    try {
      expect(server.summary.store).toMatch(/^postgres:\/\//);
      const admin = read(join(data, 'admin-token'));
      expect(await call(`${server.url}/v1/whoami`, admin)).toEqual({
        status: 200,
        body: { name: 'admin', role: 'admin' },
      });
      const put = await call(`${server.url}/v1/hosts/pg-host`, admin, 'PUT', {
        address: '10.0.0.9',
        labels: { zone: 'b' },
      });
      expect(put.status).toBe(200);
      const store = await openPostgresStore(db.url);
      try {
        expect((await store.getHost('pg-host'))?.labels).toEqual({ zone: 'b' });
      } finally {
        await store.close();
      }
      expect(existsSync(join(data, 'turnout.db'))).toBe(false);
    } finally {
      expect(await server.stop()).toEqual({ code: 0, signal: null });
      await db.drop();
    }
  });
});
