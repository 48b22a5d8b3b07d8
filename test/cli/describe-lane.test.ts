// `turnout describe` and `turnout lane` end to end: the real bin against a real `turnout up` with
// examples/shop.yaml applied, an instance registered through the API and tickets written to the
// same SQLite store (the API has no ticket writes yet; the release engine will own them).

import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { RunningUp } from '../support/turnout-up.js';
import { runTurnout, startUp } from '../support/turnout-up.js';

async function send(method: 'POST' | 'PUT', url: string, body: unknown): Promise<void> {
  const res = await request(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
}

describe('turnout describe and lane', () => {
  let up: RunningUp;
  const cli = (...args: string[]) => runTurnout([...args, '--server', up.server]);
  const json = async (...args: string[]) => {
    const run = await cli(...args, '--json');
    expect(run.code, run.stderr).toBe(0);
    return JSON.parse(run.stdout);
  };

  beforeAll(async () => {
    await ensureBuilt();
    up = await startUp({ insecure: true });
    const applied = await cli('apply', '-f', join(ROOT, 'examples', 'shop.yaml'));
    if (applied.code !== 0) throw new Error(applied.stderr);
    await send('POST', `${up.server}/v1/instances`, {
      id: 'i-1',
      module: 'account',
      version: '1.0.0',
      host: 'h1',
      address: '127.0.0.1:9001',
    });
    await send('PUT', `${up.server}/v1/products/shop`, {
      org: 'acme',
      entry: 'web',
      hosts: ['shop.localhost'],
      retainTickets: 1,
    });
    const store = await openSqliteStore(join(up.data, 'turnout.db'));
    try {
      const ticket = (module: string) =>
        store.createTicket({ product: 'shop', items: [{ module, version: '2.0.0' }] }, 'rey');
      const first = await ticket('orders');
      await store.appendTicketEvent(first.id, { type: 'deployed', data: { batch: 1 } }, 'engine');
      await store.updateTicket(first.id, { state: 'promoted' }, 'engine');
      await ticket('web');
      const third = await ticket('catalog');
      await store.updateTicket(third.id, { state: 'promoted' }, 'engine');
    } finally {
      await store.close();
    }
  }, 180_000);

  afterAll(async () => {
    await up?.stop();
  }, 60_000);

  describe('describe', () => {
    it('a product: hosts, the module graph with shared modules, lanes, retained and active tickets', async () => {
      const run = await cli('describe', 'product', 'shop');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('Product:   shop (org acme)\nHosts:     shop.localhost\n');
      expect(run.stdout).toContain(
        [
          'Modules (4):',
          '  web',
          '  ├─ orders',
          '  │  └─ account  (shared with admin)',
          '  └─ catalog',
        ].join('\n'),
      );
      // retainTickets is 1: only the latest promoted ticket keeps its versions.
      expect(run.stdout).toMatch(/Retained tickets \(1\):\n {2}#3 {2}promoted +catalog@2\.0\.0\n/);
      expect(run.stdout).toMatch(/Active tickets \(1\):\n {2}#2 {2}open +web@2\.0\.0/);

      const doc = await json('describe', 'product', 'shop');
      expect(doc.modules).toEqual([
        { name: 'web', calls: ['orders', 'catalog'], sharedWith: [] },
        { name: 'orders', calls: ['account'], sharedWith: [] },
        { name: 'account', calls: [], sharedWith: ['admin'] },
        { name: 'catalog', calls: [], sharedWith: [] },
      ]);
      expect(doc.tickets.retained.map((t: { id: number }) => t.id)).toEqual([3]);
      expect(doc.tickets.active.map((t: { id: number }) => t.id)).toEqual([2]);
    });

    it('a module: calls, callers, the products using it, versions and instances', async () => {
      const run = await cli('describe', 'module', 'account');
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('Called by: console, orders\nUsed by:   admin, shop\n');
      expect(run.stdout).toContain('Run:       process: node examples/services/service.mjs');
      expect(run.stdout).toMatch(
        /Versions \(2\):\n {2}1\.0\.0 .*SERVICE_VERSION=1\.0\.0\n {2}2\.0\.0 /,
      );
      expect(run.stdout).toMatch(
        /Instances \(1\):\n {2}ID +VERSION.*\n {2}i-1 +1\.0\.0 +h1 +127\.0\.0\.1:9001/,
      );
      const doc = await json('describe', 'modules', 'web');
      expect(doc).toMatchObject({ calledBy: [], usedBy: ['shop'], entryOf: ['shop'] });
      expect(doc.versions.map((v: { version: string }) => v.version)).toEqual(['1.0.0', '2.0.0']);
    });

    it('a ticket with its items and events, an instance, an org', async () => {
      const ticket = await cli('describe', 'ticket', '1');
      expect(ticket.code, ticket.stderr).toBe(0);
      expect(ticket.stdout).toContain('Ticket:  #1 for product shop\nState:   promoted\n');
      expect(ticket.stdout).toMatch(/Items \(1\):\n {2}orders +2\.0\.0/);
      expect(ticket.stdout).toMatch(
        /Events \(1\):\n {2}\S+ {2}deployed: every instance ready {2}\(by engine\)\n/,
      );
      expect((await json('describe', 'ticket', '1')).events).toHaveLength(1);

      const instance = await cli('describe', 'instance', 'i-1');
      expect(instance.stdout).toContain('Version:     account@1.0.0\nHost:        h1\n');
      const org = await json('describe', 'org', 'acme');
      expect(org.products.map((p: { name: string }) => p.name)).toEqual(['admin', 'shop']);
      expect(org.modules).toHaveLength(5);
    });

    it('errors: a missing resource exits 1, an unknown kind exits 2', async () => {
      const missing = await cli('describe', 'product', 'nope');
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('not_found: product nope does not exist');
      const kind = await cli('describe', 'widget', 'x');
      expect(kind.code).toBe(2);
      expect(kind.stderr).toContain('unknown kind widget');
      const json = await cli('describe', 'ticket', 'abc', '--json');
      expect(json.code).toBe(2);
      // Checked by the CLI before asking, as the release commands do (the field was the API's `id`).
      expect(JSON.parse(json.stderr).error).toEqual({
        code: 'invalid_argument',
        message: 'ticket abc: a ticket id is a positive integer',
        field: 'ticket',
      });
    });
  });

  describe('lane', () => {
    const rule = '{"header":{"name":"x-dev","equals":"1"}}';

    it('create, list, replace rules (the overlay stays), delete', async () => {
      const created = await cli(
        'lane',
        'create',
        'shop',
        'dev',
        '--overlay',
        '/svc/orders => /v/orders/2.0.0;',
        '--rule',
        rule,
      );
      expect(created.code, created.stderr).toBe(0);
      expect(created.stdout).toContain(
        'created lane shop/dev\n  overlay  /svc/orders => /v/orders/2.0.0;',
      );
      expect(created.stdout).toContain('1. {"header":{"name":"x-dev","equals":"1"}}');

      const listed = await json('lane', 'list', 'shop');
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({
        name: 'dev',
        overlay: '/svc/orders => /v/orders/2.0.0;',
        rules: [{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }],
      });
      const table = await cli('lane', 'list', 'shop');
      expect(table.stdout).toMatch(
        /^NAME +OVERLAY +RULES +UPDATED\ndev +\/svc\/orders => \/v\/orders\/2\.0\.0; +1 /,
      );

      const replaced = await json(
        'lane',
        'rules',
        'shop',
        'dev',
        '--rule',
        '{"cookie":{"name":"beta","equals":"yes"}}',
        '--rule',
        '{"percent":5,"key":{"header":"x-user"}}',
      );
      expect(replaced.overlay).toBe('/svc/orders => /v/orders/2.0.0;');
      expect(replaced.rules.map((r: Record<string, unknown>) => Object.keys(r).sort())).toEqual([
        ['cookie', 'lane'],
        ['key', 'lane', 'percent'],
      ]);
      const cleared = await json('lane', 'rules', 'shop', 'dev');
      expect(cleared.rules).toEqual([]);

      const shown = await cli('describe', 'product', 'shop');
      expect(shown.stdout).toMatch(/Lanes \(1\):\n {2}NAME +OVERLAY.*\n {2}dev +\/svc\/orders/);

      const deleted = await cli('lane', 'delete', 'shop', 'dev');
      expect(deleted.code, deleted.stderr).toBe(0);
      expect(deleted.stdout).toBe('deleted lane shop/dev\n');
      expect(await json('lane', 'list', 'shop')).toEqual([]);
    });

    it('errors name the rule or field, exit with the code of the error table, change nothing', async () => {
      const notJson = await cli('lane', 'create', 'shop', 'qa', '--rule', rule, '--rule', '{oops');
      expect(notJson.code).toBe(2);
      expect(notJson.stderr).toContain('--rule 2: not JSON');
      const badRule = await cli(
        'lane',
        'create',
        'shop',
        'qa',
        '--rule',
        '{"header":{"name":"x"}}',
      );
      expect(badRule.code).toBe(2);
      expect(badRule.stderr).toContain('rules[0].header');
      const badDtab = await cli('lane', 'create', 'shop', 'qa', '--overlay', '/svc =>', '--json');
      expect(badDtab.code).toBe(2);
      expect(JSON.parse(badDtab.stderr).error).toMatchObject({
        code: 'invalid_argument',
        field: 'overlay',
      });
      const noProduct = await cli('lane', 'list', 'nope');
      expect(noProduct.code).toBe(1);
      const noLane = await cli('lane', 'delete', 'shop', 'qa');
      expect(noLane.code).toBe(1);
      expect(noLane.stderr).toContain('not_found: lane shop/qa does not exist');
      expect(await json('lane', 'list', 'shop')).toEqual([]);
    });
  });
  describe('route explain against the live system (no --config)', () => {
    it('explains with the snapshot the control plane publishes now, as text and JSON', async () => {
      const text = await cli('route', 'explain', '--product', 'shop', '/svc/account');
      expect(text.stdout, text.stderr).toContain('product  shop (live snapshot version');
      expect(text.stdout).toContain('lane     stable');
      expect(text.stdout).toContain('delegation');
      const a = await cli('route', 'explain', '--product', 'shop', '/svc/account', '--json');
      const answer = JSON.parse(a.stdout);
      expect(answer).toMatchObject({ product: 'shop', name: '/svc/account', host: null });
      const product = await json('get', 'product', 'shop');
      expect(answer.dtab.join(';').replaceAll(' ', '')).toBe(
        String(product.baseDtab ?? '').replaceAll(/\s/g, ''),
      );
      // The exit code says whether it routes, as with --config.
      expect(a.code).toBe(answer.result.state === 'ok' && answer.result.addresses !== null ? 0 : 1);
    });

    it('--lane skips the assignment; an unknown lane routes on stable and says so', async () => {
      const run = await cli('route', 'explain', '--product', 'shop', '--lane', 'nope', '/svc/web');
      expect(run.stdout, run.stderr).toContain(
        'lane     nope — given with lane (product shop has no lane nope: routed on stable)',
      );
    });

    it('an unknown product is not_found naming the field; nothing else is asked', async () => {
      const run = await cli('route', 'explain', '--product', 'nope', '/svc/web', '--json');
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stderr).error).toMatchObject({ code: 'not_found', field: 'product' });
    });
  });
});
