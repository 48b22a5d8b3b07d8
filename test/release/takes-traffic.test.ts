// One definition of "this instance can take traffic" (src/store/endpoint.ts, takesTraffic), as a
// table: for each instance, whether it takes traffic — and the release engine (reconcile.ts,
// isReady) and the proxies (the compiled snapshot's endpoint lookup) answer the same. The API's
// `serving` field, which the CLI and the dashboard show, is the same function (api-contract).
// Before, the engine counted a ready instance of weight 0 as ready while the proxies sent it
// nothing, and the CLI counted one whose lease had expired.

import { describe, expect, it } from 'vitest';
import { compileSnapshot } from '../../src/config/compile.js';
import { compileStoreSnapshot } from '../../src/control/compile-snapshot.js';
import { isReady } from '../../src/release/reconcile.js';
import { takesTraffic } from '../../src/store/endpoint.js';
import type { Instance, Module, Version } from '../../src/store/model.js';
import { instance, product, STAMP, T0 } from './fixtures.js';

const NOW = T0 + 60_000;
const later = new Date(NOW + 1).toISOString();
const earlier = new Date(NOW - 1).toISOString();

const ROWS: { name: string; over: Partial<Instance>; takes: boolean }[] = [
  { name: 'ready, healthy, no lease', over: {}, takes: true },
  { name: 'ready, health unknown (not checked)', over: { health: 'unknown' }, takes: true },
  { name: 'ready, lease valid', over: { leaseExpiresAt: later }, takes: true },
  { name: 'ready, weight 2', over: { weight: 2 }, takes: true },
  { name: 'ready, unhealthy', over: { health: 'unhealthy' }, takes: false },
  { name: 'ready, lease expired', over: { leaseExpiresAt: earlier }, takes: false },
  { name: 'ready, weight 0', over: { weight: 0 }, takes: false },
  { name: 'starting, healthy', over: { state: 'starting' }, takes: false },
  { name: 'draining', over: { state: 'draining' }, takes: false },
  { name: 'stopped', over: { state: 'stopped' }, takes: false },
];

/** The addresses a proxy balances over for web@2.0.0, given only `i`. */
function proxyEndpoints(i: Instance): readonly string[] {
  const module = {
    name: 'web',
    org: 'acme',
    calls: [],
    run: { process: { command: 'node' } },
    createdAt: STAMP,
    updatedAt: STAMP,
  } as unknown as Module;
  const version: Version = {
    module: 'web',
    version: '2.0.0',
    run: null,
    artifact: null,
    createdAt: STAMP,
  };
  const compiled = compileStoreSnapshot(
    {
      changeVersion: 1,
      products: [product({ entry: 'web', baseDtab: '/svc/web => /v/web/2.0.0;' })],
      lanes: [],
      modules: [module],
      versions: [version],
      instances: [i],
    },
    new Date(NOW),
  );
  if (!compiled.ok) throw compiled.error;
  const found = compileSnapshot(compiled.snapshot).endpoints('web', '2.0.0');
  return Array.isArray(found) ? found : [];
}

describe('one definition of "takes traffic", shared by the engine and the proxies', () => {
  it.each(ROWS)('$name → $takes', (row) => {
    const i = instance('web', '2.0.0', 0, row.over);
    expect(takesTraffic(i, NOW)).toBe(row.takes);
    expect(isReady(i, NOW), 'the engine').toBe(row.takes);
    expect(proxyEndpoints(i).includes(i.address), 'the proxies').toBe(row.takes);
  });
});
