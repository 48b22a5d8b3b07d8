// The demo's state: the example org (examples/shop.yaml: shop and admin sharing account) applied,
// and v1 of every module promoted for both products. Idempotent, so a second `turnout demo` in
// the same folder resumes instead of failing on what is there.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { parseAllDocuments } from 'yaml';
import type { ApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';

/** The package root: the example services' paths in shop.yaml are relative to it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLES_FILE = fileURLToPath(new URL('../../examples/shop.yaml', import.meta.url));

export const V1: Readonly<Record<string, Record<string, string>>> = {
  shop: { web: '1.0.0', orders: '1.0.0', account: '1.0.0', catalog: '1.0.0' },
  admin: { console: '1.0.0', account: '1.0.0' },
};

export interface TicketView {
  id: number;
  state: string;
  goal: string | null;
  progress: { message?: string; canaryStep?: number; canaryDone?: boolean };
  /** The pre-release header's value: random, shown to whoever may read the ticket. */
  prereleaseSecret: string;
}

export const items = (map: Record<string, string>) =>
  Object.entries(map).map(([module, version]) => ({ module, version }));

/** Polls the ticket until `done` says so; a ticket that ends otherwise is an error. */
export async function waitTicket(
  client: ApiClient,
  id: number,
  done: (t: TicketView) => boolean,
  timeoutMs = 120_000,
): Promise<TicketView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = (await client.get(`/v1/tickets/${id}`)) as TicketView;
    if (done(t)) return t;
    if (t.state === 'failed' || t.state === 'aborted' || t.state === 'promoted') {
      throw new TurnoutError('conflict', `ticket ${id} is ${t.state}: ${t.progress.message ?? ''}`);
    }
    if (Date.now() > deadline) {
      throw new TurnoutError(
        'upstream_timeout',
        `ticket ${id} still ${t.state} after ${timeoutMs / 1000} s: ${t.progress.message ?? ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Applies the examples and promotes v1 where a product has nothing promoted yet. */
export async function ensureDemoState(
  client: ApiClient,
  say: (text: string) => void,
): Promise<void> {
  const documents = parseAllDocuments(readFileSync(EXAMPLES_FILE, 'utf8')).map((d) => d.toJSON());
  const applied = (await client.post('/v1/apply', { documents, dryRun: false })) as {
    changed?: boolean;
  };
  say(
    applied.changed === false
      ? 'catalog: examples/shop.yaml already applied'
      : 'catalog: applied examples/shop.yaml (org acme, products shop and admin, 5 modules)',
  );
  for (const [product, versions] of Object.entries(V1)) {
    const tickets = (await client.list(`/v1/tickets?product=${product}`)) as TicketView[];
    if (tickets.some((t) => t.state === 'promoted')) {
      say(`${product}: already released`);
      continue;
    }
    const open = tickets.find(
      (t) => t.goal === 'promoted' && t.state !== 'aborted' && t.state !== 'failed',
    );
    const id =
      open?.id ??
      ((await client.post('/v1/tickets', { product, items: items(versions) })) as TicketView).id;
    if (open === undefined) await client.post(`/v1/tickets/${id}/promote`, {});
    say(`${product}: deploying v1 (ticket ${id}) …`);
    await waitTicket(client, id, (t) => t.state === 'promoted');
    say(`${product}: v1 promoted`);
  }
}

/**
 * Waits until the edge answers 200 for every product host: the proxy applies a promotion a moment
 * after the ticket says promoted, and "ready" must mean that the printed curl works.
 */
export async function waitForEdge(
  edge: string,
  hosts: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const host of hosts) {
    for (;;) {
      const status = await request(edge, { headers: { host } }).then(
        async (res) => {
          await res.body.dump();
          return res.statusCode;
        },
        () => 0,
      );
      if (status === 200) break;
      if (Date.now() > deadline) {
        throw new TurnoutError(
          'upstream_timeout',
          `the edge ${edge} still answers ${status} for ${host} after ${timeoutMs / 1000} s`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
