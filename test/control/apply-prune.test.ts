// planPrune (apply-prune.ts), as a table: which last-applied objects an `apply --prune` deletes
// (not named, in scope, never an org) and in what order (dependents first, callers before callees).

import { describe, expect, it } from 'vitest';
import type { PruneCandidate } from '../../src/control/apply-prune.js';
import { planPrune } from '../../src/control/apply-prune.js';

const c = (kind: PruneCandidate['kind'], key: string, org = 'acme', calls?: string[]) =>
  calls === undefined ? { kind, key, org } : { kind, key, org, calls };
const ids = (list: PruneCandidate[]) => list.map((x) => `${x.kind}/${x.key}`);

describe('planPrune', () => {
  it('deletes only what is not named, in scope; never an org', () => {
    const out = planPrune(
      [c('Org', 'acme'), c('Module', 'web'), c('Module', 'old'), c('Module', 'theirs', 'beta')],
      new Set(['Module/web']),
      new Set(['acme']),
    );
    expect(ids(out)).toEqual(['Module/old']);
  });

  it('nothing in scope: nothing pruned', () => {
    expect(planPrune([c('Lane', 'shop/dev')], new Set(), new Set())).toEqual([]);
  });

  it('dependents first: notifiers, lanes, products, versions, then modules', () => {
    const out = planPrune(
      [
        c('Module', 'm'),
        c('Version', 'm@1.0.0'),
        c('Product', 'shop'),
        c('Lane', 'shop/dev'),
        c('Notifier', 'ops'),
      ],
      new Set(),
      new Set(['acme']),
    );
    expect(ids(out)).toEqual([
      'Notifier/ops',
      'Lane/shop/dev',
      'Product/shop',
      'Version/m@1.0.0',
      'Module/m',
    ]);
  });

  it('modules: callers before the modules they call, whatever the input order', () => {
    const out = planPrune(
      [
        c('Module', 'a', 'acme', []),
        c('Module', 'c', 'acme', ['b']),
        c('Module', 'b', 'acme', ['a']),
      ],
      new Set(),
      new Set(['acme']),
    );
    expect(ids(out)).toEqual(['Module/c', 'Module/b', 'Module/a']);
  });
});
