import { describe, expect, it } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import { promotions, revertItems, stableVersions } from '../../src/release/history.js';
import { keptVersions, toReclaim } from '../../src/release/reclaim.js';
import { instance, item, lane, product, ticket } from './fixtures.js';

// Promotions out of id order: ticket 3 was promoted before ticket 2.
const t1 = ticket(1, [item('orders', '1.0.0'), item('account', '1.0.0')], {
  state: 'promoted',
  promotedSeq: 1,
});
const t3 = ticket(3, [item('orders', '1.1.0')], { state: 'promoted', promotedSeq: 2 });
const t2 = ticket(2, [item('orders', '2.0.0'), item('account', '2.0.0')], {
  state: 'promoted',
  promotedSeq: 3,
});
const t4 = ticket(4, [item('orders', '3.0.0')], { state: 'canary' });
const t5 = ticket(5, [item('catalog', '9.0.0')], { state: 'aborted' });
const all = [t1, t2, t3, t4, t5];

describe('history', () => {
  it('promotions are in promotion order, not id order', () => {
    expect(promotions(all).map((t) => t.id)).toEqual([1, 3, 2]);
    expect(Object.fromEntries(stableVersions(promotions(all)))).toEqual({
      orders: '2.0.0',
      account: '2.0.0',
    });
  });

  it('a revert restores, per module the target changed, the version promoted just before it', () => {
    expect(revertItems(t2, all)).toEqual([item('orders', '1.1.0'), item('account', '1.0.0')]);
    expect(revertItems(t3, all)).toEqual([item('orders', '1.0.0')]);
  });

  it.each([
    [t1, /no version of orders, account was promoted before it/],
    [t4, /canary, not promoted/],
    [t5, /aborted, not promoted/],
  ])('refuses to revert ticket %#', (target, message) => {
    const call = () => revertItems(target, all);
    expect(call).toThrow(TurnoutError);
    expect(call).toThrow(message);
  });
});

describe('reclaim', () => {
  const shop = product({
    retainTickets: 1,
    baseDtab: '/svc/orders => /v/orders/2.0.0;/svc/account => /v/account/2.0.0',
  });

  it('keeps base dtabs, lane overlays, active tickets and the last N promotions', () => {
    const lanes = [lane('dev', '/svc/catalog => /v/catalog/0.1.0')];
    const keep = keptVersions([shop], lanes, all);
    expect([...keep].sort()).toEqual([
      'account@2.0.0',
      'catalog@0.1.0',
      'orders@2.0.0',
      'orders@3.0.0',
    ]);
    const two = keptVersions([{ ...shop, retainTickets: 2 }], [], all);
    expect(two.has('orders@1.1.0')).toBe(true); // the one before the last
    expect(two.has('orders@1.0.0')).toBe(false);
    const zero = keptVersions([{ ...shop, retainTickets: 0 }], [], all);
    expect(zero.has('orders@2.0.0')).toBe(true); // stable is always kept, through the base dtab
  });

  it('only live instances of versions not kept are reclaimed', () => {
    const keep = keptVersions([shop], [], all);
    const instances = [
      instance('orders', '1.0.0', 0),
      instance('orders', '1.0.0', 1, { state: 'starting' }),
      instance('orders', '1.0.0', 2, { state: 'draining' }),
      instance('orders', '1.0.0', 3, { state: 'stopped' }),
      instance('orders', '2.0.0', 0),
      instance('orders', '3.0.0', 0),
    ];
    expect(toReclaim(instances, keep).map((i) => i.id)).toEqual([
      'orders-1.0.0-0',
      'orders-1.0.0-1',
    ]);
  });
});
