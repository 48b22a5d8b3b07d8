// compileSnapshot remembers what it compiled from each part by the part's identity: after a delta
// (which keeps the base's objects for the parts it did not change) only the changed parts are
// compiled again, and the result routes exactly as a compile from scratch does.

import { describe, expect, it } from 'vitest';
import { compileSnapshot } from '../../src/config/compile.js';
import { applyDelta, diffSnapshots } from '../../src/config/delta.js';
import type { Snapshot } from '../../src/config/snapshot.js';
import { snapshotSchema } from '../../src/config/snapshot.js';

const base: Snapshot = snapshotSchema.parse({
  version: 1,
  products: ['shop', 'blog'].map((name) => ({
    name,
    hosts: [`${name}.example.com`],
    entry: `${name}-web`,
    dtab: `/svc => /v;/svc/${name}-web => /v/${name}-web/1;`,
    lanes: [{ name: 'dev', overlay: `/svc/${name}-web => /v/${name}-web/2;` }],
    rules: [{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }],
  })),
  modules: ['blog-web', 'shop-web'].map((name) => ({
    name,
    calls: [],
    versions: ['1', '2'].map((version) => ({
      version,
      endpoints: [
        { address: `10.0.0.${version}:80`, state: 'ready', weight: 1 },
        { address: `10.0.1.${version}:80`, state: 'starting', weight: 1 },
      ],
    })),
  })),
});

/** What a request sees: each product's dtabs and rules, each version's routable addresses. */
function routing(s: Snapshot) {
  const c = compileSnapshot(s);
  return {
    dtabs: s.products.map((p) => [c.router.dtabFor(p.name, null), c.router.dtabFor(p.name, 'dev')]),
    rules: s.products.map((p) => c.products.get(p.name)!.rules),
    endpoints: s.modules.map((m) => m.versions.map((v) => c.endpoints(m.name, v.version))),
  };
}

describe('compileSnapshot after a delta', () => {
  it('compiles only the changed parts again, and routes as a compile from scratch', () => {
    const next = structuredClone(base);
    next.version = 2;
    next.modules[1]!.versions[0]!.endpoints[1]!.state = 'ready'; // shop-web@1 gains an endpoint
    next.products[0]!.dtab = '/svc => /v;'; // blog's dtab changes
    const applied = applyDelta(base, diffSnapshots(base, next, '1.0', '2.0')) as Snapshot;
    const before = routing(base);
    const after = routing(applied);
    // Unchanged parts: the very objects compiled for the base.
    expect(after.dtabs[1]![0]).toBe(before.dtabs[1]![0]); // shop's base dtab
    expect(after.rules[1]).toBe(before.rules[1]);
    expect(after.endpoints[0]![0]).toBe(before.endpoints[0]![0]); // blog-web@1
    // Changed parts: compiled again, to what a compile from scratch gives.
    expect(after.dtabs[0]![0]).not.toBe(before.dtabs[0]![0]);
    expect(after.endpoints[1]![0]).toEqual(['10.0.0.1:80', '10.0.1.1:80']);
    expect(after).toEqual(routing(structuredClone(applied)));
  });
});
