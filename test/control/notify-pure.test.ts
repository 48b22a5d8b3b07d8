// The pure parts of notifications: which ticket events notify (and as what), the bodies of each
// format, the signature, and the retry schedule with an injected clock.

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  deliveryHeaders,
  notificationBody,
  SIGNATURE_HEADER,
  signature,
  TIMESTAMP_HEADER,
} from '../../src/control/notify-format.js';
import { DEFAULT_RETRY, outcomeOf, retryDelayMs } from '../../src/control/notify-retry.js';
import type { Ticket } from '../../src/store/model.js';
import type { Notification } from '../../src/store/notifier-model.js';
import { publicNotifier } from '../../src/store/notifier-model.js';
import { notifyEventOf } from '../../src/store/notify-events.js';

function ticket(over: Partial<Ticket> = {}): Ticket {
  return {
    id: 7,
    product: 'shop',
    state: 'canary',
    items: [{ module: 'orders', version: '2.0.0' }],
    revertOf: null,
    createdBy: 'alice',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    goal: 'canary',
    plan: {},
    progress: {},
    promotedSeq: null,
    prereleaseSecret: 'secret-of-7',
    ...over,
  };
}

const manual = { canary: { steps: [10, 50] } }; // pauseMs defaults to null: each step waits
const timed = { canary: { steps: [10, 50], pauseMs: 60_000 } };

describe('notifyEventOf: ticket event → notification', () => {
  it.each([
    ['analysis.failed', ticket(), 'analysis_failed'],
    ['aborted', ticket(), 'aborted'],
    ['deploy.failed', ticket(), 'failed'],
    ['promoted', ticket(), 'promoted'],
    ['promoted', ticket({ revertOf: 3 }), 'reverted'],
    ['canary.step', ticket({ plan: manual }), 'waiting_for_approval'],
    ['canary.step', ticket({ plan: timed }), null],
    ['canary.done', ticket({ plan: timed, goal: 'canary' }), 'waiting_for_approval'],
    ['canary.done', ticket({ plan: timed, goal: 'promoted' }), null],
    ['deployed', ticket(), null],
    ['instance.start', ticket(), null],
    ['command.abort', ticket(), null],
    ['created', ticket(), null],
  ] as const)('%s (%#) → %s', (type, t, expected) => {
    expect(notifyEventOf(t, type)).toBe(expected);
  });
});

const N: Notification = {
  id: 'hook-12',
  event: 'aborted',
  product: 'shop',
  ticket: 7,
  ticketEvent: {
    type: 'aborted',
    seq: 4,
    actor: 'engine',
    at: '2026-01-01T00:00:00.000Z',
    data: {},
  },
  message: 'analysis failed at 10 %',
};

describe('notification bodies', () => {
  it('webhook: the notification plus a summary line', () => {
    expect(JSON.parse(notificationBody('webhook', N))).toEqual({
      ...N,
      summary: 'shop: ticket #7 aborted: analysis failed at 10 %',
    });
  });

  it.each([
    [
      'aborted',
      'analysis failed at 10 %',
      ':no_entry: [turnout] shop: ticket #7 aborted: analysis failed at 10 %',
    ],
    ['promoted', null, ':white_check_mark: [turnout] shop: ticket #7 promoted'],
    ['reverted', null, ':rewind: [turnout] shop: ticket #7 reverted (the revert is promoted)'],
    [
      'waiting_for_approval',
      'canary at 10 %: waiting for approval',
      ':hourglass: [turnout] shop: ticket #7 waiting for approval: canary at 10 %: waiting for approval',
    ],
    [
      'failed',
      'orders@2.0.0 not ready',
      ':x: [turnout] shop: ticket #7 failed: orders@2.0.0 not ready',
    ],
  ] as const)('slack %s: only {"text"}', (event, message, text) => {
    expect(JSON.parse(notificationBody('slack', { ...N, event, message }))).toEqual({ text });
  });
});

describe('signature', () => {
  it('is HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed sha256=', () => {
    const body = '{"a":1}';
    const expected = createHmac('sha256', 'k'.repeat(16))
      .update(`1700000000.${body}`)
      .digest('hex');
    expect(signature('k'.repeat(16), 1_700_000_000, body)).toBe(`sha256=${expected}`);
    // A different timestamp, body or key gives a different signature.
    expect(signature('k'.repeat(16), 1_700_000_001, body)).not.toBe(`sha256=${expected}`);
    expect(signature('k'.repeat(16), 1_700_000_000, '{"a":2}')).not.toBe(`sha256=${expected}`);
    expect(signature('j'.repeat(16), 1_700_000_000, body)).not.toBe(`sha256=${expected}`);
  });

  it('headers carry the delivery id and event; signed only with a secret', () => {
    const body = notificationBody('webhook', N);
    const signed = deliveryHeaders(N, body, 's'.repeat(16), 1_700_000_000_999);
    expect(signed).toMatchObject({
      'x-turnout-delivery': 'hook-12',
      'x-turnout-event': 'aborted',
      [TIMESTAMP_HEADER]: '1700000000',
      [SIGNATURE_HEADER]: signature('s'.repeat(16), 1_700_000_000, body),
    });
    const unsigned = deliveryHeaders(N, body, null, 1_700_000_000_999);
    expect(unsigned[SIGNATURE_HEADER]).toBeUndefined();
    expect(unsigned[TIMESTAMP_HEADER]).toBeUndefined();
  });
});

describe('retry schedule', () => {
  const policy = { initialMs: 1000, maxMs: 5000, maxAttempts: 5 };

  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 5000],
    [10, 5000],
    [2000, 5000],
  ])('after failed attempt %i: wait %i ms', (attempt, ms) => {
    expect(retryDelayMs(attempt, policy)).toBe(ms);
  });

  it('the default: 1 s doubling, 8 attempts', () => {
    expect([1, 2, 3, 7].map((a) => retryDelayMs(a, DEFAULT_RETRY))).toEqual([
      1000, 2000, 4000, 64_000,
    ]);
    expect(DEFAULT_RETRY.maxAttempts).toBe(8);
  });

  const T = Date.parse('2026-01-01T00:00:00.000Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const fail = { ok: false, status: 500, error: 'HTTP 500' };
  it.each([
    [
      'delivered',
      1,
      { ok: true, status: 204, error: null },
      { state: 'delivered', nextAttemptAt: null, status: 204, error: null },
    ],
    [
      '500, attempt 1',
      1,
      fail,
      { state: 'pending', nextAttemptAt: iso(T + 1000), status: 500, error: 'HTTP 500' },
    ],
    ['500, attempt 3', 3, fail, { state: 'pending', nextAttemptAt: iso(T + 4000) }],
    [
      'no answer, attempt 4',
      4,
      { ok: false, status: null, error: 'refused' },
      { state: 'pending', nextAttemptAt: iso(T + 5000), status: null },
    ],
    ['500, last attempt', 5, fail, { state: 'failed', nextAttemptAt: null, error: 'HTTP 500' }],
    ['500, past the last', 6, fail, { state: 'failed', nextAttemptAt: null }],
  ] as const)('%s', (_what, attempt, result, expected) => {
    expect(outcomeOf(attempt, result, T, policy)).toMatchObject({ attemptAt: iso(T), ...expected });
  });
});

describe('publicNotifier', () => {
  const base = {
    name: 'n',
    product: 'shop',
    events: ['aborted' as const],
    createdAt: '',
    updatedAt: '',
  };
  it('hides the secret (last 4 characters only), the Slack path and a webhook query', () => {
    const hook = publicNotifier({
      ...base,
      format: 'webhook',
      url: 'https://ops.example/hooks/turnout?token=abc',
      secret: 'super-secret-value-1234',
    });
    expect(hook).toMatchObject({ url: 'https://ops.example/hooks/turnout', secretHint: '…1234' });
    expect(JSON.stringify(hook)).not.toContain('super-secret');
    expect(JSON.stringify(hook)).not.toContain('token=abc');
    const slack = publicNotifier({
      ...base,
      format: 'slack',
      url: 'https://hooks.slack.com/services/T0/B0/XYZ',
      secret: null,
    });
    expect(slack).toMatchObject({ url: 'https://hooks.slack.com/…', secretHint: null });
  });
});
