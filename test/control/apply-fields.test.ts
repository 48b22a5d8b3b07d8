// kubectl's three-way rule (apply-fields.ts), as a table: per top-level field, given → given;
// left out but the last apply gave it → removed (the default fills in); left out and no apply
// gave it → the stored value.

import { describe, expect, it } from 'vitest';
import { givenFields, mergeFields } from '../../src/control/apply-fields.js';

const T = '2026-01-01T00:00:00.000Z';
const stored = {
  name: 'shop',
  retainTickets: 9,
  baseDtab: '/svc/a => /b;',
  createdAt: T,
  updatedAt: T,
};

describe('mergeFields', () => {
  const cases: {
    name: string;
    given: Record<string, unknown>;
    stored?: Record<string, unknown>;
    last?: string[];
    want: Record<string, unknown>;
  }[] = [
    {
      name: 'create: only what is given (defaults fill the rest later)',
      given: { name: 'shop' },
      want: { name: 'shop' },
    },
    {
      name: 'given wins over stored',
      given: { name: 'shop', retainTickets: 3 },
      stored,
      last: ['name', 'retainTickets'],
      want: { name: 'shop', retainTickets: 3, baseDtab: '/svc/a => /b;' },
    },
    {
      name: 'left out, last apply gave it: removed (returns to its default)',
      given: { name: 'shop' },
      stored,
      last: ['name', 'retainTickets'],
      want: { name: 'shop', baseDtab: '/svc/a => /b;' },
    },
    {
      name: 'left out, no apply gave it: kept (someone else set it)',
      given: { name: 'shop' },
      stored,
      last: ['name'],
      want: { name: 'shop', retainTickets: 9, baseDtab: '/svc/a => /b;' },
    },
    {
      name: 'no apply ever wrote the object: every left-out field is kept',
      given: { name: 'shop' },
      stored,
      want: { name: 'shop', retainTickets: 9, baseDtab: '/svc/a => /b;' },
    },
    {
      name: 'an undefined value counts as left out',
      given: { name: 'shop', retainTickets: undefined },
      stored,
      last: ['name', 'retainTickets'],
      want: { name: 'shop', baseDtab: '/svc/a => /b;' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(mergeFields(c.given, c.stored, c.last)).toEqual(c.want);
    });
  }
});

describe('givenFields', () => {
  it('names the defined top-level fields, kind aside, sorted', () => {
    expect(givenFields({ kind: 'Product', org: 'acme', name: 'shop', hosts: undefined })).toEqual([
      'name',
      'org',
    ]);
  });
});
