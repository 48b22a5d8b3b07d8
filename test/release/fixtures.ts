// Records for the release engine's pure tests: a shop (web → orders → account, web → catalog)
// built as plain values, with instances and tickets made to order.

import type { Instance, Lane, Product, Ticket, TicketItem } from '../../src/store/model.js';

export const T0 = Date.parse('2026-12-01T10:00:00.000Z');
export const STAMP = new Date(T0).toISOString();

export const GRAPH = new Map<string, string[]>([
  ['web', ['orders', 'catalog']],
  ['orders', ['account']],
  ['account', []],
  ['catalog', []],
  ['console', ['account']],
]);

export function product(over: Partial<Product> = {}): Product {
  return {
    name: 'shop',
    org: 'acme',
    hosts: ['shop.localhost'],
    entry: 'web',
    retainTickets: 2,
    baseDtab: '/svc/web => /v/web/1.0.0;\n/svc/orders => /v/orders/1.0.0;',
    createdAt: STAMP,
    updatedAt: STAMP,
    ...over,
  };
}

export function ticket(id: number, items: TicketItem[], over: Partial<Ticket> = {}): Ticket {
  return {
    id,
    product: 'shop',
    state: 'open',
    items,
    revertOf: null,
    createdBy: 'alice',
    goal: null,
    plan: {},
    progress: {},
    promotedSeq: null,
    prereleaseSecret: `secret-of-${id}`,
    createdAt: STAMP,
    updatedAt: STAMP,
    ...over,
  };
}

export function instance(
  module: string,
  version: string,
  index: number,
  over: Partial<Instance> = {},
): Instance {
  return {
    id: `${module}-${version}-${index}`,
    module,
    version,
    host: 'local',
    address: `127.0.0.1:${20000 + index}`,
    state: 'ready',
    health: 'healthy',
    weight: 1,
    leaseExpiresAt: null,
    createdAt: STAMP,
    updatedAt: STAMP,
    ...over,
  };
}

export function lane(name: string, overlay: string, over: Partial<Lane> = {}): Lane {
  return {
    product: 'shop',
    name,
    overlay,
    rules: [],
    createdAt: STAMP,
    updatedAt: STAMP,
    ...over,
  };
}

export const item = (module: string, version: string): TicketItem => ({ module, version });
