// Store records for the engine tests that run on a real store (fixtures.ts has plain values for
// the pure ones).

import { runCommand } from '../../src/release/commands.js';
import type { Store } from '../../src/store/store.js';

const ENGINE = 'engine';

/** A product with one module, v2 running and healthy, and a ticket for v2 asked to promote. */
export async function promotingTicket(
  store: Store,
  product: string,
  module: string,
): Promise<number> {
  await store.createModule(
    { name: module, org: 'acme', calls: [], run: { process: { command: 'node' } } },
    ENGINE,
  );
  for (const version of ['1.0.0', '2.0.0']) await store.createVersion({ module, version }, ENGINE);
  await store.createProduct(
    {
      name: product,
      org: 'acme',
      entry: module,
      baseDtab: `/svc/${module} => /v/${module}/1.0.0;`,
    },
    ENGINE,
  );
  await store.createInstance(
    {
      id: `${module}-2.0.0-0`,
      module,
      version: '2.0.0',
      host: 'local',
      address: '127.0.0.1:9',
      state: 'ready',
      health: 'healthy',
    },
    ENGINE,
  );
  const t = await store.createTicket({ product, items: [{ module, version: '2.0.0' }] }, 'rey');
  await store.transaction((tx) => runCommand(tx, t.id, { command: 'promote' }, 'rey'));
  return t.id;
}
