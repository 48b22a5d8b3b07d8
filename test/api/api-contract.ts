// The API contract over real HTTP, run against each store back-end (sqlite.test.ts,
// postgres.test.ts): CRUD round trips per resource, validation errors that change nothing, auth
// by role, pagination, the OpenAPI document and the 404 shape.

import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../store/fixtures.js';
import type { Answer, Api, StoreOpener } from './harness.js';
import { seedCatalog, startApi, TOKENS } from './harness.js';

const proc = { process: { command: 'node' } };

function expectError(a: Answer, status: number, code: string, field?: string): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.body.error.code).toBe(code);
  expect(typeof a.body.error.message).toBe('string');
  if (field === undefined) expect(a.body.error).not.toHaveProperty('field');
  else expect(a.body.error.field).toBe(field);
}

export function describeApiContract(label: string, open: StoreOpener): void {
  describe(`API over HTTP (${label})`, () => {
    let api: Api;
    beforeEach(async () => {
      api = await startApi({ open });
    });
    afterEach(async () => {
      await api.close();
    });

    describe('CRUD round trips', () => {
      it('orgs: create, get, list, delete, with the token name as audit actor', async () => {
        const created = await api.call('POST', '/v1/orgs', { body: { name: 'acme' } });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({ name: 'acme' });
        expect((await api.call('GET', '/v1/orgs/acme')).body.name).toBe('acme');
        const list = await api.call('GET', '/v1/orgs', { as: 'viewer' });
        expect(list.body).toEqual({ items: [created.body], nextCursor: null });
        expect((await api.call('DELETE', '/v1/orgs/acme')).status).toBe(204);
        expectError(await api.call('GET', '/v1/orgs/acme'), 404, 'not_found');
        const audit = await api.call('GET', '/v1/audit?target=org/acme');
        expect(audit.body.items.map((e: { actor: string; action: string }) => e.actor)).toEqual([
          'ada',
          'ada',
        ]);
        const byAda = await api.call('GET', '/v1/audit?actor=ada&target=org/acme');
        expect(byAda.body.items.map((e: { action: string }) => e.action)).toEqual([
          'org.create',
          'org.delete',
        ]);
        expect((await api.call('GET', '/v1/audit?actor=rey')).body.items).toEqual([]);
      });

      it('products: create, get, replace, list by org, delete', async () => {
        await seedCatalog(api);
        const got = await api.call('GET', '/v1/products/shop', { as: 'viewer' });
        expect(got.body).toMatchObject({ name: 'shop', entry: 'web', retainTickets: 5 });
        const put = await api.call('PUT', '/v1/products/shop', {
          body: { org: 'acme', entry: 'web', hosts: ['shop.example.org'], retainTickets: 2 },
        });
        expect(put.status).toBe(200);
        expect(put.body).toMatchObject({
          name: 'shop',
          hosts: ['shop.example.org'],
          retainTickets: 2,
        });
        expect((await api.call('GET', '/v1/products?org=acme')).body.items).toHaveLength(1);
        expect((await api.call('GET', '/v1/products?org=other')).body.items).toHaveLength(0);
        expect((await api.call('DELETE', '/v1/products/shop')).status).toBe(204);
        expectError(await api.call('GET', '/v1/products/shop'), 404, 'not_found');
      });

      it('modules and versions: create, get, replace, nested versions, delete', async () => {
        await seedCatalog(api);
        const mod = await api.call('GET', '/v1/modules/web');
        expect(mod.body).toMatchObject({ name: 'web', calls: ['account'], run: proc });
        const put = await api.call('PUT', '/v1/modules/account', {
          body: { org: 'acme', run: { process: { command: 'bun' } } },
        });
        expect(put.body.run.process.command).toBe('bun');
        const v = await api.call('POST', '/v1/modules/web/versions', {
          body: { version: '2.0.0', run: { process: { args: ['--fast'] } } },
        });
        expect(v.status).toBe(201);
        expect(v.body).toMatchObject({ module: 'web', version: '2.0.0' });
        // Idempotent for identical content.
        const again = await api.call('POST', '/v1/modules/web/versions', {
          body: { version: '2.0.0', run: { process: { args: ['--fast'] } } },
        });
        expect(again.status).toBe(201);
        const list = await api.call('GET', '/v1/modules/web/versions', { as: 'viewer' });
        expect(list.body.items.map((x: { version: string }) => x.version)).toEqual([
          '1.0.0',
          '2.0.0',
        ]);
        expect((await api.call('GET', '/v1/modules/web/versions/2.0.0')).body.version).toBe(
          '2.0.0',
        );
        expect((await api.call('DELETE', '/v1/modules/web/versions/2.0.0')).status).toBe(204);
        expectError(await api.call('GET', '/v1/modules/web/versions/2.0.0'), 404, 'not_found');
        expectError(await api.call('GET', '/v1/modules/nope/versions'), 404, 'not_found');
        await api.call('POST', '/v1/modules', { body: { name: 'spare', org: 'acme', run: proc } });
        expect((await api.call('DELETE', '/v1/modules/spare')).status).toBe(204);
        expectError(await api.call('GET', '/v1/modules/spare'), 404, 'not_found');
      });

      it('instances: releaser registers, patches and removes; viewer lists', async () => {
        await seedCatalog(api);
        const created = await api.call('POST', '/v1/instances', {
          as: 'releaser',
          body: {
            id: 'i-1',
            module: 'web',
            version: '1.0.0',
            host: 'h1',
            address: '127.0.0.1:9001',
          },
        });
        expect(created.status).toBe(201);
        expect(created.body).toMatchObject({
          id: 'i-1',
          state: 'starting',
          weight: 1,
          serving: false,
        });
        const patched = await api.call('PATCH', '/v1/instances/i-1', {
          as: 'releaser',
          body: { state: 'ready', health: 'healthy' },
        });
        expect(patched.body).toMatchObject({ state: 'ready', health: 'healthy', serving: true });
        const list = await api.call('GET', '/v1/instances?module=web', { as: 'viewer' });
        expect(list.body.items.map((i: { id: string }) => i.id)).toEqual(['i-1']);
        expect(list.body.items[0].serving).toBe(true);
        // Weight 0: the proxies send it nothing, so it is not serving (src/store/endpoint.ts).
        const unweighted = await api.call('PATCH', '/v1/instances/i-1', {
          as: 'releaser',
          body: { weight: 0 },
        });
        expect(unweighted.body).toMatchObject({ state: 'ready', serving: false });
        expect((await api.call('GET', '/v1/instances/i-1')).body.serving).toBe(false);
        expect((await api.call('GET', '/v1/instances?host=h2')).body.items).toEqual([]);
        expect((await api.call('GET', '/v1/instances/i-1')).body.address).toBe('127.0.0.1:9001');
        const audit = await api.call('GET', '/v1/audit?newestFirst=true&limit=1');
        expect(audit.body.items[0]).toMatchObject({ actor: 'rey' });
        expect((await api.call('DELETE', '/v1/instances/i-1', { as: 'releaser' })).status).toBe(
          204,
        );
        expectError(await api.call('GET', '/v1/instances/i-1'), 404, 'not_found');
      });

      it('lanes: releaser creates, replaces rules, deletes', async () => {
        await seedCatalog(api);
        const rules = [{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }];
        const created = await api.call('POST', '/v1/products/shop/lanes', {
          as: 'releaser',
          body: { name: 'dev', overlay: '/svc/web => /v/web/1.0.0;', rules },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(created.body).toMatchObject({ product: 'shop', name: 'dev', rules });
        const put = await api.call('PUT', '/v1/products/shop/lanes/dev', {
          as: 'releaser',
          body: { overlay: '', rules: [] },
        });
        expect(put.body).toMatchObject({ overlay: '', rules: [] });
        const list = await api.call('GET', '/v1/products/shop/lanes', { as: 'viewer' });
        expect(list.body.items).toHaveLength(1);
        expect((await api.call('GET', '/v1/products/shop/lanes/dev')).body.name).toBe('dev');
        expectError(await api.call('GET', '/v1/products/nope/lanes'), 404, 'not_found');
        const del = await api.call('DELETE', '/v1/products/shop/lanes/dev', { as: 'releaser' });
        expect(del.status).toBe(204);
        expectError(await api.call('GET', '/v1/products/shop/lanes/dev'), 404, 'not_found');
      });

      it('tickets: list, get and events (read-only)', async () => {
        await seedCatalog(api);
        const t = await api.store.createTicket(
          { product: 'shop', items: [{ module: 'web', version: '1.0.0' }] },
          'engine',
        );
        await api.store.appendTicketEvent(t.id, { type: 'created', data: { by: 'x' } }, 'engine');
        const list = await api.call('GET', '/v1/tickets?product=shop&state=open', { as: 'viewer' });
        expect(list.body.items.map((x: { id: number }) => x.id)).toEqual([t.id]);
        expect((await api.call('GET', '/v1/tickets?state=promoted')).body.items).toEqual([]);
        const got = await api.call('GET', `/v1/tickets/${t.id}`, { as: 'viewer' });
        expect(got.body).toMatchObject({ id: t.id, product: 'shop', state: 'open' });
        const events = await api.call('GET', `/v1/tickets/${t.id}/events`, { as: 'viewer' });
        expect(events.body.items).toMatchObject([{ type: 'created', data: { by: 'x' } }]);
        expectError(await api.call('GET', '/v1/tickets/999'), 404, 'not_found');
        expectError(await api.call('GET', '/v1/tickets/abc'), 400, 'invalid_argument', 'id');
      });
    });

    describe('lane overlays: a releaser binds only the product’s own modules; addresses need an admin', () => {
      const lanes = '/v1/products/shop/lanes';
      const seed = async () => {
        await seedCatalog(api);
        // A module of the same org that product shop does not use.
        const made = await api.call('POST', '/v1/modules', {
          body: { name: 'reports', org: 'acme', run: proc },
        });
        expect(made.status, JSON.stringify(made.body)).toBe(201);
        // The versions the overlays below name (an overlay may name only versions that exist).
        for (const [m, v] of [
          ['account', '2.0.0'],
          ['reports', '1.0.0'],
        ]) {
          const version = await api.call('POST', `/v1/modules/${m}/versions`, {
            body: { version: v },
          });
          expect(version.status, JSON.stringify(version.body)).toBe(201);
        }
      };

      it('a releaser may bind /v/<module>/<version> and /svc/<module> of the product, and ~ ! $', async () => {
        await seed();
        const overlay =
          '/svc/web => /v/web/1.0.0 | ~;\n/svc/account => 3 * /v/account/1.0.0 & 1 * /svc/web;\n/svc/x => !;\n/svc/y => $;';
        const created = await api.call('POST', lanes, {
          as: 'releaser',
          body: { name: 'dev', overlay },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const put = await api.call('PUT', `${lanes}/dev`, {
          as: 'releaser',
          body: { overlay: '/svc/account => /v/account/2.0.0;', rules: [] },
        });
        expect(put.status, JSON.stringify(put.body)).toBe(200);
      });

      const refused: { name: string; overlay: string; field: string; says: string[] }[] = [
        {
          name: 'the proxy admin port by /$/inet',
          overlay: '/svc/web => /$/inet/127.0.0.1/9990;',
          field: 'overlay[0]',
          says: ['/$/inet/127.0.0.1/9990', 'raw address', 'admin'],
        },
        {
          name: 'a /$/fixedinet branch of an alternation in the second rule',
          overlay:
            '/svc/web => /v/web/1.0.0;\n/svc/account => /v/account/1.0.0 | /$/fixedinet/127.0.0.1/9990;',
          field: 'overlay[1]',
          says: ['/$/fixedinet/127.0.0.1/9990', 'admin'],
        },
        {
          name: 'any other /$/ name',
          overlay: '/svc/web => /$/nil;',
          field: 'overlay[0]',
          says: ['/$/nil', 'admin'],
        },
        {
          name: 'a version of a module the product does not use',
          overlay: '/svc/web => /v/reports/1.0.0;',
          field: 'overlay[0]',
          says: ['reports', 'not one of product shop'],
        },
        {
          name: 'a name outside /v and /svc',
          overlay: '/svc/web => /elsewhere/web;',
          field: 'overlay[0]',
          says: ['/elsewhere/web', '/v/<module>/<version>'],
        },
        {
          name: 'a bare /v prefix (the request path would pick the module)',
          overlay: '/svc => /v;',
          field: 'overlay[0]',
          says: ['/v', '/v/<module>/<version>'],
        },
      ];

      for (const c of refused) {
        it(`a releaser is refused ${c.name}: 403 naming ${c.field}, nothing changes`, async () => {
          await seed();
          const before = await fingerprint(api.store);
          const post = await api.call('POST', lanes, {
            as: 'releaser',
            body: { name: 'dev', overlay: c.overlay },
          });
          expectError(post, 403, 'forbidden', c.field);
          for (const text of c.says) expect(post.body.error.message).toContain(text);
          expect(await fingerprint(api.store)).toEqual(before);
        });
      }

      it('a releaser cannot PUT an address into an existing lane; the lane stays as it was', async () => {
        await seed();
        const created = await api.call('POST', lanes, {
          as: 'releaser',
          body: { name: 'dev', overlay: '/svc/web => /v/web/1.0.0;' },
        });
        expect(created.status).toBe(201);
        const before = await fingerprint(api.store);
        const put = await api.call('PUT', `${lanes}/dev`, {
          as: 'releaser',
          body: { overlay: '/svc/web => /$/inet/127.0.0.1/9990;', rules: [] },
        });
        expectError(put, 403, 'forbidden', 'overlay[0]');
        expect(await fingerprint(api.store)).toEqual(before);
        expect((await api.call('GET', `${lanes}/dev`)).body.overlay).toBe(
          '/svc/web => /v/web/1.0.0;',
        );
      });

      it('an admin may route a lane to an address (POST and PUT)', async () => {
        await seed();
        const created = await api.call('POST', lanes, {
          as: 'admin',
          body: { name: 'ops', overlay: '/svc/web => /$/inet/127.0.0.1/9990;' },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const put = await api.call('PUT', `${lanes}/ops`, {
          as: 'admin',
          body: { overlay: '/svc/web => /v/reports/1.0.0 | /$/fixedinet/127.0.0.1/9991;' },
        });
        expect(put.status, JSON.stringify(put.body)).toBe(200);
      });

      for (const as of ['releaser', 'admin'] as const) {
        it(`a version that does not exist is refused for ${as}, POST and PUT: 400 naming overlay[i], nothing changes`, async () => {
          await seed();
          const before = await fingerprint(api.store);
          const post = await api.call('POST', lanes, {
            as,
            body: {
              name: 'dev',
              overlay: '/svc/web => /v/web/1.0.0;\n/svc/account => /v/account/9.9.9;',
            },
          });
          expectError(post, 400, 'invalid_argument', 'overlay[1]');
          expect(post.body.error.message).toContain('/v/account/9.9.9');
          expect(post.body.error.message).toContain('module account has no version 9.9.9');
          expect(await fingerprint(api.store)).toEqual(before);

          const created = await api.call('POST', lanes, {
            as,
            body: { name: 'dev', overlay: '/svc/web => /v/web/1.0.0;' },
          });
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          const stored = await fingerprint(api.store);
          // In a weighted union or an alternation too.
          const put = await api.call('PUT', `${lanes}/dev`, {
            as,
            body: { overlay: '/svc/web => 9 * /v/web/1.0.0 & 1 * (/v/web/3.0.0 | ~);', rules: [] },
          });
          expectError(put, 400, 'invalid_argument', 'overlay[0]');
          expect(put.body.error.message).toContain('module web has no version 3.0.0');
          expect(await fingerprint(api.store)).toEqual(stored);
        });
      }

      it('a releaser’s lane for a product that does not exist is not_found, not forbidden', async () => {
        await seed();
        expectError(
          await api.call('POST', '/v1/products/nope/lanes', {
            as: 'releaser',
            body: { name: 'dev', overlay: '/svc/web => /$/inet/127.0.0.1/9990;' },
          }),
          404,
          'not_found',
        );
      });
    });

    describe('validation errors name the field and change nothing', () => {
      const cases: {
        name: string;
        method: 'POST' | 'PUT' | 'PATCH' | 'GET';
        path: string;
        body?: unknown;
        status?: number;
        code?: string;
        field: string | undefined;
      }[] = [
        { name: 'missing name', method: 'POST', path: '/v1/orgs', body: {}, field: 'name' },
        {
          name: 'bad name',
          method: 'POST',
          path: '/v1/orgs',
          body: { name: 'A B' },
          field: 'name',
        },
        {
          name: 'unknown field',
          method: 'POST',
          path: '/v1/orgs',
          body: { name: 'x', colour: 'red' },
          field: 'colour',
        },
        {
          name: 'bad host',
          method: 'POST',
          path: '/v1/products',
          body: { name: 'p2', org: 'acme', entry: 'web', hosts: ['UPPER'] },
          field: 'hosts[0]',
        },
        {
          name: 'invalid dtab',
          method: 'PUT',
          path: '/v1/products/shop',
          body: { org: 'acme', entry: 'web', baseDtab: '/svc =>' },
          field: 'baseDtab',
        },
        {
          name: 'retainTickets out of range',
          method: 'PUT',
          path: '/v1/products/shop',
          body: { org: 'acme', entry: 'web', retainTickets: -1 },
          field: 'retainTickets',
        },
        {
          name: 'unknown entry module (store check)',
          method: 'POST',
          path: '/v1/products',
          body: { name: 'p2', org: 'acme', entry: 'ghost' },
          code: 'invalid_config',
          field: 'entry',
        },
        {
          name: 'module run with both runtimes',
          method: 'POST',
          path: '/v1/modules',
          body: {
            name: 'm2',
            org: 'acme',
            run: { process: { command: 'x' }, kubernetes: { image: 'i' } },
          },
          field: 'run',
        },
        {
          name: 'module calling an unknown module (store check)',
          method: 'POST',
          path: '/v1/modules',
          body: { name: 'm2', org: 'acme', calls: ['ghost'], run: proc },
          code: 'invalid_config',
          field: 'calls[0]',
        },
        {
          name: 'dependency cycle (store check)',
          method: 'PUT',
          path: '/v1/modules/account',
          body: { org: 'acme', calls: ['web'], run: proc },
          code: 'invalid_config',
          field: 'calls',
        },
        {
          name: 'duplicate org',
          method: 'POST',
          path: '/v1/orgs',
          body: { name: 'acme' },
          field: 'name',
        },
        {
          name: 'bad version label',
          method: 'POST',
          path: '/v1/modules/web/versions',
          body: { version: '-x' },
          field: 'version',
        },
        {
          name: 'version changed after creation',
          method: 'POST',
          path: '/v1/modules/web/versions',
          body: { version: '1.0.0', run: { process: { args: ['other'] } } },
          field: 'run',
        },
        {
          name: 'patching a missing instance',
          method: 'PATCH',
          path: '/v1/instances/i-9',
          body: { state: 'ready' },
          status: 404,
          code: 'not_found',
          field: undefined,
        },
        {
          name: 'bad instance address',
          method: 'POST',
          path: '/v1/instances',
          body: { module: 'web', version: '1.0.0', host: 'h', address: 'nope' },
          field: 'address',
        },
        {
          name: 'bad instance state',
          method: 'PATCH',
          path: '/v1/instances/i-9',
          body: { state: 'sleeping' },
          field: 'state',
        },
        {
          name: 'invalid lane rule',
          method: 'POST',
          path: '/v1/products/shop/lanes',
          body: { name: 'dev', rules: [{ lane: 'dev', header: { name: 'x' } }] },
          field: 'rules[0].header',
        },
        { name: 'limit too big', method: 'GET', path: '/v1/orgs?limit=5000', field: 'limit' },
        { name: 'limit not a number', method: 'GET', path: '/v1/audit?limit=x', field: 'limit' },
        {
          name: 'unknown query parameter',
          method: 'GET',
          path: '/v1/orgs?colour=red',
          field: 'colour',
        },
        {
          name: 'bad cursor (store check)',
          method: 'GET',
          path: '/v1/orgs?cursor=zz',
          field: 'cursor',
        },
        { name: 'bad ticket state', method: 'GET', path: '/v1/tickets?state=done', field: 'state' },
      ];

      for (const c of cases) {
        it(c.name, async () => {
          await seedCatalog(api);
          const before = await fingerprint(api.store);
          const answer = await api.call(c.method, c.path, { body: c.body, as: 'admin' });
          expectError(answer, c.status ?? 400, c.code ?? 'invalid_argument', c.field);
          expect(await fingerprint(api.store)).toEqual(before);
        });
      }

      it('a malformed JSON body is bad_request', async () => {
        expectError(await api.call('POST', '/v1/orgs', { raw: '{"name":' }), 400, 'bad_request');
      });
    });

    describe('auth', () => {
      it('no token → 401 with a Bearer challenge, and changes nothing', async () => {
        const before = await fingerprint(api.store);
        const a = await api.call('POST', '/v1/orgs', { as: null, body: { name: 'x' } });
        expectError(a, 401, 'unauthorized');
        expect(a.headers['www-authenticate']).toMatch(/^Bearer/);
        expectError(await api.call('GET', '/v1/orgs', { as: null }), 401, 'unauthorized');
        expect(await fingerprint(api.store)).toEqual(before);
      });

      it('an unknown token → 401', async () => {
        expectError(await api.call('GET', '/v1/orgs', { token: 'nope' }), 401, 'unauthorized');
      });

      it('auth comes before validation: no token and a bad body is still 401', async () => {
        expectError(
          await api.call('POST', '/v1/orgs', { as: null, body: {} }),
          401,
          'unauthorized',
        );
      });

      it('wrong role → 403 and changes nothing', async () => {
        await seedCatalog(api);
        const before = await fingerprint(api.store);
        const writes: [string, 'POST' | 'PUT' | 'PATCH' | 'DELETE', string, unknown][] = [
          ['releaser', 'POST', '/v1/orgs', { name: 'x' }],
          ['releaser', 'DELETE', '/v1/products/shop', undefined],
          ['releaser', 'POST', '/v1/modules/web/versions', { version: '9.0.0' }],
          ['viewer', 'POST', '/v1/products/shop/lanes', { name: 'dev' }],
          [
            'viewer',
            'POST',
            '/v1/instances',
            { module: 'web', version: '1.0.0', host: 'h', address: '127.0.0.1:1' },
          ],
          ['viewer', 'PUT', '/v1/modules/web', { org: 'acme', run: proc }],
        ];
        for (const [as, method, path, body] of writes) {
          const a = await api.call(method, path, { as: as as 'viewer', body });
          expectError(a, 403, 'forbidden');
        }
        expect(await fingerprint(api.store)).toEqual(before);
      });

      it('a viewer can read every resource', async () => {
        await seedCatalog(api);
        for (const path of [
          '/v1/orgs',
          '/v1/orgs/acme',
          '/v1/products',
          '/v1/products/shop',
          '/v1/modules',
          '/v1/modules/web',
          '/v1/modules/web/versions',
          '/v1/instances',
          '/v1/products/shop/lanes',
          '/v1/tickets',
          '/v1/audit',
        ]) {
          expect((await api.call('GET', path, { as: 'viewer' })).status, path).toBe(200);
        }
      });

      it('the config stream (registered from stream.ts) needs a token; a viewer gets SSE', async () => {
        expectError(await api.call('GET', '/v1/stream', { as: null }), 401, 'unauthorized');
        const res = await request(`${api.url}/v1/stream`, {
          headers: { authorization: `Bearer ${TOKENS.viewer}` },
        });
        try {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
        } finally {
          res.body.destroy();
        }
      });

      it('unknown routes answer 404 in the error shape', async () => {
        const a = await api.call('GET', '/v1/nothing-here', { as: 'viewer' });
        expectError(a, 404, 'not_found');
        expectError(await api.call('DELETE', '/v1/audit'), 404, 'not_found');
        expectError(await api.call('GET', '/v1/nothing-here', { as: null }), 401, 'unauthorized');
      });
    });

    describe('pagination', () => {
      it('every list pages with limit and cursor, without gaps or repeats', async () => {
        for (let i = 0; i < 7; i++) {
          await api.call('POST', '/v1/orgs', { body: { name: `org-${i}` } });
        }
        const names: string[] = [];
        const sizes: number[] = [];
        let cursor: string | null = null;
        do {
          const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
          const page = await api.call('GET', `/v1/orgs?limit=3${q}`, { as: 'viewer' });
          expect(page.status).toBe(200);
          names.push(...page.body.items.map((o: { name: string }) => o.name));
          sizes.push(page.body.items.length);
          cursor = page.body.nextCursor;
        } while (cursor !== null);
        expect(sizes).toEqual([3, 3, 1]);
        expect(names).toEqual([...Array(7)].map((_, i) => `org-${i}`));
        const audit = await api.call('GET', '/v1/audit?limit=2&newestFirst=true');
        expect(audit.body.items).toHaveLength(2);
        expect(audit.body.items[0].id).toBeGreaterThan(audit.body.items[1].id);
        expect(typeof audit.body.nextCursor).toBe('string');
      });
    });
  });
}
