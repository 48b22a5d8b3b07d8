// POST /v1/apply over real HTTP, run against each store back-end (apply-sqlite.test.ts,
// apply-postgres.test.ts): examples/shop.yaml on a fresh store, idempotence, dry runs that change
// nothing, and every rejected apply naming document and field and leaving the store as it was.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { processRunOf } from '../../src/store/run-spec.js';
import { fingerprint } from '../store/fixtures.js';
import { ROOT } from '../support/build.js';
import type { Answer, Api, StoreOpener } from './harness.js';
import { startApi } from './harness.js';

type Doc = Record<string, unknown>;

/** examples/shop.yaml as documents, the way the CLI sends them. */
export function shopDocuments(): Doc[] {
  const text = readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

const proc = { process: { command: 'node' } };

function expectError(a: Answer, status: number, code: string, field: string): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.body.error.code).toBe(code);
  expect(a.body.error.field).toBe(field);
  expect(a.body.error.message.startsWith(`${field}: `), a.body.error.message).toBe(true);
}

export function describeApplyContract(label: string, open: StoreOpener): void {
  describe(`POST /v1/apply (${label})`, () => {
    let api: Api;
    beforeEach(async () => {
      api = await startApi({ open });
    });
    afterEach(async () => {
      await api.close();
    });

    const apply = (documents: unknown[], dryRun?: boolean, as?: 'admin' | 'releaser' | 'viewer') =>
      api.call('POST', '/v1/apply', {
        as: as ?? 'admin',
        body: dryRun === undefined ? { documents } : { documents, dryRun },
      });

    it('applies examples/shop.yaml to a fresh store in one transaction', async () => {
      const docs = shopDocuments();
      const before = await api.store.changeVersion();
      const a = await apply(docs);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body).toMatchObject({
        dryRun: false,
        changed: true,
        counts: { create: docs.length, update: 0, unchanged: 0 },
      });
      expect(a.body.actions.map((x: { index: number }) => x.index)).toEqual(docs.map((_, i) => i));
      // One commit for the whole apply: the change counter moved by exactly one.
      expect(await api.store.changeVersion()).toBe(before + 1);

      const shop = await api.call('GET', '/v1/products/shop');
      expect(shop.body).toMatchObject({ org: 'acme', entry: 'web', hosts: ['shop.localhost'] });
      const admin = await api.call('GET', '/v1/products/admin');
      expect(admin.body).toMatchObject({ entry: 'console', hosts: ['admin.localhost'] });
      const web = await api.call('GET', '/v1/modules/web');
      expect(web.body.calls).toEqual(['orders', 'catalog']);
      expect(web.body.health.path).toBe('/healthz');
      expect(web.body.run.process).toMatchObject({
        command: 'node',
        args: ['examples/services/service.mjs'],
        env: { SERVICE_NAME: 'web' },
      });
      const modules = await api.call('GET', '/v1/modules');
      expect(modules.body.items.map((m: { name: string }) => m.name)).toEqual([
        'account',
        'catalog',
        'console',
        'orders',
        'web',
      ]);
      for (const m of ['account', 'catalog', 'console', 'orders', 'web']) {
        const versions = await api.call('GET', `/v1/modules/${m}/versions`);
        // Every module has 1.0.0 and 2.0.0; orders also the faulty 2.1.0.
        expect(versions.body.items.map((v: { version: string }) => v.version)).toEqual(
          m === 'orders' ? ['1.0.0', '2.0.0', '2.1.0'] : ['1.0.0', '2.0.0'],
        );
        const module = (await api.call('GET', `/v1/modules/${m}`)).body;
        // What the runtime starts: the module's spec with the version's env merged in.
        expect(processRunOf(module.run, versions.body.items[1].run)).toMatchObject({
          command: 'node',
          args: ['examples/services/service.mjs'],
          env: { SERVICE_NAME: m, SERVICE_VERSION: '2.0.0' },
        });
      }
      const audit = await api.call('GET', '/v1/audit?limit=1000');
      expect(audit.body.items).toHaveLength(docs.length);
      expect(new Set(audit.body.items.map((e: { actor: string }) => e.actor))).toEqual(
        new Set(['ada']),
      );
    });

    it('a second apply of the same documents changes nothing and says so', async () => {
      const docs = shopDocuments();
      expect((await apply(docs)).status).toBe(200);
      const before = await fingerprint(api.store);
      const again = await apply(docs);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({
        changed: false,
        counts: { create: 0, update: 0, unchanged: docs.length },
      });
      expect(await fingerprint(api.store)).toEqual(before);
    });

    it('a dry run reports what would change and changes nothing', async () => {
      const docs = shopDocuments();
      const before = await fingerprint(api.store);
      const dry = await apply(docs, true);
      expect(dry.status, JSON.stringify(dry.body)).toBe(200);
      expect(dry.body).toMatchObject({
        dryRun: true,
        changed: true,
        counts: { create: docs.length, update: 0, unchanged: 0 },
      });
      expect(await fingerprint(api.store)).toEqual(before);
      // The real apply then does exactly what the dry run said.
      const real = await apply(docs, false);
      expect(real.body.actions).toEqual(dry.body.actions);
    });

    it('a dry run of an update lists each changed field, before and after', async () => {
      const docs = shopDocuments();
      await apply(docs);
      const changed = docs.map((d) =>
        d.kind === 'Product' && d.name === 'shop'
          ? { ...d, hosts: ['shop.localhost', 'www.shop.localhost'], retainTickets: 3 }
          : d.kind === 'Module' && d.name === 'orders'
            ? { ...d, calls: ['account', 'catalog'] }
            : d,
      );
      const before = await fingerprint(api.store);
      const dry = await apply(changed, true);
      expect(dry.body.counts).toEqual({
        create: 0,
        update: 2,
        unchanged: docs.length - 2,
        prune: 0,
      });
      const updates = dry.body.actions.filter((x: { action: string }) => x.action === 'update');
      expect(updates).toEqual([
        {
          index: expect.any(Number),
          kind: 'Module',
          name: 'orders',
          action: 'update',
          changes: [{ field: 'calls', before: ['account'], after: ['account', 'catalog'] }],
        },
        {
          index: expect.any(Number),
          kind: 'Product',
          name: 'shop',
          action: 'update',
          changes: [
            {
              field: 'hosts',
              before: ['shop.localhost'],
              after: ['shop.localhost', 'www.shop.localhost'],
            },
            { field: 'retainTickets', before: 2, after: 3 },
          ],
        },
      ]);
      expect(await fingerprint(api.store)).toEqual(before);
      const real = await apply(changed);
      expect(real.body.counts.update).toBe(2);
      expect((await api.call('GET', '/v1/products/shop')).body.retainTickets).toBe(3);
    });

    it('a field a document leaves out keeps what others set since (a promoted base dtab)', async () => {
      const docs = shopDocuments();
      await apply(docs);
      const dtab = '/svc/web => /v/web/2.0.0;';
      const put = await api.call('PUT', '/v1/products/shop', {
        body: {
          org: 'acme',
          entry: 'web',
          hosts: ['shop.localhost'],
          retainTickets: 2,
          baseDtab: dtab,
        },
      });
      expect(put.status).toBe(200);
      const again = await apply(docs);
      expect(again.body.changed).toBe(false);
      expect((await api.call('GET', '/v1/products/shop')).body.baseDtab).toBe(dtab);
      // Written out, it is replaced.
      const reset = docs.map((d) =>
        d.kind === 'Product' && d.name === 'shop' ? { ...d, baseDtab: '' } : d,
      );
      const applied = await apply(reset);
      expect(applied.body.actions.find((x: { name: string }) => x.name === 'shop').changes).toEqual(
        [{ field: 'baseDtab', before: dtab, after: '' }],
      );
    });

    it('a lane overlay may name a version the same apply creates', async () => {
      expect((await apply(shopDocuments())).status).toBe(200);
      const a = await apply([
        {
          kind: 'Lane',
          product: 'shop',
          name: 'qa',
          overlay: '/svc/orders => /v/orders/3.0.0;',
        },
        { kind: 'Version', module: 'orders', version: '3.0.0' },
      ]);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect((await api.call('GET', '/v1/products/shop/lanes/qa')).body.overlay).toBe(
        '/svc/orders => /v/orders/3.0.0;',
      );
    });

    it('modules may call modules that come later in the same apply', async () => {
      const a = await apply([
        { kind: 'Module', name: 'web', org: 'acme', calls: ['orders'], run: proc },
        { kind: 'Module', name: 'orders', org: 'acme', calls: ['account'], run: proc },
        { kind: 'Module', name: 'account', org: 'acme', run: proc },
        { kind: 'Org', name: 'acme' },
      ]);
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect((await api.call('GET', '/v1/modules/web')).body.calls).toEqual(['orders']);
    });

    describe('a rejected apply names document and field and changes nothing', () => {
      const newOrg = { kind: 'Org', name: 'other' };
      const cases: { name: string; docs: () => Doc[]; code?: string; field: string }[] = [
        {
          name: 'a call to a module that does not exist',
          docs: () => [
            newOrg,
            { kind: 'Module', name: 'orders2', org: 'acme', calls: ['acount'], run: proc },
          ],
          code: 'invalid_config',
          field: 'documents[1].calls[0]',
        },
        {
          name: 'an unknown kind (request validation)',
          docs: () => [newOrg, { kind: 'Service', name: 'x' }],
          field: 'documents[1].kind',
        },
        {
          name: 'an unknown field (request validation)',
          docs: () => [newOrg, { kind: 'Org', name: 'x', colour: 'red' }],
          field: 'documents[1].colour',
        },
        {
          name: 'a bad name deep in a document (request validation)',
          docs: () => [
            newOrg,
            { kind: 'Module', name: 'm', org: 'acme', run: { process: { command: '' } } },
          ],
          field: 'documents[1].run.process.command',
        },
        {
          name: 'a version changed after creation',
          docs: () => [
            newOrg,
            {
              kind: 'Version',
              module: 'web',
              version: '1.0.0',
              run: { process: { env: { SERVICE_VERSION: 'other' } } },
            },
          ],
          code: 'invalid_argument',
          field: 'documents[1].run',
        },
        {
          name: 'a lane overlay naming a version that does not exist',
          docs: () => [
            newOrg,
            {
              kind: 'Lane',
              product: 'shop',
              name: 'qa',
              overlay: '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/9.9.9;',
            },
          ],
          code: 'invalid_argument',
          field: 'documents[1].overlay[1]',
        },
        {
          name: 'a dependency cycle',
          docs: () => [
            newOrg,
            { kind: 'Module', name: 'account', org: 'acme', calls: ['web'], run: proc },
          ],
          code: 'invalid_config',
          field: 'documents[1].calls',
        },
        {
          name: 'a host of another product (found by the store while writing: the earlier writes roll back)',
          docs: () => [
            newOrg,
            { kind: 'Module', name: 'extra', org: 'other', run: proc },
            {
              kind: 'Product',
              name: 'p2',
              org: 'other',
              entry: 'extra',
              hosts: ['shop.localhost'],
            },
          ],
          field: 'documents[2].hosts[0]',
        },
        {
          name: 'a runtime change under versions that override the old one (store check while writing)',
          docs: () => [
            newOrg,
            { kind: 'Module', name: 'extra', org: 'other', run: proc },
            {
              kind: 'Module',
              name: 'web',
              org: 'acme',
              calls: ['orders', 'catalog'],
              run: { kubernetes: { image: 'web:1' } },
            },
          ],
          field: 'documents[2].run',
        },
      ];
      for (const c of cases) {
        for (const dryRun of [false, true]) {
          it(`${c.name}${dryRun ? ' (dry run)' : ''}`, async () => {
            expect((await apply(shopDocuments())).status).toBe(200);
            const before = await fingerprint(api.store);
            const a = await apply(c.docs(), dryRun);
            expectError(a, 400, c.code ?? 'invalid_argument', c.field);
            expect(await fingerprint(api.store)).toEqual(before);
          });
        }
      }
    });

    it('needs the admin role; others are refused and change nothing', async () => {
      const before = await fingerprint(api.store);
      for (const as of ['releaser', 'viewer'] as const) {
        const a = await apply([{ kind: 'Org', name: 'acme' }], false, as);
        expect(a.status).toBe(403);
        expect(a.body.error.code).toBe('forbidden');
      }
      const anonymous = await api.call('POST', '/v1/apply', {
        as: null,
        body: { documents: [{ kind: 'Org', name: 'acme' }] },
      });
      expect(anonymous.status).toBe(401);
      expect(await fingerprint(api.store)).toEqual(before);
    });
  });
}
