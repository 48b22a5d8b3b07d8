// What the CLI prints, through the real bin against a real `turnout up` (examples/shop.yaml applied;
// tickets written to the same SQLite store, as the engine would have left them): a failed ticket
// reads as failed, kinds by any name, tables with ages and human headers, events as sentences, a
// product's base dtab one rule a line.

import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { RunningUp } from '../support/turnout-up.js';
import { runTurnout, startUp } from '../support/turnout-up.js';

async function put(url: string, body: unknown): Promise<void> {
  const res = await request(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`PUT ${url}: ${res.statusCode} ${text}`);
}

describe('CLI output through the real bin', () => {
  let up: RunningUp;
  let failed = 0;
  const cli = (...args: string[]) => runTurnout([...args, '--server', up.server]);

  beforeAll(async () => {
    await ensureBuilt();
    up = await startUp({ insecure: true });
    const applied = await cli('apply', '-f', join(ROOT, 'examples', 'shop.yaml'));
    if (applied.code !== 0) throw new Error(applied.stderr);
    // A base dtab stored compact and on one line, as an older promotion wrote it.
    await put(`${up.server}/v1/products/shop`, {
      org: 'acme',
      entry: 'web',
      hosts: ['shop.localhost'],
      baseDtab:
        '/svc/web=>/v/web/1.0.0;/svc/orders=>/v/orders/1.0.0;/svc/catalog => /v/catalog/1.0.0',
    });
    const store = await openSqliteStore(join(up.data, 'turnout.db'));
    try {
      const t = await store.createTicket(
        { product: 'shop', items: [{ module: 'orders', version: '2.0.0' }] },
        'rey',
      );
      failed = t.id;
      await store.appendTicketEvent(
        t.id,
        { type: 'created', data: { items: [{ module: 'orders', version: '2.0.0' }] } },
        'rey',
      );
      await store.appendTicketEvent(t.id, { type: 'command.deploy', data: {} }, 'rey');
      const message = 'deploy failed: after 60 s orders@2.0.0 has 0 of 1 ready';
      // What the engine leaves: state failed, the goal it failed to reach kept.
      await store.updateTicket(
        t.id,
        { state: 'failed', goal: 'deployed', progress: { message } },
        'engine',
      );
      await store.appendTicketEvent(t.id, { type: 'deploy.failed', data: { message } }, 'engine');
    } finally {
      await store.close();
    }
  }, 180_000);

  afterAll(async () => {
    await up?.stop();
  }, 60_000);

  it('a failed ticket reads as failed, not `failed → deployed`', async () => {
    const run = await cli('release', 'status', String(failed));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`ticket ${failed}  product shop  state failed`);
    expect(run.stdout).not.toContain('→ deployed');
    expect(run.stdout).toContain('  deploy failed: after 60 s orders@2.0.0 has 0 of 1 ready');
  });

  it('status --watch ends at once on a failed ticket, exit 3, saying so', async () => {
    const run = await cli('release', 'status', String(failed), '--watch');
    expect(run.code, run.stderr).toBe(3);
    expect(run.stdout).toContain(`ticket ${failed}  product shop  state failed\n`);
    expect(run.stdout).toContain('watch ended: failed (exit 3)');
  });

  it('get takes plural, singular and short kind names', async () => {
    const tables = [];
    // One at a time: on a busy machine four bins at once can outlast the runner's timeout.
    for (const k of ['products', 'product', 'prod', 'Products']) tables.push(await cli('get', k));
    // The same table each time (its ages may tick between the runs).
    const ageless = (text = '') => text.replace(/ \d+[smhd]$/gm, ' <age>');
    for (const run of tables) {
      expect(run.code, run.stderr).toBe(0);
      expect(ageless(run.stdout)).toBe(ageless(tables[0]?.stdout));
    }
    expect(ageless(tables[0]?.stdout)).toMatch(
      /^NAME +ORG +ENTRY +HOSTS +UPDATED\nadmin .* <age>\n/,
    );
    const one = await cli('get', 'product', 'shop');
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(
      /^NAME +ORG +ENTRY +HOSTS +UPDATED\nshop +acme +web +shop\.localhost +\d+[smhd]\n$/,
    );
    const versions = await cli('get', 'ver', 'orders');
    expect(versions.stdout).toMatch(/^MODULE +VERSION +AGE\norders +1\.0\.0 +\d+[smhd]\n/);
    const tickets = await cli('get', 'tk');
    expect(tickets.stdout).toMatch(new RegExp(`\\n${failed} +shop +failed +\\d+[smhd]\\n`));
  });

  it('errors say it once: no `turnout: turnout`', async () => {
    const run = await cli('get', 'versions');
    expect(run.code).toBe(2);
    expect(run.stderr).not.toContain('turnout: turnout');
    expect(run.stderr).toContain(
      'get versions needs the module name: turnout get versions <module>',
    );
    const kind = await cli('get', 'widgets');
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('products (product, prod)');
  });

  it('describe takes plural, singular and short kind names', async () => {
    const runs = [];
    for (const k of ['product', 'products', 'prod']) runs.push(await cli('describe', k, 'shop'));
    for (const run of runs) {
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe(runs[0]?.stdout);
    }
    const ticket = await cli('describe', 'tickets', String(failed));
    expect(ticket.code, ticket.stderr).toBe(0);
  });

  it('describe product: the base dtab one rule a line, indented under its value', async () => {
    const run = await cli('describe', 'product', 'shop');
    expect(run.stdout).toContain(
      [
        'Base dtab: /svc/web => /v/web/1.0.0;',
        '           /svc/orders => /v/orders/1.0.0;',
        '           /svc/catalog => /v/catalog/1.0.0;',
        'Retains:',
      ].join('\n'),
    );
  });

  it('describe ticket: events as sentences, not JSON', async () => {
    const run = await cli('describe', 'ticket', String(failed));
    expect(run.stdout).toMatch(
      /Events \(3\):\n {2}\S+ {2}created with orders@2\.0\.0 {2}\(by rey\)\n/,
    );
    expect(run.stdout).toMatch(/\n {2}\S+ {2}asked to deploy {2}\(by rey\)\n/);
    expect(run.stdout).toMatch(
      /\n {2}\S+ {2}deploy failed: after 60 s orders@2\.0\.0 has 0 of 1 ready {2}\(by engine\)/,
    );
    expect(run.stdout).not.toMatch(/[{}]/);
    const status = await cli('release', 'status', String(failed));
    expect(status.stdout).toMatch(
      /events\n {4}\d\d:\d\d:\d\d created with orders@2\.0\.0 {2}\(by rey\)/,
    );
  });
});
