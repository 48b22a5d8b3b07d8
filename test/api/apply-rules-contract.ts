// POST /v1/apply's kubectl semantics over real HTTP, against each store back-end: a document is
// the whole object (the three-way rule with last-applied records: a field the file stopped
// setting returns to its default, one only others set is kept), unknown fields reported first,
// and `prune` deleting what an earlier apply wrote that the documents no longer name.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fingerprint } from '../store/fixtures.js';
import { shopDocuments } from './apply-contract.js';
import type { Answer, Api, StoreOpener } from './harness.js';
import { startApi } from './harness.js';

type Doc = Record<string, unknown>;

const proc = { process: { command: 'node' } };

/** A small org of its own: two modules, a version, a product with a lane (all by apply). */
function shopfront(): Doc[] {
  return [
    { kind: 'Org', name: 'beta' },
    { kind: 'Module', name: 'front', org: 'beta', calls: ['legacy'], run: proc },
    { kind: 'Module', name: 'legacy', org: 'beta', run: proc },
    { kind: 'Version', module: 'front', version: '1.0.0' },
    { kind: 'Version', module: 'legacy', version: '1.0.0' },
    { kind: 'Product', name: 'front', org: 'beta', entry: 'front', hosts: ['front.localhost'] },
    { kind: 'Lane', product: 'front', name: 'qa', overlay: '/svc/front => /v/front/1.0.0;' },
  ];
}

/** The same org without the legacy module (its version, its call) and without the lane. */
function shopfrontTrimmed(): Doc[] {
  return shopfront()
    .filter((d) => d.kind !== 'Lane' && d.module !== 'legacy' && d.name !== 'legacy')
    .map((d) => (d.kind === 'Module' ? { ...d, calls: [] } : d));
}

function expectError(a: Answer, code: string, field: string): void {
  expect(a.status, JSON.stringify(a.body)).toBe(400);
  expect(a.body.error.code).toBe(code);
  expect(a.body.error.field).toBe(field);
  expect(a.body.error.message.startsWith(`${field}: `), a.body.error.message).toBe(true);
}

export function describeApplyRules(label: string, open: StoreOpener): void {
  describe(`POST /v1/apply: kubectl's apply (${label})`, () => {
    let api: Api;
    beforeEach(async () => {
      api = await startApi({ open });
    });
    afterEach(async () => {
      await api.close();
    });

    const apply = (documents: unknown[], flags: { dryRun?: boolean; prune?: boolean } = {}) =>
      api.call('POST', '/v1/apply', { body: { documents, ...flags } });
    const product = async (name: string) => (await api.call('GET', `/v1/products/${name}`)).body;

    it("a re-apply keeps the engine's promoted base dtab when the file never set it", async () => {
      const docs = shopDocuments();
      expect((await apply(docs)).status).toBe(200);
      // What the release engine's promote does (engine.ts setStable): rewrite the base dtab.
      const dtab = '/svc/web => /v/web/2.0.0;';
      const {
        createdAt: _c,
        updatedAt: _u,
        ...shop
      } = await api.store.getProduct('shop').then((p) => p ?? expect.fail('no product shop'));
      await api.store.updateProduct({ ...shop, baseDtab: dtab }, 'engine');
      const again = await apply(docs);
      expect(again.status, JSON.stringify(again.body)).toBe(200);
      expect(again.body.changed).toBe(false);
      expect((await product('shop')).baseDtab).toBe(dtab);
    });

    it('a field the file stopped setting returns to its default; one it never set is kept', async () => {
      const docs = shopDocuments();
      const withDtab = docs.map((d) =>
        d.kind === 'Product' && d.name === 'shop'
          ? { ...d, baseDtab: '/svc/web => /v/web/1.0.0;' }
          : d,
      );
      expect((await apply(withDtab)).status).toBe(200);
      expect((await product('shop')).retainTickets).toBe(2);
      // The file drops retainTickets and baseDtab, both of which an apply set.
      const dropped = docs.map((d) => {
        if (d.kind !== 'Product' || d.name !== 'shop') return d;
        const { retainTickets: _r, ...rest } = d;
        return rest;
      });
      const dry = await apply(dropped, { dryRun: true });
      const shopAction = (a: Answer) =>
        a.body.actions.find(
          (x: { kind: string; name: string }) => x.kind === 'Product' && x.name === 'shop',
        );
      expect(shopAction(dry).changes).toEqual([
        { field: 'retainTickets', before: 2, after: 5 },
        { field: 'baseDtab', before: '/svc/web => /v/web/1.0.0;', after: '' },
      ]);
      const real = await apply(dropped);
      expect(real.status, JSON.stringify(real.body)).toBe(200);
      expect(await product('shop')).toMatchObject({ retainTickets: 5, baseDtab: '' });
      // Now no apply sets baseDtab: what someone else writes there stays.
      const { name: _n, createdAt: _c, updatedAt: _u, ...rest } = await product('shop');
      const put = await api.call('PUT', '/v1/products/shop', {
        body: { ...rest, baseDtab: '/svc/web => /v/web/2.0.0;' },
      });
      expect(put.status, JSON.stringify(put.body)).toBe(200);
      expect((await apply(dropped)).body.changed).toBe(false);
      expect((await product('shop')).baseDtab).toBe('/svc/web => /v/web/2.0.0;');
    });

    it('an object no apply wrote keeps every field the document leaves out', async () => {
      await apply([{ kind: 'Org', name: 'beta' }]);
      await api.call('POST', '/v1/modules', {
        body: { name: 'm', org: 'beta', calls: [], health: { path: '/up' }, run: proc },
      });
      const a = await apply([{ kind: 'Module', name: 'm', org: 'beta', run: proc }]);
      expect(a.body.counts.unchanged).toBe(1);
      expect((await api.call('GET', '/v1/modules/m')).body.health.path).toBe('/up');
    });

    it('a partial Module document is refused naming the document and run; nothing changes', async () => {
      expect((await apply(shopDocuments())).status).toBe(200);
      const before = await fingerprint(api.store);
      const a = await apply([{ kind: 'Module', name: 'orders', org: 'acme', calls: ['account'] }]);
      expectError(a, 'invalid_argument', 'documents[0].run');
      expect(a.body.error.message).toBe('documents[0].run: is required');
      expect(await fingerprint(api.store)).toEqual(before);
    });

    it('an unknown field is reported before a missing one', async () => {
      const a = await apply([
        { kind: 'Org', name: 'beta' },
        { kind: 'Module', name: 'm', org: 'beta', rn: proc },
      ]);
      expectError(a, 'invalid_argument', 'documents[1].rn');
      expect(a.body.error.message).toBe('documents[1].rn: is not a known field');
    });

    it('prune deletes what the files no longer name; its dry run lists it and deletes nothing', async () => {
      expect((await apply(shopDocuments())).status).toBe(200);
      expect((await apply(shopfront())).status).toBe(200);
      const before = await fingerprint(api.store);
      const dry = await apply(shopfrontTrimmed(), { dryRun: true, prune: true });
      expect(dry.status, JSON.stringify(dry.body)).toBe(200);
      const pruned = dry.body.actions.filter((x: { action: string }) => x.action === 'prune');
      // Dependents first: the lane, then the version, then the module.
      expect(pruned).toEqual([
        { kind: 'Lane', name: 'front/qa', action: 'prune', changes: [] },
        { kind: 'Version', name: 'legacy@1.0.0', action: 'prune', changes: [] },
        { kind: 'Module', name: 'legacy', action: 'prune', changes: [] },
      ]);
      expect(dry.body).toMatchObject({ dryRun: true, prune: true, changed: true });
      expect(dry.body.counts).toEqual({ create: 0, update: 1, unchanged: 3, prune: 3 });
      expect(await fingerprint(api.store)).toEqual(before);

      const real = await apply(shopfrontTrimmed(), { prune: true });
      expect(real.status, JSON.stringify(real.body)).toBe(200);
      expect(real.body.counts.prune).toBe(3);
      expect((await api.call('GET', '/v1/modules/legacy')).status).toBe(404);
      expect((await api.call('GET', '/v1/products/front/lanes/qa')).status).toBe(404);
      // Outside the files' org nothing was touched: acme's shop is all there.
      expect((await api.call('GET', '/v1/modules/orders')).status).toBe(200);
      // Again: nothing left to prune.
      const again = await apply(shopfrontTrimmed(), { prune: true });
      expect(again.body).toMatchObject({ changed: false, counts: { prune: 0 } });
    });

    it('without prune, what the files no longer name stays', async () => {
      await apply(shopfront());
      const a = await apply(shopfrontTrimmed());
      expect(a.body.counts.prune).toBe(0);
      expect((await api.call('GET', '/v1/products/front/lanes/qa')).status).toBe(200);
    });

    it('prune never deletes what no apply wrote', async () => {
      await apply(shopfront());
      const lane = await api.call('POST', '/v1/products/front/lanes', {
        body: { name: 'ticket-7', overlay: '' },
      });
      expect(lane.status, JSON.stringify(lane.body)).toBe(201);
      const a = await apply(shopfront(), { prune: true });
      expect(a.body.counts.prune).toBe(0);
      expect((await api.call('GET', '/v1/products/front/lanes/ticket-7')).status).toBe(200);
    });

    it('prune refuses a version in use: the whole apply fails naming it, nothing changes', async () => {
      await apply(shopfront());
      await api.store.createInstance(
        { id: 'legacy-1', module: 'legacy', version: '1.0.0', host: 'h', address: '127.0.0.1:9' },
        'engine',
      );
      const before = await fingerprint(api.store);
      for (const dryRun of [true, false]) {
        const a = await apply(shopfrontTrimmed(), { dryRun, prune: true });
        expectError(a, 'invalid_argument', 'prune');
        expect(a.body.error.message).toContain('version legacy@1.0.0');
        expect(a.body.error.message).toContain('instance legacy-1');
        expect(await fingerprint(api.store)).toEqual(before);
      }
    });
  });
}
