// diffSnapshots/applyDelta: for any two snapshots, applying the delta from the first to the second
// gives the second (deep equal), and the base is never mutated. Snapshots are drawn from a small
// universe of names so that lists share keys, reorder, gain and lose items.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyDelta, diffSnapshots } from '../../src/config/delta.js';
import { validateDeltaResult } from '../../src/config/delta-validate.js';
import { validateSnapshot } from '../../src/config/load.js';
import type { Snapshot } from '../../src/config/snapshot.js';

const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

function keyedList<T>(keys: string[], item: (k: string) => fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  // A subset of the keys in a random order, sometimes with a duplicate (replace path).
  return fc
    .tuple(fc.shuffledSubarray(keys), fc.boolean())
    .chain(([ks, dup]) => fc.tuple(...(dup && ks.length > 0 ? [...ks, ks[0]!] : ks).map(item)))
    .map((items) => [...items]);
}

const endpoint = (address: string) =>
  fc.record({
    address: fc.constant(address),
    state: fc.constantFrom('starting', 'ready', 'draining'),
    weight: fc.integer({ min: 0, max: 3 }),
    // A field the delta code knows nothing about (like a zone added later).
    zone: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }),
  });

const version = (v: string) =>
  fc.record({
    version: fc.constant(v),
    endpoints: keyedList(names('10.0.0.1:', 4), endpoint),
  });

const module = (name: string) =>
  fc.record({
    name: fc.constant(name),
    calls: fc.subarray(names('m', 3)),
    versions: keyedList(names('1.', 3), version),
  });

const product = (name: string) =>
  fc.record({
    name: fc.constant(name),
    hosts: fc.subarray(['a.example', 'b.example']),
    entry: fc.constantFrom('m0', 'm1'),
    dtab: fc.constantFrom('/svc => /v;', '/svc/m0 => /v/m0/1.0;'),
    lanes: fc.constant([]),
    rules: fc.constant([]),
  });

const snapshot: fc.Arbitrary<Snapshot> = fc
  .record({
    version: fc.nat(100),
    products: keyedList(names('p', 3), product),
    modules: keyedList(names('m', 4), module),
  })
  .map((s) => JSON.parse(JSON.stringify(s)) as Snapshot); // drop undefined zones, as on the wire

describe('snapshot deltas', () => {
  it('applying diff(a, b) to a gives b, without touching a', () => {
    fc.assert(
      fc.property(snapshot, snapshot, (a, b) => {
        const before = JSON.stringify(a);
        const delta = diffSnapshots(a, b, 'x', 'y');
        // Through JSON, as on the wire.
        const applied = applyDelta(a, JSON.parse(JSON.stringify(delta)));
        expect(applied).toEqual(b);
        expect(JSON.stringify(a)).toBe(before);
      }),
      { numRuns: 500 },
    );
  });

  it('validating only the changed parts agrees with the full schema', () => {
    const outcome = (fn: () => unknown) => {
      try {
        return { ok: true, value: fn() };
      } catch {
        return { ok: false };
      }
    };
    fc.assert(
      fc.property(snapshot, snapshot, (a0, b) => {
        // The base is what a proxy holds: validated (skip draws the schema refuses).
        const base = outcome(() => validateSnapshot(a0, 'a'));
        if (!base.ok) return;
        const a = base.value as Snapshot;
        const applied = applyDelta(a, JSON.parse(JSON.stringify(diffSnapshots(a, b, 'x', 'y'))));
        const fast = outcome(() => validateDeltaResult(a, applied, 'd'));
        const full = outcome(() => validateSnapshot(applied, 'd'));
        expect(fast).toEqual(full);
      }),
      { numRuns: 500 },
    );
  });

  it('a single endpoint change is sent as that endpoint only', () => {
    const a: Snapshot = {
      version: 1,
      products: [],
      modules: [
        {
          name: 'm0',
          calls: [],
          versions: [
            {
              version: '1.0',
              endpoints: [
                { address: '10.0.0.1:1', state: 'ready', weight: 1 },
                { address: '10.0.0.1:2', state: 'ready', weight: 1 },
              ],
            },
          ],
        },
      ],
    };
    const b = structuredClone(a);
    b.version = 2;
    b.modules[0]!.versions[0]!.endpoints[1]!.state = 'draining';
    const delta = diffSnapshots(a, b, '1.0', '2.0');
    expect(delta).toEqual({
      from: '1.0',
      to: '2.0',
      version: 2,
      modules: {
        update: [
          {
            name: 'm0',
            versions: {
              update: [
                {
                  version: '1.0',
                  endpoints: { update: [{ address: '10.0.0.1:2', state: 'draining', weight: 1 }] },
                },
              ],
            },
          },
        ],
      },
    });
  });

  it('a malformed delta is refused naming the field, and the base is unchanged', () => {
    const a: Snapshot = {
      version: 1,
      products: [],
      modules: [{ name: 'm0', calls: [], versions: [] }],
    };
    const before = JSON.stringify(a);
    expect(() => applyDelta(a, { version: 2, modules: { remove: ['nope'] } })).toThrow(
      /modules\.remove\[0\]: no item with name "nope"/,
    );
    expect(() =>
      applyDelta(a, { version: 2, modules: { insert: [{ at: 5, item: { name: 'x' } }] } }),
    ).toThrow(/modules\.insert\[0\]\.at/);
    expect(() =>
      applyDelta(a, { version: 2, modules: { update: [{ name: 'm0', fields: { name: 'z' } }] } }),
    ).toThrow(/may not set "name"/);
    expect(() => applyDelta(a, { modules: {} })).toThrow(/version: must be a number/);
    expect(JSON.stringify(a)).toBe(before);
  });
});
