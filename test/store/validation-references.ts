// Validation cases: names, duplicates and references to records that do not exist.

import type { ErrorCode } from '../../src/errors.js';
import type { Store } from '../../src/store/store.js';
import { ACTOR, proc } from './fixtures.js';

export interface Case {
  name: string;
  run: (s: Store) => Promise<unknown>;
  code: ErrorCode;
  field: string | undefined;
  message: RegExp;
}

export const shop = { name: 'shop', org: 'acme', entry: 'web' };
export const mod = (name: string, calls: string[] = []) => ({
  name,
  org: 'acme',
  calls,
  run: proc(),
});
export const item = (module: string, version: string) => ({ module, version });

export const REFERENCE_CASES: Case[] = [
  // names and duplicates
  {
    name: 'invalid org name',
    run: (s) => s.createOrg({ name: 'Acme' }, ACTOR),
    code: 'invalid_config',
    field: 'name',
    message: /org "Acme" may contain only lowercase/,
  },
  {
    name: 'duplicate org',
    run: (s) => s.createOrg({ name: 'acme' }, ACTOR),
    code: 'invalid_argument',
    field: 'name',
    message: /org acme already exists/,
  },
  {
    name: 'unknown field',
    run: (s) => s.createOrg({ name: 'x', colour: 1 } as never, ACTOR),
    code: 'invalid_config',
    field: 'colour',
    message: /colour: is not a known field/,
  },
  {
    name: 'missing field',
    run: (s) => s.createProduct({ name: 'p', org: 'acme' } as never, ACTOR),
    code: 'invalid_config',
    field: 'entry',
    message: /entry: is required/,
  },
  {
    name: 'duplicate product',
    run: (s) => s.createProduct(shop, ACTOR),
    code: 'invalid_argument',
    field: 'name',
    message: /product shop already exists/,
  },
  {
    name: 'duplicate module',
    run: (s) => s.createModule(mod('web'), ACTOR),
    code: 'invalid_argument',
    field: 'name',
    message: /module web already exists/,
  },
  {
    name: 'duplicate lane',
    run: (s) => s.createLane({ product: 'shop', name: 'dev' }, ACTOR),
    code: 'invalid_argument',
    field: 'name',
    message: /lane shop\/dev already exists/,
  },
  {
    name: 'duplicate instance',
    run: (s) =>
      s.createInstance(
        { id: 'i-1', module: 'web', version: '1.0.0', host: 'h', address: 'h:1' },
        ACTOR,
      ),
    code: 'invalid_argument',
    field: 'id',
    message: /instance i-1 already exists/,
  },
  // references
  {
    name: 'product of an unknown org',
    run: (s) => s.createProduct({ ...shop, name: 'p', org: 'nope' }, ACTOR),
    code: 'invalid_config',
    field: 'org',
    message: /unknown org "nope"/,
  },
  {
    name: 'product with an unknown entry module',
    run: (s) => s.createProduct({ ...shop, name: 'p', entry: 'nope' }, ACTOR),
    code: 'invalid_config',
    field: 'entry',
    message: /unknown module "nope"/,
  },
  {
    name: 'host of another product',
    run: (s) =>
      s.createProduct({ ...shop, name: 'p', hosts: ['a.test', 'shop.example.com'] }, ACTOR),
    code: 'invalid_argument',
    field: 'hosts[1]',
    message: /already belongs to product "shop"/,
  },
  {
    name: 'module calling a missing module',
    run: (s) => s.createModule(mod('cart', ['orders', 'nope']), ACTOR),
    code: 'invalid_config',
    field: 'calls[1]',
    message: /module "cart" calls unknown module "nope"/,
  },
  {
    name: 'module calling itself',
    run: (s) => s.updateModule(mod('orders', ['orders']), ACTOR),
    code: 'invalid_config',
    field: 'calls[0]',
    message: /calls itself/,
  },
  {
    name: 'version of an unknown module',
    run: (s) => s.createVersion({ module: 'nope', version: '1' }, ACTOR),
    code: 'invalid_config',
    field: 'module',
    message: /unknown module "nope"/,
  },
  {
    name: 'instance of an unknown version',
    run: (s) => s.createInstance({ module: 'web', version: '9', host: 'h', address: 'h:1' }, ACTOR),
    code: 'invalid_config',
    field: 'version',
    message: /unknown version "web@9"/,
  },
  {
    name: 'lane of an unknown product',
    run: (s) => s.createLane({ product: 'nope', name: 'x' }, ACTOR),
    code: 'invalid_config',
    field: 'product',
    message: /unknown product "nope"/,
  },
  {
    name: 'ticket with an unknown module',
    run: (s) => s.createTicket({ product: 'shop', items: [item('nope', '1')] }, ACTOR),
    code: 'invalid_config',
    field: 'items[0].module',
    message: /unknown module "nope"/,
  },
  {
    name: 'ticket with a module the product does not use',
    run: (s) => s.createTicket({ product: 'shop', items: [item('reports', '1.0.0')] }, ACTOR),
    code: 'invalid_config',
    field: 'items[0].module',
    message: /not used by product "shop"/,
  },
  {
    name: 'ticket with an unknown version',
    run: (s) =>
      s.createTicket(
        { product: 'shop', items: [item('web', '1.0.0'), item('orders', '7')] },
        ACTOR,
      ),
    code: 'invalid_config',
    field: 'items[1].version',
    message: /unknown version "orders@7"/,
  },
  {
    name: 'ticket listing a module twice',
    run: (s) =>
      s.createTicket(
        { product: 'shop', items: [item('web', '1.0.0'), item('web', '1.0.0')] },
        ACTOR,
      ),
    code: 'invalid_config',
    field: 'items[1].module',
    message: /listed twice/,
  },
  {
    name: 'ticket without items',
    run: (s) => s.createTicket({ product: 'shop', items: [] }, ACTOR),
    code: 'invalid_config',
    field: 'items',
    message: /at least one item/,
  },
  {
    name: 'ticket of an unknown product',
    run: (s) => s.createTicket({ product: 'nope', items: [item('web', '1.0.0')] }, ACTOR),
    code: 'invalid_config',
    field: 'product',
    message: /unknown product "nope"/,
  },
  {
    name: 'revert of an unknown ticket',
    run: (s) =>
      s.createTicket({ product: 'shop', items: [item('web', '1.0.0')], revertOf: 42 }, ACTOR),
    code: 'invalid_config',
    field: 'revertOf',
    message: /unknown ticket "42"/,
  },
  {
    name: 'amending a ticket with an unknown version',
    run: (s) => s.updateTicket(1, { items: [item('web', '3')] }, ACTOR),
    code: 'invalid_config',
    field: 'items[0].version',
    message: /unknown version/,
  },
];
