// The download throttle's API (src/api/routes/permits.ts, the store's sql-permits.ts) on real
// SQLite: with K = 1, the first host is granted, the others learn their place in line; giving the
// permit back grants the next in line; a permit its agent stopped renewing expires, so a dead agent
// never blocks the fleet; an agent token speaks only for its own host; an assignment carries its
// artifact and a report its step and download progress.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withTestPostgres } from '../support/postgres.js';
import { waitFor } from '../support/wait.js';
import type { Api, StartApiOptions, StoreOpener } from './harness.js';
import { postgresOpener, seedCatalog, sqliteStore, startApi } from './harness.js';

const SHA = 'b'.repeat(64);
const BODY = { address: '10.0.0.1', labels: {}, capacity: null };

let api: Api | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

/** Which store the API under test opens (SQLite, or Postgres below). */
let open: StoreOpener = sqliteStore;

/** Hosts h1..h3 registered by agent-a (one join token, as a fleet's agents share). */
async function throttled(options: StartApiOptions): Promise<Api> {
  const a = await startApi({ open, ...options });
  api = a;
  await seedCatalog(a);
  for (const h of ['h1', 'h2', 'h3']) {
    const r = await a.call('PUT', `/v1/hosts/${h}`, { as: 'agent', body: BODY });
    expect(r.status).toBe(200);
  }
  return a;
}

const ask = (a: Api, host: string) =>
  a.call('POST', `/v1/artifacts/${SHA}/permits`, { as: 'agent', body: { host } });

function permitSuite(): void {
  it('grants K = 1 at once; the others wait in line; giving it back grants the next', async () => {
    const a = await throttled({ downloads: { maxConcurrent: 1 } });
    const first = await ask(a, 'h1');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ granted: true, ttlMs: 30_000 });
    expect((await ask(a, 'h2')).body).toEqual({ granted: false, position: 1, retryAfterMs: 500 });
    expect((await ask(a, 'h3')).body).toEqual({ granted: false, position: 2, retryAfterMs: 500 });
    // Asking again keeps one's place and, for the holder, the same permit.
    expect((await ask(a, 'h2')).body).toMatchObject({ granted: false, position: 1 });
    expect((await ask(a, 'h1')).body).toEqual(first.body);
    const renew = await a.call('POST', `/v1/artifacts/permits/${first.body.permit}/renew`, {
      as: 'agent',
      body: { host: 'h1' },
    });
    expect(renew.status).toBe(200);
    const back = await a.call('DELETE', `/v1/artifacts/permits/${first.body.permit}?host=h1`, {
      as: 'agent',
    });
    expect(back.status).toBe(204);
    // h3 asking first does not jump the line: h2 was there before it.
    expect((await ask(a, 'h3')).body).toMatchObject({ granted: false, position: 1 });
    expect((await ask(a, 'h2')).body).toMatchObject({ granted: true });
  });

  it('a permit not renewed expires: the next host gets it (a dead agent blocks nobody)', async () => {
    const a = await throttled({ downloads: { maxConcurrent: 1, ttlMs: 300 } });
    const first = await ask(a, 'h1');
    expect(first.body.granted).toBe(true);
    expect((await ask(a, 'h2')).body.granted).toBe(false);
    // h1 goes silent; h2 keeps asking as an agent does, and is granted once h1's permit expired.
    await waitFor('h2 granted after h1 expired', async () => (await ask(a, 'h2')).body.granted);
    const late = await a.call('POST', `/v1/artifacts/permits/${first.body.permit}/renew`, {
      as: 'agent',
      body: { host: 'h1' },
    });
    expect(late.status).toBe(404);
    expect(late.body.error.message).toMatch(/expired or was given back/);
  });

  it('refuses another token speaking for a host, a bad sha256 and an unknown host', async () => {
    const a = await throttled({});
    const other = await a.call('POST', `/v1/artifacts/${SHA}/permits`, {
      as: 'agentB',
      body: { host: 'h1' },
    });
    expect(other.status).toBe(403);
    const bad = await a.call('POST', '/v1/artifacts/XYZ/permits', {
      as: 'agent',
      body: { host: 'h1' },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/sha256/);
    expect((await ask(a, 'nope')).status).toBe(404);
    const viewer = await a.call('POST', `/v1/artifacts/${SHA}/permits`, {
      as: 'viewer',
      body: { host: 'h1' },
    });
    expect(viewer.status).toBe(403);
  });

  it('an assignment carries its artifact; a report its step and download progress', async () => {
    const a = await throttled({});
    await a.store.createAssignment(
      {
        id: 'web-1',
        host: 'h1',
        module: 'web',
        version: '1.0.0',
        run: { command: './bin/web', args: [], cwd: null, env: {} },
        artifact: { sha256: SHA, size: 1234 },
      },
      'engine',
    );
    const report = {
      phase: 'pending',
      step: 'download',
      download: { state: 'queued', bytes: 0, total: 1234, position: 2 },
    };
    const put = await a.call('PUT', '/v1/hosts/h1/assignments/web-1/status', {
      as: 'agent',
      body: report,
    });
    expect(put.status).toBe(204);
    const list = await a.call('GET', '/v1/hosts/h1/assignments', { as: 'agent' });
    expect(list.body.assignments[0]).toMatchObject({
      artifact: { sha256: SHA, size: 1234, url: null },
      status: report,
    });
    // Viewers see every host's (release status, the dashboard), filtered by module and version.
    const seen = await a.call('GET', '/v1/assignments?module=web&version=1.0.0', { as: 'viewer' });
    expect(seen.status).toBe(200);
    expect(seen.body.assignments.map((x: { id: string }) => x.id)).toEqual(['web-1']);
    const none = await a.call('GET', '/v1/assignments?module=account', { as: 'viewer' });
    expect(none.body.assignments).toEqual([]);
    expect((await a.call('GET', '/v1/assignments', { as: null })).status).toBe(401);
    const badStep = await a.call('PUT', '/v1/hosts/h1/assignments/web-1/status', {
      as: 'agent',
      body: { phase: 'pending', step: 'teleport' },
    });
    expect(badStep.status).toBe(400);
    expect(JSON.stringify(badStep.body)).toMatch(/step/);
  });
}

describe('download permits (sqlite)', () => {
  permitSuite();
});

withTestPostgres('download permits (postgres)', (pgTest) => {
  beforeAll(() => {
    open = postgresOpener(pgTest, 'turnout_permits');
  });
  afterAll(() => {
    open = sqliteStore;
  });
  permitSuite();
});
