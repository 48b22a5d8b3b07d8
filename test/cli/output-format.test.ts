// The pure pieces of the CLI's output (src/cli/table.ts, kinds.ts, event-text.ts, describe-view.ts
// dtabRuleLines): ages and human headers in tables, kind names as kubectl takes them, events as
// sentences, a dtab one rule a line.

import { describe, expect, it } from 'vitest';
import { dtabRuleLines, fieldLines } from '../../src/cli/describe-view.js';
import { eventSentence } from '../../src/cli/event-text.js';
import { kindOf } from '../../src/cli/kinds.js';
import { age, formatTable, headerOf } from '../../src/cli/table.js';

const NOW = Date.parse('2026-01-01T12:00:00Z');

describe('age', () => {
  it.each([
    ['2026-01-01T12:00:00Z', '0s'],
    ['2026-01-01T11:59:15Z', '45s'],
    ['2026-01-01T11:58:01Z', '119s'],
    ['2026-01-01T11:57:00Z', '3m'],
    ['2026-01-01T10:01:00Z', '119m'],
    ['2026-01-01T07:00:00Z', '5h'],
    ['2025-12-20T12:00:00Z', '12d'],
    // A clock a little ahead of ours: never a negative age.
    ['2026-01-01T12:00:05Z', '0s'],
    ['not a time', 'not a time'],
  ])('%s → %s', (iso, expected) => expect(age(iso, NOW)).toBe(expected));
});

describe('formatTable', () => {
  it('human headers, `…At` columns as ages, `-` for nothing', () => {
    const rows = [
      { name: 'shop', hosts: ['shop.localhost'], updatedAt: '2026-01-01T11:57:00Z' },
      { name: 'admin', hosts: [], updatedAt: '2026-01-01T07:00:00Z' },
    ];
    expect(formatTable(['name', 'hosts', 'updatedAt'], rows, NOW)).toBe(
      [
        'NAME   HOSTS           UPDATED',
        'shop   shop.localhost  3m',
        'admin  -               5h',
      ].join('\n'),
    );
  });

  it.each([
    ['createdAt', 'AGE'],
    ['updatedAt', 'UPDATED'],
    ['leaseExpiresAt', 'LEASE EXPIRES AT'],
    ['name', 'NAME'],
  ])('header of %s is %s', (field, header) => expect(headerOf(field)).toBe(header));
});

describe('kindOf', () => {
  it.each([
    ['products', 'products'],
    ['product', 'products'],
    ['prod', 'products'],
    ['Product', 'products'],
    ['module', 'modules'],
    ['mod', 'modules'],
    ['ver', 'versions'],
    ['inst', 'instances'],
    ['lane', 'lanes'],
    ['tk', 'tickets'],
    ['ticket', 'tickets'],
    ['org', 'orgs'],
    ['widget', null],
    ['productss', null],
  ])('%s → %s', (text, kind) => expect(kindOf(text)).toBe(kind));
});

describe('eventSentence', () => {
  const items = [
    { module: 'orders', version: '2.0.0' },
    { module: 'account', version: '2.0.0' },
  ];
  it.each([
    ['created', { items }, 'created with orders@2.0.0, account@2.0.0'],
    [
      'created',
      { items, revertOf: 3 },
      'created to revert ticket 3 with orders@2.0.0, account@2.0.0',
    ],
    ['command.deploy', {}, 'asked to deploy'],
    [
      'command.canary',
      { canary: { steps: [1, 10, 50], pauseMs: 30_000 } },
      'asked for a canary at 1 % → 10 % → 50 %, holding each step 30 s',
    ],
    [
      'command.canary',
      { canary: { steps: [10], pauseMs: null } },
      'asked for a canary at 10 %, each step waiting for approval',
    ],
    ['command.approve', { step: 0 }, 'approved canary step 1'],
    [
      'command.revert',
      { ticket: 5, items },
      'reverted by ticket 5 (restores orders@2.0.0, account@2.0.0)',
    ],
    ['deploy.level', { level: 1, modules: ['orders@2.0.0'] }, 'deploying level 1: orders@2.0.0'],
    ['instance.start', { id: 'orders-2.0.0-0' }, 'started instance orders-2.0.0-0'],
    ['instance.start', { id: 'o-1', recovered: true }, 'found instance o-1 still running'],
    ['deploy.failed', { message: 'deploy failed: after 60 s …' }, 'deploy failed: after 60 s …'],
    ['prerelease', { lane: 't-4', header: 'x-prerelease: s3cret' }, 'pre-release lane t-4 is live'],
    ['canary.step', { step: 1, percent: 50 }, 'canary step 2: 50 % of traffic'],
    ['canary.done', { percent: 50, analysis: [] }, 'canary complete at 50 %: ready to promote'],
    ['aborted', { message: 'aborted by an operator' }, 'aborted: aborted by an operator'],
    ['promoted', { items, revertOf: null }, 'promoted orders@2.0.0, account@2.0.0'],
    // A type from a newer engine still reads as words, without JSON.
    [
      'lane.drained',
      { lane: 't-4', count: 2, detail: { a: 1 } },
      'lane drained, lane t-4, count 2',
    ],
  ])('%s %j', (type, data, sentence) => expect(eventSentence(type, data)).toBe(sentence));

  it('never prints the pre-release header secret', () => {
    expect(
      eventSentence('prerelease', { lane: 't-4', header: 'x-prerelease: s3cret' }),
    ).not.toContain('s3cret');
  });
});

describe('a dtab in describe', () => {
  it('one rule a line, one spacing, however it was stored', () => {
    expect(dtabRuleLines('/svc/web=>/v/web/1.0.0;\n/svc/orders => /v/orders/2.0.0;')).toEqual([
      '/svc/web => /v/web/1.0.0;',
      '/svc/orders => /v/orders/2.0.0;',
    ]);
  });

  it('continues under the value column', () => {
    expect(
      fieldLines([
        ['Entry', 'web'],
        ['Base dtab', ['/svc/a => /v/a/1;', '/svc/b => /v/b/2;']],
      ]),
    ).toEqual(['Entry:     web', 'Base dtab: /svc/a => /v/a/1;', '           /svc/b => /v/b/2;']);
  });
});
