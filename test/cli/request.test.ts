// "Try it" (issue 16): one request to a product through a lane, sent by the control plane through
// the real edge with a short-lived signed override — against the real `turnout up` (its proxy with
// the data dir's override secret, the example services), through the API and the real bin.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { readReply } from '../../src/demo/load-summary.js';
import type { Api } from '../api/harness.js';
import { startApi } from '../api/harness.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { Stack } from '../support/release-stack.js';
import { Hopeless, startStack, waitFor } from '../support/release-stack.js';
import { runTurnout } from '../support/turnout-up.js';

describe('turnout request and POST /v1/products/:p/try through the real edge', () => {
  let stack: Stack;
  let id: number;

  const untilState = (t: number, state: string) =>
    waitFor(`ticket ${t} ${state}`, async () => {
      const got = await stack.get(`/v1/tickets/${t}`);
      if (got.state === state) return got;
      if (['failed', 'aborted'].includes(got.state))
        throw new Hopeless(`ticket ${t} is ${got.state}: ${got.progress?.message}`);
      throw new Error(`last seen ${got.state}: ${got.progress?.message}`);
    });
  const create = async (items: Record<string, string>) =>
    (
      await stack.post('/v1/tickets', {
        product: 'shop',
        items: Object.entries(items).map(([module, version]) => ({ module, version })),
      })
    ).id as number;

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startStack();
    const documents = parseAllDocuments(
      readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8'),
    ).map((d) => d.toJSON());
    await stack.post('/v1/apply', { documents });
    const base = await create({
      web: '1.0.0',
      orders: '1.0.0',
      account: '1.0.0',
      catalog: '1.0.0',
    });
    await stack.post(`/v1/tickets/${base}/promote`);
    await untilState(base, 'promoted');
    id = await create({ orders: '2.0.0' });
    await stack.post(`/v1/tickets/${id}/prerelease`);
    await untilState(id, 'prerelease');
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  it('sends through the lane: the lane’s versions serve it, the rest stable, and it is audited', async () => {
    // Given a plain request to the edge goes to stable (no secret header, no override).
    const plain = await request(`${stack.edge}/hello`, { headers: { host: 'shop.localhost' } });
    expect(readReply(await plain.body.text()).versions.orders).toBe('1.0.0');

    // When the API is asked to try the lane, with a header and a body.
    const tried = await stack.call('POST', '/v1/products/shop/try', {
      lane: `t-${id}`,
      method: 'POST',
      path: '/cart?x=1',
      headers: { 'x-user-id': 'tester' },
      body: '{"sku":1}',
    });

    // Then the answer is the product's, served by orders 2.0.0 and stable elsewhere, along the chain.
    expect(tried.status, JSON.stringify(tried.body)).toBe(200);
    expect(tried.body.status).toBe(200);
    expect(tried.body.routed).toEqual({ orders: '2.0.0' });
    expect(tried.body.served).toEqual({
      web: '1.0.0',
      orders: '2.0.0',
      account: '1.0.0',
      catalog: '1.0.0',
    });
    expect(tried.body.headers['content-type']).toBe('application/json');
    expect(JSON.parse(tried.body.body).service).toBe('web');
    expect(tried.body.bodyTruncated).toBe(false);

    // And it is in the audit log, with the token's name and without header values.
    const audit = await stack.get(`/v1/audit?target=lane/shop/t-${id}`);
    const entry = audit.items.find((a: { action: string }) => a.action === 'product.try');
    expect(entry.actor).toBe('local');
    expect(entry.after).toMatchObject({ method: 'POST', path: '/cart?x=1', status: 200 });
    expect(entry.after.headers).toEqual(['x-user-id']);
    expect(JSON.stringify(entry)).not.toContain('tester');
  }, 60_000);

  it('refuses bad input naming the field, and changes nothing', async () => {
    const before = (await stack.get('/v1/audit?limit=1')).items[0].id;
    const cases: [Record<string, unknown>, string][] = [
      [{ lane: `t-${id}`, headers: { host: 'evil' } }, 'headers.host'],
      [
        { lane: `t-${id}`, headers: { 'x-turnout-override': 'v1.x' } },
        'headers.x-turnout-override',
      ],
      [{ lane: `t-${id}`, path: 'no-slash' }, 'path'],
      [{ lane: `t-${id}`, method: 'CONNECT' }, 'method'],
      [{ lane: `t-${id}`, method: 'POST', body: 'x'.repeat(64 * 1024 + 1) }, 'body'],
      [{ lane: `t-${id}`, timeoutMs: 60_000 }, 'timeoutMs'],
    ];
    for (const [body, field] of cases) {
      const r = await stack.call('POST', '/v1/products/shop/try', body);
      expect(r.status, field).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
    }
    const missing = await stack.call('POST', '/v1/products/shop/try', { lane: 'no-such-lane' });
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('shop/no-such-lane');
    expect((await stack.get('/v1/audit?limit=1')).items[0].id).toBe(before);
  }, 60_000);

  it('turnout request prints the answer and the versions that served it; --json for scripts', async () => {
    const env = { TURNOUT_SERVER: stack.api };
    const text = await runTurnout(
      ['request', 'shop', '--lane', `t-${id}`, '-H', 'x-user-id: cli', '/orders'],
      { env },
    );
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('GET /orders → HTTP 200');
    expect(text.stdout).toContain(
      'served   account 1.0.0 · catalog 1.0.0 · orders 2.0.0* · web 1.0.0',
    );
    expect(text.stdout).toContain(`through lane t-${id} of shop`);

    const json = await runTurnout(
      ['request', 'shop', '--lane', `t-${id}`, '-X', 'delete', '-d', 'bye', '/x', '--json'],
      { env },
    );
    expect(json.code).toBe(0);
    const answer = JSON.parse(json.stdout);
    expect(answer.method).toBe('DELETE');
    expect(answer.served.orders).toBe('2.0.0');

    const bad = await runTurnout(['request', 'shop', '--lane', `t-${id}`, '-H', 'nocolon', '/'], {
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--header "nocolon": write it as \'name: value\'');
  }, 60_000);
});

describe('POST /v1/products/:p/try without an edge', () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is refused to a viewer (the control plane sends it from its own, trusted address)', async () => {
    const r = await api.call('POST', '/v1/products/shop/try', {
      as: 'viewer',
      body: { lane: 'x' },
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe('forbidden');
  });
});
