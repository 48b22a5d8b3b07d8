// The API contract against a SQLite store in a temp dir, plus what does not depend on the store:
// the OpenAPI document and insecure local mode.

import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { createApiServer, listenApi } from '../../src/api/server.js';
import { describeApiContract } from './api-contract.js';
import { sqliteStore, startApi } from './harness.js';

describeApiContract('sqlite', sqliteStore);

describe('GET /v1/edge', () => {
  it('answers the edge URL the control plane was given (null without one), to viewers', async () => {
    const without = await startApi();
    const given = await startApi({ edgeUrl: () => 'http://127.0.0.1:18080' });
    try {
      expect((await without.call('GET', '/v1/edge', { as: 'viewer' })).body).toEqual({ url: null });
      expect((await given.call('GET', '/v1/edge', { as: 'viewer' })).body).toEqual({
        url: 'http://127.0.0.1:18080',
      });
      expect((await given.call('GET', '/v1/edge', { as: null })).status).toBe(401);
    } finally {
      await without.close();
      await given.close();
    }
  });
});

describe('OpenAPI document', () => {
  it('is served without a token, is OpenAPI 3 JSON, and has a path for every route', async () => {
    const api = await startApi();
    try {
      const doc = await api.call('GET', '/openapi.json', { as: null });
      expect(doc.status).toBe(200);
      expect(doc.headers['content-type']).toMatch(/application\/json/);
      expect(doc.body.openapi).toMatch(/^3\./);
      const documented = new Set<string>();
      for (const [path, ops] of Object.entries(doc.body.paths as Record<string, object>)) {
        for (const method of Object.keys(ops)) documented.add(`${method.toUpperCase()} ${path}`);
      }
      const expected = [
        'GET /v1/orgs',
        'POST /v1/orgs',
        'GET /v1/orgs/{org}',
        'DELETE /v1/orgs/{org}',
        'GET /v1/products',
        'POST /v1/products',
        'GET /v1/products/{product}',
        'PUT /v1/products/{product}',
        'DELETE /v1/products/{product}',
        'GET /v1/modules',
        'POST /v1/modules',
        'GET /v1/modules/{module}',
        'PUT /v1/modules/{module}',
        'DELETE /v1/modules/{module}',
        'GET /v1/modules/{module}/versions',
        'POST /v1/modules/{module}/versions',
        'GET /v1/modules/{module}/versions/{version}',
        'DELETE /v1/modules/{module}/versions/{version}',
        'GET /v1/instances',
        'POST /v1/instances',
        'GET /v1/instances/{id}',
        'PATCH /v1/instances/{id}',
        'DELETE /v1/instances/{id}',
        'GET /v1/products/{product}/lanes',
        'POST /v1/products/{product}/lanes',
        'GET /v1/products/{product}/lanes/{lane}',
        'PUT /v1/products/{product}/lanes/{lane}',
        'DELETE /v1/products/{product}/lanes/{lane}',
        'GET /v1/tickets',
        'GET /v1/tickets/{id}',
        'GET /v1/tickets/{id}/events',
        'POST /v1/tickets',
        ...[
          'deploy',
          'prerelease',
          'canary',
          'approve',
          'promote',
          'abort',
          'amend',
          'revert',
          'rotate-prerelease',
        ].map((command) => `POST /v1/tickets/{id}/${command}`),
        'GET /v1/instances/{id}/logs',
        'GET /v1/audit',
        'POST /v1/apply',
        'GET /v1/stream',
        'GET /v1/snapshot',
        'POST /v1/instances/heartbeat',
        'GET /v1/traffic',
        'GET /v1/traffic/series',
        'GET /v1/whoami',
        'GET /v1/edge',
        'GET /v1/events',
        'POST /v1/explain',
        'POST /v1/products/{product}/try',
        'GET /v1/notifiers',
        'GET /v1/notifiers/{name}',
        'DELETE /v1/notifiers/{name}',
        'GET /v1/notifiers/{name}/deliveries',
        'GET /v1/hosts',
        'GET /v1/hosts/{name}',
        'PUT /v1/hosts/{name}',
        'POST /v1/hosts/{name}/heartbeat',
        'GET /v1/hosts/{name}/assignments',
        'GET /v1/hosts/{name}/assignments/stream',
        'PUT /v1/hosts/{name}/assignments/{id}/status',
        'POST /v1/hosts/{name}/stats',
        'POST /v1/hosts/{name}/cordon',
        'POST /v1/hosts/{name}/drain',
        'POST /v1/hosts/{name}/uncordon',
        'GET /v1/artifacts',
        'GET /v1/artifacts/{sha256}',
        'PUT /v1/artifacts/{sha256}',
        'POST /v1/artifacts/{sha256}/permits',
        'POST /v1/artifacts/permits/{permit}/renew',
        'DELETE /v1/artifacts/permits/{permit}',
        'GET /v1/assignments',
      ];
      expect([...documented].sort()).toEqual([...expected].sort());
      // Request bodies come from the store's schemas.
      const post = doc.body.paths['/v1/products'].post;
      const body = post.requestBody.content['application/json'].schema;
      expect(body.required).toEqual(expect.arrayContaining(['name', 'org', 'entry']));
      expect(post.responses['201']).toBeDefined();
    } finally {
      await api.close();
    }
  });
});

describe('insecure local mode', () => {
  it('needs no token, records actor "local", and refuses a non-loopback listen', async () => {
    const api = await startApi({ auth: { insecureLocal: true } });
    try {
      const a = await api.call('POST', '/v1/orgs', { as: null, body: { name: 'acme' } });
      expect(a.status).toBe(201);
      const audit = await api.call('GET', '/v1/audit', { as: null });
      expect(audit.body.items[0].actor).toBe('local');
      await expect(listenApi(api.app, { host: '0.0.0.0', port: 0 })).rejects.toMatchObject({
        code: 'invalid_argument',
        field: 'host',
      });
    } finally {
      await api.close();
    }
  });

  it('listenApi binds loopback in insecure mode', async () => {
    const { store, dispose } = await sqliteStore();
    const app = await createApiServer({ store, auth: { insecureLocal: true } });
    try {
      const address = await listenApi(app, { host: '127.0.0.1', port: 0 });
      expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await request(`${address}/v1/orgs`);
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    } finally {
      await app.close();
      await dispose();
    }
  });
});
