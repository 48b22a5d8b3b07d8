// Validation cases: dtabs, lane rules, field shapes, missing targets and deletes of used records.

import { ACTOR } from './fixtures.js';
import type { Case } from './validation-references.js';
import { mod, shop } from './validation-references.js';

export const SHAPE_CASES: Case[] = [
  // dtabs and lane rules
  {
    name: 'invalid base dtab',
    run: (s) => s.updateProduct({ ...shop, baseDtab: '/svc => ' }, ACTOR),
    code: 'invalid_config',
    field: 'baseDtab',
    message: /invalid dtab/,
  },
  {
    name: 'invalid lane overlay',
    run: (s) => s.createLane({ product: 'shop', name: 'x', overlay: 'svc => /v' }, ACTOR),
    code: 'invalid_config',
    field: 'overlay',
    message: /invalid dtab/,
  },
  {
    name: 'invalid lane rule',
    run: (s) =>
      s.createLane(
        { product: 'shop', name: 'x', rules: [{ lane: 'x', header: { name: 'x-a', regex: '(' } }] },
        ACTOR,
      ),
    code: 'invalid_config',
    field: 'rules[0].header.regex',
    message: /rules\[0\]\.header\.regex: missing closing \).*RE2 syntax/,
  },
  {
    name: 'lane rule without a match',
    run: (s) =>
      s.createLane({ product: 'shop', name: 'x', rules: [{ lane: 'x' } as never] }, ACTOR),
    code: 'invalid_config',
    field: 'rules[0]',
    message: /a rule needs one match/,
  },
  {
    name: 'lane rule assigning another lane',
    run: (s) =>
      s.createLane(
        { product: 'shop', name: 'x', rules: [{ lane: 'y', cookie: { name: 'c', equals: '1' } }] },
        ACTOR,
      ),
    code: 'invalid_config',
    field: 'rules[0].lane',
    message: /assigns lane "y"/,
  },
  // shapes
  {
    name: 'module run with both runtimes',
    run: (s) =>
      s.createModule(
        { ...mod('x'), run: { process: { command: 'a' }, kubernetes: { image: 'i' } } as never },
        ACTOR,
      ),
    code: 'invalid_config',
    field: 'run',
    message: /exactly one of process or kubernetes/,
  },
  {
    name: 'health interval too short',
    run: (s) => s.createModule({ ...mod('x'), health: { intervalMs: 5 } }, ACTOR),
    code: 'invalid_config',
    field: 'health.intervalMs',
    message: /100/,
  },
  {
    name: 'version label with a slash',
    run: (s) => s.createVersion({ module: 'web', version: '1/2' }, ACTOR),
    code: 'invalid_config',
    field: 'version',
    message: /a version is/,
  },
  {
    name: 'version override for the wrong runtime',
    run: (s) =>
      s.createVersion({ module: 'web', version: '2', run: { kubernetes: { image: 'i' } } }, ACTOR),
    code: 'invalid_config',
    field: 'run',
    message: /runs on process/,
  },
  {
    name: 'instance address without a port',
    run: (s) =>
      s.createInstance({ module: 'web', version: '1.0.0', host: 'h', address: 'h' }, ACTOR),
    code: 'invalid_config',
    field: 'address',
    message: /host:port/,
  },
  {
    name: 'instance state not a state',
    run: (s) => s.updateInstance('i-1', { state: 'gone' as never }, ACTOR),
    code: 'invalid_config',
    field: 'state',
    message: /state/,
  },
  {
    name: 'ticket state not a state',
    run: (s) => s.updateTicket(1, { state: 'done' as never }, ACTOR),
    code: 'invalid_config',
    field: 'state',
    message: /state/,
  },
  {
    name: 'lease not a timestamp',
    run: (s) => s.renewLeases(['i-1'], 'tomorrow'),
    code: 'invalid_config',
    field: undefined,
    message: /ISO 8601/,
  },
  {
    name: 'no actor',
    run: (s) => s.createOrg({ name: 'x' }, ''),
    code: 'invalid_argument',
    field: 'actor',
    message: /actor/,
  },
  // missing targets
  {
    name: 'update of a missing product',
    run: (s) => s.updateProduct({ ...shop, name: 'nope' }, ACTOR),
    code: 'not_found',
    field: undefined,
    message: /product nope does not exist/,
  },
  {
    name: 'delete of a missing instance',
    run: (s) => s.deleteInstance('nope', ACTOR),
    code: 'not_found',
    field: undefined,
    message: /instance nope/,
  },
  {
    name: 'update of a missing ticket',
    run: (s) => s.updateTicket(99, { state: 'canary' }, ACTOR),
    code: 'not_found',
    field: undefined,
    message: /ticket 99/,
  },
  // deletes of what others use
  {
    name: 'delete of an org with products',
    run: (s) => s.deleteOrg('acme', ACTOR),
    code: 'invalid_argument',
    field: undefined,
    message: /org acme is still used by product shop, module account/,
  },
  {
    name: 'delete of a called module',
    run: (s) => s.deleteModule('orders', ACTOR),
    code: 'invalid_argument',
    field: undefined,
    message: /module orders is still used by module web, version orders@1.0.0/,
  },
  {
    name: 'delete of a running version',
    run: (s) => s.deleteVersion('orders', '1.0.0', ACTOR),
    code: 'invalid_argument',
    field: undefined,
    message: /still used by instance i-1/,
  },
  {
    name: 'delete of a ticketed version',
    run: (s) => s.deleteVersion('orders', '1.1.0', ACTOR),
    code: 'invalid_argument',
    field: undefined,
    message: /still used by ticket 1/,
  },
  {
    name: 'delete of a product with lanes and tickets',
    run: (s) => s.deleteProduct('shop', ACTOR),
    code: 'invalid_argument',
    field: undefined,
    message: /lane dev, ticket 1/,
  },
];
