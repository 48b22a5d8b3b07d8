// Notification delivery against real HTTP receivers on 127.0.0.1, over a real SQLite store: the
// receiver verifies the signature itself; 500s are retried on the backoff schedule (an injected
// clock, no sleeps) until success; a receiver that stays down ends 'failed' after the bounded
// attempts; a receiver that never answers delays only its own delivery. Then the whole path in a
// control plane: apply a Notifier, an engine event, the delivery, the API and the CLI.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotifierDeliverer } from '../../src/control/notifier-deliverer.js';
import type { RetryPolicy } from '../../src/control/notify-retry.js';
import type { ControlPlane } from '../../src/server/control-plane.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import type { ClaimedDelivery, DeliveryOutcome } from '../../src/store/notifier-model.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH, TOKENS } from '../api/harness.js';
import { seed } from '../store/fixtures.js';
import { ensureBuilt } from '../support/build.js';
import { freePort, runTurnout } from '../support/turnout-up.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver } from '../support/webhook-receiver.js';

const SECRET = 'whsec-0123456789abcdef';
const POLICY: RetryPolicy = { initialMs: 1000, maxMs: 10_000, maxAttempts: 3 };

/** Outcomes as they are recorded, to wait on. */
class Outcomes {
  readonly all: { notifier: string; outcome: DeliveryOutcome }[] = [];
  private waiters: (() => void)[] = [];
  readonly record = (c: ClaimedDelivery, outcome: DeliveryOutcome) => {
    this.all.push({ notifier: c.notifier.name, outcome });
    for (const wake of this.waiters.splice(0)) wake();
  };
  async next(seen: number): Promise<{ notifier: string; outcome: DeliveryOutcome }> {
    while (this.all.length <= seen) await new Promise<void>((r) => this.waiters.push(r));
    return this.all[seen] as { notifier: string; outcome: DeliveryOutcome };
  }
}

let dir: string;
let store: Store;
let receivers: Receiver[];
let deliverer: NotifierDeliverer | null;
let clock: number;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-notify-'));
  store = await openSqliteStore(join(dir, 'turnout.db'));
  await store.transaction((tx) => seed(tx)); // product shop, ticket 1
  receivers = [];
  deliverer = null;
  // Ahead of the wall clock: an event appended during the test is due at once on this clock.
  clock = Date.now() + 60_000;
});

afterEach(async () => {
  await deliverer?.stop();
  for (const r of receivers) await r.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function receiver(options: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(options);
  receivers.push(r);
  return r;
}

function startDeliverer(outcomes: Outcomes, timeoutMs = 5000): NotifierDeliverer {
  deliverer = new NotifierDeliverer({
    store,
    retry: POLICY,
    timeoutMs,
    now: () => clock,
    onOutcome: outcomes.record,
  });
  return deliverer; // not started: tests kick it, so each pass is one they asked for
}

async function webhook(name: string, url: string, secret = SECRET): Promise<void> {
  await store.createNotifier({ name, product: 'shop', url, secret }, 'ada');
}

async function deliveries(notifier: string) {
  return (await store.listDeliveries({ notifier })).items;
}

describe('notification delivery to a real receiver', () => {
  it('signs each request; the receiver verifies it with its own copy of the secret', async () => {
    const good = await receiver({ secret: SECRET });
    const wrong = await receiver({ secret: 'not-the-same-secret!' });
    await webhook('good', good.url);
    await webhook('wrong', wrong.url);
    const outcomes = new Outcomes();
    const d = startDeliverer(outcomes);
    const event = await store.appendTicketEvent(1, { type: 'promoted', data: {} }, 'engine');
    await d.kick();

    const [got] = good.received;
    expect(got?.verified).toBe(true);
    expect(got?.headers['x-turnout-event']).toBe('promoted');
    const body = JSON.parse(got?.body ?? '{}');
    expect(body).toMatchObject({
      id: got?.headers['x-turnout-delivery'],
      event: 'promoted',
      product: 'shop',
      ticket: 1,
      ticketEvent: { type: 'promoted', seq: event.seq },
      summary: 'shop: ticket #1 promoted',
    });
    expect(await deliveries('good')).toMatchObject([
      { state: 'delivered', attempts: 1, lastStatus: 204, lastError: null },
    ]);
    // A receiver with another secret refuses it: the signature really depends on the secret.
    expect(wrong.received.map((r) => r.verified)).toEqual([false]);
    expect(await deliveries('wrong')).toMatchObject([
      { state: 'pending', attempts: 1, lastStatus: 401, lastError: 'HTTP 401' },
    ]);
  });

  it('sends a Slack notifier {"text": …}, unsigned', async () => {
    const slack = await receiver({});
    await store.createNotifier(
      { name: 'chat', product: 'shop', format: 'slack', url: slack.url, events: ['aborted'] },
      'ada',
    );
    const d = startDeliverer(new Outcomes());
    await store.appendTicketEvent(1, { type: 'aborted', data: { message: 'by bob' } }, 'engine');
    await d.kick();
    expect(slack.received.map((r) => JSON.parse(r.body))).toEqual([
      { text: ':no_entry: [turnout] shop: ticket #1 aborted: by bob' },
    ]);
    expect(slack.received[0]?.headers['x-turnout-signature']).toBeUndefined();
  });

  it('retries after 500s on the backoff schedule, then succeeds: one id, one body', async () => {
    const flaky = await receiver({ secret: SECRET, answer: (n) => (n < 2 ? 500 : 200) });
    await webhook('flaky', flaky.url);
    const outcomes = new Outcomes();
    const d = startDeliverer(outcomes);
    await store.appendTicketEvent(1, { type: 'deploy.failed', data: { message: 'x' } }, 'engine');

    await d.kick();
    expect((await outcomes.next(0)).outcome).toMatchObject({
      state: 'pending',
      status: 500,
      nextAttemptAt: new Date(clock + 1000).toISOString(),
    });
    await d.kick(); // not due yet: nothing is sent
    clock += 999;
    await d.kick();
    expect(flaky.received).toHaveLength(1);

    clock += 1;
    await d.kick();
    expect((await outcomes.next(1)).outcome).toMatchObject({
      state: 'pending',
      status: 500,
      nextAttemptAt: new Date(clock + 2000).toISOString(),
    });
    clock += 2000;
    await d.kick();
    expect((await outcomes.next(2)).outcome).toMatchObject({ state: 'delivered', status: 200 });

    expect(flaky.received).toHaveLength(3);
    expect(new Set(flaky.received.map((r) => r.headers['x-turnout-delivery'])).size).toBe(1);
    expect(new Set(flaky.received.map((r) => r.body)).size).toBe(1);
    expect(flaky.received.every((r) => r.verified)).toBe(true);
    expect(await deliveries('flaky')).toMatchObject([
      { state: 'delivered', attempts: 3, lastStatus: 200, nextAttemptAt: null },
    ]);
    clock += 60_000;
    await d.kick();
    expect(flaky.received).toHaveLength(3); // delivered: never again
  });

  it('a receiver that stays down: failed after the bounded attempts, then left alone', async () => {
    await webhook('down', `http://127.0.0.1:${await freePort()}/hook`);
    const outcomes = new Outcomes();
    const d = startDeliverer(outcomes);
    await store.appendTicketEvent(1, { type: 'aborted', data: {} }, 'engine');
    for (let attempt = 1; attempt <= POLICY.maxAttempts; attempt++) {
      await d.kick();
      clock += POLICY.maxMs;
    }
    expect(outcomes.all.map((o) => o.outcome.state)).toEqual(['pending', 'pending', 'failed']);
    const [failed] = await deliveries('down');
    expect(failed).toMatchObject({ state: 'failed', attempts: 3, lastStatus: null });
    expect(failed?.lastError).toMatch(/ECONNREFUSED|connect/);
    await d.kick();
    expect(outcomes.all).toHaveLength(3);
    expect((await deliveries('down'))[0]?.attempts).toBe(3);
  });

  it('a receiver that never answers delays only its own delivery, not others or the store', async () => {
    const slow = await receiver({ secret: SECRET, answer: () => 'hang' });
    const fast = await receiver({ secret: SECRET });
    await webhook('a-slow', slow.url);
    await webhook('b-fast', fast.url);
    const outcomes = new Outcomes();
    const d = startDeliverer(outcomes, 1000);
    await store.appendTicketEvent(1, { type: 'promoted', data: {} }, 'engine');

    const pass = d.kick();
    await slow.request(0);
    const first = await outcomes.next(0);
    expect(first).toMatchObject({ notifier: 'b-fast', outcome: { state: 'delivered' } });
    expect(slow.hanging()).toBe(1); // still waiting on the slow one…
    // …and the store takes writes meanwhile (the engine's next tick would not wait).
    await store.appendTicketEvent(1, { type: 'canary.step', data: {} }, 'engine');
    await pass;
    expect((await outcomes.next(1)).outcome).toMatchObject({
      state: 'pending',
      status: null,
      error: 'no answer within 1000 ms',
    });
  });
});

describe('notifiers in the control plane: apply, deliver, API, CLI', () => {
  let cp: ControlPlane | null = null;
  afterEach(async () => {
    await cp?.stop();
    cp = null;
  });

  async function api(method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await request(`${cp?.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKENS.admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, text, json: JSON.parse(text) };
  }

  it('a Notifier applied; an engine event delivered; visible in the API and the CLI', async () => {
    await ensureBuilt();
    const hook = await receiver({ secret: SECRET });
    const outcomes = new Outcomes();
    cp = await startControlPlane({
      store,
      auth: TEST_AUTH,
      listen: { host: '127.0.0.1', port: 0 },
      notify: { onOutcome: outcomes.record },
      release: { runtime: null }, // the engine: an abort command becomes its `aborted` event
    });
    const doc = {
      kind: 'Notifier',
      name: 'ops',
      product: 'shop',
      url: `${hook.url}?token=query-token`,
      events: ['aborted', 'promoted'],
      secret: SECRET,
    };
    const applied = await api('POST', '/v1/apply', { documents: [doc] });
    expect(applied.status, applied.text).toBe(200);
    expect(applied.json.actions).toMatchObject([
      { kind: 'Notifier', name: 'ops', action: 'create' },
    ]);
    const rotated = await api('POST', '/v1/apply', {
      documents: [{ ...doc, secret: `${SECRET}-2` }],
      dryRun: true,
    });
    expect(rotated.json.actions[0].changes).toEqual([
      { field: 'secret', before: '(secret)', after: '(secret)' },
    ]);
    const bad = await api('POST', '/v1/apply', {
      documents: [{ ...doc, name: 'nosecret', secret: undefined }],
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'invalid_config', field: 'documents[0].secret' });

    const aborted = await api('POST', '/v1/tickets/1/abort');
    expect(aborted.status, aborted.text).toBe(200);
    const received = await hook.request(0);
    expect(received.verified).toBe(true);
    expect(JSON.parse(received.body)).toMatchObject({
      event: 'aborted',
      ticket: 1,
      ticketEvent: { type: 'aborted', actor: 'engine' },
    });
    expect((await outcomes.next(0)).outcome.state).toBe('delivered');

    const list = await api('GET', '/v1/notifiers');
    expect(list.json.items).toMatchObject([
      {
        name: 'ops',
        url: hook.url,
        secretHint: '…cdef',
        lastDelivery: { state: 'delivered', attempts: 1, lastStatus: 204 },
      },
    ]);
    const history = await api('GET', '/v1/notifiers/ops/deliveries');
    expect(
      history.json.items.map((d: { notification: { event: string } }) => d.notification.event),
    ).toEqual(['aborted']);
    for (const text of [applied.text, rotated.text, list.text, history.text]) {
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain('query-token');
    }
    expect((await api('GET', '/v1/notifiers/nope')).status).toBe(404);

    const auth = ['--server', cp.url, '--token', TOKENS.viewer];
    const listed = await runTurnout(['notifier', 'list', ...auth]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^NAME\s+PRODUCT\s+FORMAT\s+EVENTS\s+LAST\s+AT\s+ERROR/);
    expect(listed.stdout).toMatch(
      /ops\s+shop\s+webhook\s+aborted,promoted\s+delivered \(aborted, #1\)/,
    );
    const described = await runTurnout(['notifier', 'describe', 'ops', '--json', ...auth]);
    expect(described.code, described.stderr).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({
      kind: 'notifier',
      notifier: { name: 'ops', secretHint: '…cdef' },
      deliveries: [{ state: 'delivered', notification: { event: 'aborted', ticket: 1 } }],
    });
    expect(described.stdout).not.toContain(SECRET);
    const missing = await runTurnout(['notifier', 'describe', 'nope', ...auth]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/notifier nope does not exist/);
  }, 180_000); // the first run builds dist/ for the CLI
});
