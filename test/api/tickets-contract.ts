// The ticket API over real HTTP, run against each store back-end (tickets-sqlite.test.ts,
// tickets-postgres.test.ts): creating tickets, every command in every state of the state table
// (src/release/transitions.ts), promote conflicts, revert, events, roles, the engine kick, and
// instance logs from a real process runtime. The release engine does not run here: states are
// written through the store, and a command only records intent.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ReleaseEngine } from '../../src/release/engine.js';
import type { Command } from '../../src/release/transitions.js';
import { ACCEPTS, amendGoal, COMMANDS, GOAL_OF, refusal } from '../../src/release/transitions.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import type { Json, Ticket, TicketGoal, TicketItem, TicketState } from '../../src/store/model.js';
import { TICKET_STATES } from '../../src/store/model.js';
import type { Store } from '../../src/store/store.js';
import { fingerprint } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';
import type { Answer, Api, StoreOpener } from './harness.js';
import { startApi } from './harness.js';

function expectError(a: Answer, status: number, code: string, field?: string): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.body.error.code).toBe(code);
  expect(typeof a.body.error.message).toBe('string');
  expect(a.body.error.message.length).toBeGreaterThan(0);
  if (field === undefined) expect(a.body.error).not.toHaveProperty('field');
  else expect(a.body.error.field).toBe(field);
}

const ENGINE = 'engine';
const proc = { process: { command: 'node' } };

/**
 * acme: account, catalog, orders → account, web → orders + catalog (product shop, entry web);
 * console → account (product admin, sharing account); reports (used by no product).
 * Versions 1.0.0 and 2.0.0 of each, and orders@3.0.0.
 */
async function seed(store: Store): Promise<void> {
  await store.createOrg({ name: 'acme' }, ENGINE);
  const modules: [string, string[]][] = [
    ['account', []],
    ['catalog', []],
    ['reports', []],
    ['orders', ['account']],
    ['web', ['orders', 'catalog']],
    ['console', ['account']],
  ];
  for (const [name, calls] of modules) {
    await store.createModule({ name, org: 'acme', calls, run: proc }, ENGINE);
    for (const version of ['1.0.0', '2.0.0'])
      await store.createVersion({ module: name, version }, ENGINE);
  }
  await store.createVersion({ module: 'orders', version: '3.0.0' }, ENGINE);
  await store.createProduct({ name: 'shop', org: 'acme', entry: 'web' }, ENGINE);
  await store.createProduct({ name: 'admin', org: 'acme', entry: 'console' }, ENGINE);
}

const item = (module: string, version: string): TicketItem => ({ module, version });

/** The goal an operator would have set for a ticket to be in `state`. */
const GOAL_IN: Record<TicketState, TicketGoal | null> = {
  open: null,
  deploying: 'deployed',
  deployed: 'deployed',
  prerelease: 'prerelease',
  canary: 'canary',
  promoted: 'promoted',
  aborted: 'aborted',
  failed: 'deployed',
};

/** A ticket as the engine would have left it in `state` (written through the store). */
async function ticketIn(
  store: Store,
  state: TicketState,
  items: TicketItem[] = [item('orders', '2.0.0')],
  product = 'shop',
): Promise<Ticket> {
  const created = await store.createTicket({ product, items }, 'rey');
  if (state === 'open') return created;
  const progress: Json =
    state === 'canary'
      ? { canaryStep: 1, stepStartedAt: 1 }
      : state === 'failed'
        ? {
            level: 0,
            levelStartedAt: 1,
            message: 'deploy failed: after 60 s orders@2.0.0 has 0 of 1 ready',
          }
        : {};
  const plan: Json = state === 'canary' ? { canary: { steps: [1, 10, 50] } } : {};
  return store.updateTicket(created.id, { state, goal: GOAL_IN[state], progress, plan }, ENGINE);
}

/** The request body each command needs (the others take none). */
const BODY: Partial<Record<Command, unknown>> = {
  canary: { steps: [1, 10, 50] },
  amend: { items: [item('orders', '1.0.0')] },
};

async function events(api: Api, id: number) {
  return (await api.call('GET', `/v1/tickets/${id}/events`, { as: 'viewer' })).body.items as {
    type: string;
    actor: string;
    data: Record<string, unknown>;
  }[];
}

export function describeTicketsContract(label: string, open: StoreOpener): void {
  describe(`ticket API over HTTP (${label})`, () => {
    let api: Api;
    let kicks = 0;
    const start = async () => {
      kicks = 0;
      api = await startApi({ open, kickEngine: () => kicks++ });
      await seed(api.store);
    };

    describe('every command in every state, as the state table says', () => {
      beforeAll(start, 60_000);
      afterAll(async () => {
        await api.close();
      });
      afterEach(async () => {
        // Retire the case's ticket so it never clashes with the next case's promote.
        const active = (await api.store.listTickets({ limit: 1000 })).items;
        for (const t of active.filter((t) => t.state !== 'promoted' && t.state !== 'aborted'))
          await api.store.updateTicket(t.id, { state: 'aborted', goal: 'aborted' }, ENGINE);
      });

      for (const command of COMMANDS) {
        for (const state of TICKET_STATES) {
          const accepted = ACCEPTS[command].includes(state);
          it(`${command} is ${accepted ? 'accepted' : 'refused'} while ${state}`, async () => {
            const before = await ticketIn(api.store, state);
            const kicked = kicks;
            const storeBefore = await fingerprint(api.store);
            const answer = await api.call('POST', `/v1/tickets/${before.id}/${command}`, {
              as: 'releaser',
              body: BODY[command],
            });
            if (!accepted) {
              expectError(answer, 409, 'conflict', 'state');
              expect(answer.body.error.message).toBe(
                `ticket ${before.id}: ${command}: ${refusal(command, state)}`,
              );
              expect(answer.body.error.message).toContain(state);
              expect(await fingerprint(api.store)).toEqual(storeBefore);
              expect(kicks).toBe(kicked);
              return;
            }
            expect(answer.status, JSON.stringify(answer.body)).toBe(200);
            const after = (await api.store.getTicket(before.id)) as Ticket;
            expect(answer.body).toEqual(JSON.parse(JSON.stringify(after)));
            expect(kicks).toBe(kicked + 1);
            const last = (await events(api, before.id)).at(-1);
            expect(last).toMatchObject({ type: `command.${command}`, actor: 'rey' });
            switch (command) {
              case 'approve':
                expect(after.goal).toBe(before.goal);
                expect(after.progress).toMatchObject({ canaryStep: 1, approvedStep: 1 });
                expect(last?.data).toEqual({ step: 1 });
                break;
              case 'amend':
                expect(after.goal).toBe(amendGoal(before.goal));
                expect(after.state).toBe('open');
                expect(after.items).toEqual([item('orders', '1.0.0')]);
                expect(after.progress).toEqual({});
                break;
              default: {
                expect(after.goal).toBe(GOAL_OF[command]);
                // From failed, any command but abort is a retry: back to open, failure cleared.
                const retry = state === 'failed' && command !== 'abort';
                expect(after.state).toBe(retry ? 'open' : state);
                if (retry) {
                  // The failed attempt's level clock goes too, or the retry would time out at once.
                  expect(after.progress).not.toHaveProperty('message');
                  expect(after.progress).not.toHaveProperty('levelStartedAt');
                }
                expect(after.items).toEqual(before.items);
              }
            }
            if (command === 'canary') {
              expect((after.plan as { canary: unknown }).canary).toEqual({
                steps: [1, 10, 50],
                pauseMs: null,
                segments: [],
                key: { header: 'x-user-id' },
              });
            }
          });
        }
      }
    });

    describe('creating tickets and the rest', () => {
      beforeEach(start, 60_000);
      afterEach(async () => {
        await api.close();
      });

      it('POST /v1/tickets creates an open ticket with a goal of none and the plan defaults', async () => {
        const created = await api.call('POST', '/v1/tickets', {
          as: 'releaser',
          body: { product: 'shop', items: [item('web', '2.0.0'), item('account', '2.0.0')] },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(created.body).toMatchObject({
          product: 'shop',
          state: 'open',
          goal: null,
          revertOf: null,
          createdBy: 'rey',
          promotedSeq: null,
          items: [item('account', '2.0.0'), item('web', '2.0.0')],
          progress: {},
          plan: {
            replicas: 1,
            surge: 2,
            readyTimeoutMs: 60_000,
            prereleaseHeader: 'x-prerelease',
            canary: null,
            analysis: { confidence: 0.99, minErrorRateIncrease: 0.01, minRequests: 20 },
          },
        });
        const stored = await api.store.getTicket(created.body.id);
        expect(created.body).toEqual(JSON.parse(JSON.stringify(stored)));
        expect(await events(api, created.body.id)).toMatchObject([
          { type: 'created', actor: 'rey', data: { items: created.body.items } },
        ]);
        // Nothing for the engine to do until a command.
        expect(kicks).toBe(0);
      });

      it('a plan given on create is stored with its defaults filled in', async () => {
        const created = await api.call('POST', '/v1/tickets', {
          as: 'releaser',
          body: {
            product: 'shop',
            items: [item('orders', '2.0.0')],
            plan: { replicas: 2, canary: { steps: [5, 50], pauseMs: 1000 } },
          },
        });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        expect(created.body.plan).toMatchObject({
          replicas: 2,
          surge: 2,
          canary: { steps: [5, 50], pauseMs: 1000, segments: [], key: { header: 'x-user-id' } },
        });
      });

      const invalid: {
        name: string;
        body: unknown;
        code: string;
        field: string;
      }[] = [
        {
          name: 'an unknown product',
          body: { product: 'nope', items: [item('web', '1.0.0')] },
          code: 'invalid_config',
          field: 'product',
        },
        {
          name: 'an unknown module',
          body: { product: 'shop', items: [item('ghost', '1.0.0')] },
          code: 'invalid_config',
          field: 'items[0].module',
        },
        {
          name: 'an unknown version',
          body: { product: 'shop', items: [item('web', '1.0.0'), item('orders', '9.9.9')] },
          code: 'invalid_config',
          field: 'items[1].version',
        },
        {
          name: 'a module the product does not use',
          body: { product: 'shop', items: [item('reports', '1.0.0')] },
          code: 'invalid_config',
          field: 'items[0].module',
        },
        {
          name: "another product's module",
          body: { product: 'shop', items: [item('console', '1.0.0')] },
          code: 'invalid_config',
          field: 'items[0].module',
        },
        {
          name: 'no items',
          body: { product: 'shop', items: [] },
          code: 'invalid_argument',
          field: 'items',
        },
        {
          name: 'a module listed twice',
          body: { product: 'shop', items: [item('web', '1.0.0'), item('web', '2.0.0')] },
          code: 'invalid_config',
          field: 'items[1].module',
        },
        {
          name: 'a bad version label',
          body: { product: 'shop', items: [item('web', '-x')] },
          code: 'invalid_argument',
          field: 'items[0].version',
        },
        {
          name: 'an unknown field',
          body: { product: 'shop', items: [item('web', '1.0.0')], colour: 'red' },
          code: 'invalid_argument',
          field: 'colour',
        },
        {
          name: 'canary steps that decrease',
          body: {
            product: 'shop',
            items: [item('web', '1.0.0')],
            plan: { canary: { steps: [10, 5] } },
          },
          code: 'invalid_argument',
          field: 'plan.canary.steps[1]',
        },
        {
          name: 'a surge of 0',
          body: { product: 'shop', items: [item('web', '1.0.0')], plan: { surge: 0 } },
          code: 'invalid_argument',
          field: 'plan.surge',
        },
        {
          name: 'an unknown plan field',
          body: { product: 'shop', items: [item('web', '1.0.0')], plan: { replica: 2 } },
          code: 'invalid_argument',
          field: 'plan.replica',
        },
        {
          name: 'an analysis confidence out of range',
          body: {
            product: 'shop',
            items: [item('web', '1.0.0')],
            plan: { analysis: { confidence: 2 } },
          },
          code: 'invalid_argument',
          field: 'plan.analysis.confidence',
        },
        {
          name: 'a threshold retired by the significance tests',
          body: {
            product: 'shop',
            items: [item('web', '1.0.0')],
            plan: { analysis: { maxErrorRate: 0.05 } },
          },
          code: 'invalid_argument',
          field: 'plan.analysis.maxErrorRate',
        },
      ];
      for (const c of invalid) {
        it(`create with ${c.name}: 400 naming ${c.field}, nothing changes`, async () => {
          const before = await fingerprint(api.store);
          const answer = await api.call('POST', '/v1/tickets', { as: 'releaser', body: c.body });
          expectError(answer, 400, c.code, c.field);
          expect(answer.body.error.message).toContain(c.field);
          expect(await fingerprint(api.store)).toEqual(before);
        });
      }

      const badCanaries: { name: string; body: unknown; field: string }[] = [
        { name: 'no steps', body: { steps: [] }, field: 'steps' },
        { name: 'steps missing', body: { pauseMs: 1000 }, field: 'steps' },
        { name: 'a step of 0', body: { steps: [0, 10] }, field: 'steps[0]' },
        { name: 'a step above 100', body: { steps: [10, 150] }, field: 'steps[1]' },
        { name: 'steps that decrease', body: { steps: [10, 50, 20] }, field: 'steps[2]' },
        { name: 'a negative pause', body: { steps: [10], pauseMs: -1 }, field: 'pauseMs' },
        {
          name: 'a segment naming a lane',
          body: { steps: [10], segments: [{ lane: 'x', header: { name: 'x-a', equals: '1' } }] },
          field: 'segments[0]',
        },
        {
          name: 'a segment that is not an object',
          body: { steps: [10], segments: ['internal'] },
          field: 'segments[0]',
        },
        {
          name: 'a segment header match without equals or regex',
          body: { steps: [10], segments: [{ header: { name: 'x-tier' } }] },
          field: 'segments[0].header',
        },
        {
          name: 'a segment with a bad cidr',
          body: { steps: [10], segments: [{ cidr: '10.0.0.0/99' }] },
          field: 'segments[0].cidr',
        },
        {
          name: 'a key of neither header nor cookie',
          body: { steps: [10], key: { ip: 'x' } },
          field: 'key',
        },
        {
          name: 'an empty key header',
          body: { steps: [10], key: { header: '' } },
          field: 'key.header',
        },
        // Accepted once, these made the canary's lane rule, which the store refused at the canary's
        // start on every engine tick: the engine stalled for every product until an abort.
        {
          name: 'a key header that is not a header name',
          body: { steps: [10], key: { header: 'bad name' } },
          field: 'key.header',
        },
        {
          name: 'a key cookie that is not a cookie name',
          body: { steps: [10], key: { cookie: 'bad name' } },
          field: 'key.cookie',
        },
        {
          name: 'a key header the edge strips',
          body: { steps: [10], key: { header: 'x-turnout-user' } },
          field: 'key.header',
        },
        { name: 'an unknown field', body: { steps: [10], colour: 'red' }, field: 'colour' },
      ];
      for (const c of badCanaries) {
        it(`canary with ${c.name}: 400 naming ${c.field}, nothing changes`, async () => {
          const t = await ticketIn(api.store, 'prerelease');
          const before = await fingerprint(api.store);
          const answer = await api.call('POST', `/v1/tickets/${t.id}/canary`, {
            as: 'releaser',
            body: c.body,
          });
          expectError(answer, 400, 'invalid_argument', c.field);
          expect(await fingerprint(api.store)).toEqual(before);
          expect(kicks).toBe(0);
        });
      }

      it('a retired analysis threshold is refused with what replaces it', async () => {
        const answer = await api.call('POST', '/v1/tickets', {
          as: 'releaser',
          body: {
            product: 'shop',
            items: [item('web', '2.0.0')],
            plan: { analysis: { p99SlackMs: 250 } },
          },
        });
        expectError(answer, 400, 'invalid_argument', 'plan.analysis.p99SlackMs');
        expect(answer.body.error.message).toMatch(/retired.*use minLatencyIncreaseMs/);
      });

      it("a ticket stored with the retired thresholds takes a canary; its plan is rewritten in today's terms", async () => {
        const t = await ticketIn(api.store, 'prerelease');
        const legacy = {
          maxErrorRate: 0.05,
          maxErrorRateIncrease: 0.02,
          maxP99Ratio: 3,
          p99SlackMs: 250,
          minRequests: 20,
          minLatencyRequests: 200,
          windowMs: 30_000,
        };
        await api.store.updateTicket(t.id, { plan: { replicas: 2, analysis: legacy } }, ENGINE);
        const answer = await api.call('POST', `/v1/tickets/${t.id}/canary`, {
          as: 'releaser',
          body: { steps: [5, 50], pauseMs: 1000 },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.body.plan).toMatchObject({ replicas: 2, canary: { steps: [5, 50] } });
        expect(answer.body.plan.analysis).toEqual({
          confidence: 0.99,
          minErrorRateIncrease: 0.02,
          minLatencyIncreaseMs: 100,
          minLatencyRatio: 1.5,
          minRequests: 20,
          minLatencyRequests: 200,
          windowMs: 30_000,
        });
      });

      it('canary with segments and a key stores them as lane matches', async () => {
        const t = await ticketIn(api.store, 'prerelease');
        const answer = await api.call('POST', `/v1/tickets/${t.id}/canary`, {
          as: 'releaser',
          body: {
            steps: [1, 10],
            pauseMs: 30_000,
            segments: [
              { header: { name: 'X-User-Tier', equals: 'internal' } },
              { cidr: '10.0.0.0/8' },
            ],
            key: { cookie: 'uid' },
          },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.body.plan.canary).toEqual({
          steps: [1, 10],
          pauseMs: 30_000,
          segments: [
            { header: { name: 'x-user-tier', equals: 'internal' } },
            { cidr: '10.0.0.0/8' },
          ],
          key: { cookie: 'uid' },
        });
        const last = (await events(api, t.id)).at(-1);
        expect(last).toMatchObject({ type: 'command.canary', actor: 'rey' });
      });

      it('commands on a ticket that does not exist answer 404; a bad id 400', async () => {
        const before = await fingerprint(api.store);
        for (const command of [...COMMANDS, 'revert']) {
          const answer = await api.call('POST', `/v1/tickets/99/${command}`, {
            as: 'releaser',
            body: BODY[command as Command],
          });
          expectError(answer, 404, 'not_found');
          expect(answer.body.error.message).toContain('ticket 99');
        }
        expectError(
          await api.call('POST', '/v1/tickets/abc/deploy', { as: 'releaser' }),
          400,
          'invalid_argument',
          'id',
        );
        expect(await fingerprint(api.store)).toEqual(before);
        expect(kicks).toBe(0);
      });

      it('amend replaces the versions of the modules it names and keeps the other items', async () => {
        const t = await ticketIn(api.store, 'prerelease', [
          item('web', '2.0.0'),
          item('orders', '2.0.0'),
        ]);
        const answer = await api.call('POST', `/v1/tickets/${t.id}/amend`, {
          as: 'releaser',
          body: { items: [item('orders', '3.0.0')] },
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expect(answer.body).toMatchObject({
          state: 'open',
          goal: 'prerelease',
          items: [item('orders', '3.0.0'), item('web', '2.0.0')],
        });
        expect((await events(api, t.id)).at(-1)).toMatchObject({
          type: 'command.amend',
          actor: 'rey',
          data: {
            items: [item('orders', '3.0.0')],
            before: [item('orders', '2.0.0'), item('web', '2.0.0')],
          },
        });
      });

      it('amend to a version that does not exist is refused and changes nothing', async () => {
        const t = await ticketIn(api.store, 'deployed');
        const before = await fingerprint(api.store);
        const answer = await api.call('POST', `/v1/tickets/${t.id}/amend`, {
          as: 'releaser',
          body: { items: [item('orders', '9.0.0')] },
        });
        expectError(answer, 400, 'invalid_config', 'items[0].version');
        expect(await fingerprint(api.store)).toEqual(before);
        expectError(
          await api.call('POST', `/v1/tickets/${t.id}/amend`, {
            as: 'releaser',
            body: { items: [] },
          }),
          400,
          'invalid_argument',
          'items',
        );
        expect(await fingerprint(api.store)).toEqual(before);
        expect(kicks).toBe(0);
      });

      describe('promote', () => {
        it('is refused while another active ticket of the product changes one of its modules', async () => {
          const other = await ticketIn(api.store, 'prerelease', [item('orders', '3.0.0')]);
          const mine = await ticketIn(api.store, 'deployed', [
            item('web', '2.0.0'),
            item('orders', '2.0.0'),
          ]);
          const before = await fingerprint(api.store);
          const answer = await api.call('POST', `/v1/tickets/${mine.id}/promote`, {
            as: 'releaser',
          });
          expectError(answer, 409, 'conflict', 'items');
          expect(answer.body.error.message).toContain(`ticket ${other.id} also changes orders`);
          expect(await fingerprint(api.store)).toEqual(before);
          expect(kicks).toBe(0);

          // Once the other ticket is aborted, the promote goes through.
          await api.store.updateTicket(other.id, { state: 'aborted', goal: 'aborted' }, ENGINE);
          const again = await api.call('POST', `/v1/tickets/${mine.id}/promote`, {
            as: 'releaser',
          });
          expect(again.status, JSON.stringify(again.body)).toBe(200);
          expect(again.body.goal).toBe('promoted');
          expect(kicks).toBe(1);
        });

        it('is accepted beside active tickets that change other modules or other products', async () => {
          await ticketIn(api.store, 'prerelease', [item('catalog', '2.0.0')]);
          await ticketIn(api.store, 'deployed', [item('account', '2.0.0')], 'admin');
          await ticketIn(api.store, 'promoted', [item('orders', '3.0.0')]);
          const mine = await ticketIn(api.store, 'deployed', [item('account', '2.0.0')]);
          const answer = await api.call('POST', `/v1/tickets/${mine.id}/promote`, {
            as: 'releaser',
          });
          expect(answer.status, JSON.stringify(answer.body)).toBe(200);
          expect(answer.body.goal).toBe('promoted');
        });
      });

      describe('revert', () => {
        /** Promotion order differs from id order: 1 (all 1.0.0), then 3 (orders 3.0.0), then 2. */
        async function history() {
          const all = ['web', 'orders', 'account', 'catalog'].map((m) => item(m, '1.0.0'));
          const first = await ticketIn(api.store, 'open', all);
          await api.store.updateTicket(first.id, { state: 'promoted' }, ENGINE);
          const second = await ticketIn(api.store, 'deployed', [
            item('orders', '2.0.0'),
            item('catalog', '2.0.0'),
          ]);
          const third = await ticketIn(api.store, 'deployed', [item('orders', '3.0.0')]);
          await api.store.updateTicket(third.id, { state: 'promoted' }, ENGINE);
          await api.store.updateTicket(second.id, { state: 'promoted' }, ENGINE);
          return { first, second, third };
        }

        it('creates a ticket restoring what was promoted before, with revertOf and goal promoted', async () => {
          const { second, third } = await history();
          const answer = await api.call('POST', `/v1/tickets/${second.id}/revert`, {
            as: 'releaser',
          });
          expect(answer.status, JSON.stringify(answer.body)).toBe(201);
          expect(answer.body).toMatchObject({
            product: 'shop',
            state: 'open',
            goal: 'promoted',
            revertOf: second.id,
            createdBy: 'rey',
            // orders: ticket 3 was promoted just before ticket 2; catalog: ticket 1.
            items: [item('catalog', '1.0.0'), item('orders', '3.0.0')],
          });
          expect(answer.body.id).toBeGreaterThan(third.id);
          expect(answer.body).toEqual(
            JSON.parse(JSON.stringify(await api.store.getTicket(answer.body.id))),
          );
          expect(kicks).toBe(1);
          expect(await events(api, answer.body.id)).toMatchObject([
            { type: 'created', actor: 'rey', data: { revertOf: second.id } },
            { type: 'command.promote', actor: 'rey' },
          ]);
          // The reverted ticket's history says who reverted it, and with which ticket.
          expect((await events(api, second.id)).at(-1)).toMatchObject({
            type: 'command.revert',
            actor: 'rey',
            data: { ticket: answer.body.id },
          });
          // The target itself is not rewritten.
          expect((await api.store.getTicket(second.id))?.state).toBe('promoted');

          const back = await api.call('POST', `/v1/tickets/${third.id}/revert`, {
            as: 'releaser',
          });
          expect(back.status, JSON.stringify(back.body)).toBe(201);
          expect(back.body.items).toEqual([item('orders', '1.0.0')]);
        });

        it('is refused for a ticket that is not promoted, and for a first promotion', async () => {
          const { first } = await history();
          const refused: [number, string][] = [[first.id, 'no version of']];
          for (const state of TICKET_STATES.filter((s) => s !== 'promoted')) {
            const t = await ticketIn(api.store, state, [item('web', '2.0.0')]);
            refused.push([t.id, `ticket ${t.id} is ${state}, not promoted`]);
          }
          const before = await fingerprint(api.store);
          for (const [id, why] of refused) {
            const answer = await api.call('POST', `/v1/tickets/${id}/revert`, { as: 'releaser' });
            expectError(answer, 409, 'conflict', 'ticket');
            expect(answer.body.error.message).toContain(why);
          }
          expect(await fingerprint(api.store)).toEqual(before);
          expect(kicks).toBe(0);
        });
      });

      describe('roles', () => {
        it('a viewer gets 403 on create and every command, and nothing changes', async () => {
          const t = await ticketIn(api.store, 'canary');
          const before = await fingerprint(api.store);
          const create = await api.call('POST', '/v1/tickets', {
            as: 'viewer',
            body: { product: 'shop', items: [item('web', '2.0.0')] },
          });
          expectError(create, 403, 'forbidden');
          for (const command of [...COMMANDS, 'revert']) {
            const answer = await api.call('POST', `/v1/tickets/${t.id}/${command}`, {
              as: 'viewer',
              body: BODY[command as Command],
            });
            expectError(answer, 403, 'forbidden');
          }
          expectError(
            await api.call('POST', `/v1/tickets/${t.id}/deploy`, { as: null }),
            401,
            'unauthorized',
          );
          expect(await fingerprint(api.store)).toEqual(before);
          expect(kicks).toBe(0);
        });

        it('a releaser and an admin drive tickets, each recorded under its token name', async () => {
          const created = await api.call('POST', '/v1/tickets', {
            as: 'releaser',
            body: { product: 'shop', items: [item('web', '2.0.0')] },
          });
          expect(created.status).toBe(201);
          const id = created.body.id as number;
          expect(
            (await api.call('POST', `/v1/tickets/${id}/deploy`, { as: 'releaser' })).status,
          ).toBe(200);
          expect((await api.call('POST', `/v1/tickets/${id}/abort`, { as: 'admin' })).status).toBe(
            200,
          );
          expect((await events(api, id)).map((e) => [e.type, e.actor])).toEqual([
            ['created', 'rey'],
            ['command.deploy', 'rey'],
            ['command.abort', 'ada'],
          ]);
          expect(kicks).toBe(2);
        });
      });

      describe('GET /v1/instances/:id/logs', () => {
        it('answers not_found for an unknown instance, and when no runtime keeps its logs', async () => {
          expectError(
            await api.call('GET', '/v1/instances/nope/logs', { as: 'viewer' }),
            404,
            'not_found',
          );
          await api.store.createInstance(
            { id: 'web-1', module: 'web', version: '1.0.0', host: 'h', address: '127.0.0.1:9' },
            ENGINE,
          );
          const answer = await api.call('GET', '/v1/instances/web-1/logs', { as: 'viewer' });
          expectError(answer, 404, 'not_found');
          expect(answer.body.error.message).toContain('no runtime');
        });
      });
    });

    describe('abort is final', () => {
      const FINAL =
        /: the recorded goal is aborted and abort is final: nothing moves the ticket forward/;

      it('after an abort, every forward command is a 409 naming the goal; abort again changes nothing', async () => {
        await start();
        try {
          const t = await ticketIn(api.store, 'deploying');
          const aborted = await api.call('POST', `/v1/tickets/${t.id}/abort`, { as: 'releaser' });
          expect(aborted.status, JSON.stringify(aborted.body)).toBe(200);
          expect(aborted.body).toMatchObject({ state: 'deploying', goal: 'aborted' });
          const storeBefore = await fingerprint(api.store);
          for (const command of ['deploy', 'prerelease', 'canary', 'promote', 'amend'] as const) {
            const answer = await api.call('POST', `/v1/tickets/${t.id}/${command}`, {
              as: 'releaser',
              body: BODY[command],
            });
            expectError(answer, 409, 'conflict', 'goal');
            expect(answer.body.error.message).toMatch(new RegExp(`^ticket ${t.id}: ${command}`));
            expect(answer.body.error.message).toMatch(FINAL);
          }
          const again = await api.call('POST', `/v1/tickets/${t.id}/abort`, { as: 'releaser' });
          expect(again.status).toBe(200);
          expect(again.body).toEqual(aborted.body);
          expect(await fingerprint(api.store)).toEqual(storeBefore);
        } finally {
          await api.close();
        }
      });

      it('twenty concurrent commands on a deploying ticket: none recorded after the abort moves it forward; it ends aborted', async () => {
        await start();
        try {
          // Versions already running, so the engine run afterwards can carry out any goal.
          for (const version of ['1.0.0', '2.0.0']) {
            await api.store.createInstance(
              {
                id: `orders-${version}-0`,
                module: 'orders',
                version,
                host: 'local',
                address: '127.0.0.1:9',
                state: 'ready',
                health: 'healthy',
              },
              ENGINE,
            );
          }
          const t = await ticketIn(api.store, 'deploying');
          const mix: Command[] = ['abort', 'deploy', 'canary', 'amend', 'promote'];
          const burst = Array.from({ length: 20 }, (_, n) => mix[n % mix.length] as Command);
          const answers = await Promise.all(
            burst.map((command) =>
              api.call('POST', `/v1/tickets/${t.id}/${command}`, {
                as: 'releaser',
                body: BODY[command],
              }),
            ),
          );
          const accepted = (c: Command) =>
            answers.filter((a, n) => burst[n] === c && a.status === 200).length;
          expect(accepted('abort')).toBeGreaterThan(0);
          // The engine did not run during the burst (the ticket was still deploying, as in the
          // incident): every refusal is the recorded goal's.
          for (const [n, a] of answers.entries()) {
            if (a.status === 200) continue;
            expectError(a, 409, 'conflict', 'goal');
            expect(a.body.error.message).toMatch(new RegExp(`^ticket ${t.id}: ${burst[n]}: `));
            expect(a.body.error.message).toMatch(FINAL);
          }

          // In the order recorded: after the abort, nothing; before it, every accepted command once.
          const recorded = async () =>
            (await api.store.listTicketEvents(t.id, { limit: 1000 })).items.map((e) => e.type);
          const types = await recorded();
          const first = types.indexOf('command.abort');
          expect(first, types.join(', ')).toBeGreaterThanOrEqual(0);
          expect(types.slice(first + 1), types.join(', ')).toEqual([]);
          for (const c of ['deploy', 'canary', 'amend', 'promote'] as const) {
            expect(types.filter((x) => x === `command.${c}`).length, c).toBe(accepted(c));
          }
          expect(await api.store.getTicket(t.id)).toMatchObject({ goal: 'aborted' });

          // The real engine carries out what was recorded: the ticket ends aborted.
          const engine = new ReleaseEngine({ store: api.store, runtime: null, traffic: null });
          let end = (await api.store.getTicket(t.id)) as Ticket;
          for (let n = 0; n < 20 && end.state !== 'aborted' && end.state !== 'promoted'; n++) {
            await engine.kick();
            end = (await api.store.getTicket(t.id)) as Ticket;
          }
          await engine.stop();
          expect(end).toMatchObject({ state: 'aborted', goal: 'aborted' });
          expect((await recorded()).slice(first + 1)).toEqual(['aborted']);
        } finally {
          await api.close();
        }
      }, 60_000);
    });

    describe('the pre-release header value', () => {
      beforeEach(start, 60_000);
      afterEach(async () => {
        await api.close();
      });

      /** 128 random bits or more, base64url: never a value derived from the ticket id. */
      const expectSecret = (value: unknown, id: number) => {
        expect(typeof value).toBe('string');
        expect(value).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Buffer.from(value as string, 'base64url').length).toBeGreaterThanOrEqual(16);
        expect(value).not.toContain(`t-${id}`);
      };

      it('each ticket gets its own random value, and a viewer reads it with the ticket', async () => {
        const ids: number[] = [];
        for (let i = 0; i < 3; i++) {
          const created = await api.call('POST', '/v1/tickets', {
            as: 'releaser',
            body: { product: 'shop', items: [item('orders', '2.0.0')] },
          });
          expect(created.status, JSON.stringify(created.body)).toBe(201);
          expectSecret(created.body.prereleaseSecret, created.body.id);
          ids.push(created.body.id);
        }
        const seen = await Promise.all(
          ids.map(async (id) => {
            const one = await api.call('GET', `/v1/tickets/${id}`, { as: 'viewer' });
            expect(one.status).toBe(200);
            return one.body.prereleaseSecret as string;
          }),
        );
        expect(new Set(seen).size).toBe(3);
        const listed = await api.call('GET', '/v1/tickets', { as: 'viewer' });
        expect(listed.body.items.map((t: Ticket) => t.prereleaseSecret)).toEqual(seen);
        // The audit log (kept for good, readable by viewers) records the tickets without it.
        const audit = await api.call('GET', '/v1/audit', { as: 'viewer' });
        expect(audit.status).toBe(200);
        for (const value of seen) expect(JSON.stringify(audit.body)).not.toContain(value);
      });

      it('rotate-prerelease: a releaser gets a new value, recorded in the timeline and audit without either value', async () => {
        const t = await ticketIn(api.store, 'prerelease');
        const kicked = kicks;
        const answer = await api.call('POST', `/v1/tickets/${t.id}/rotate-prerelease`, {
          as: 'releaser',
        });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        expectSecret(answer.body.prereleaseSecret, t.id);
        expect(answer.body.prereleaseSecret).not.toBe(t.prereleaseSecret);
        expect(answer.body).toEqual(JSON.parse(JSON.stringify(await api.store.getTicket(t.id))));
        expect(answer.body).toMatchObject({ state: t.state, goal: t.goal, items: t.items });
        expect(kicks).toBe(kicked + 1);
        const last = (await events(api, t.id)).at(-1);
        expect(last).toMatchObject({ type: 'prerelease.rotated', actor: 'rey', data: {} });
        const audit = await api.call('GET', `/v1/audit?target=ticket/${t.id}`, { as: 'viewer' });
        expect(audit.body.items.at(-1)).toMatchObject({
          action: 'ticket.rotate-prerelease',
          actor: 'rey',
        });
        const text = JSON.stringify(audit.body);
        expect(text).not.toContain(t.prereleaseSecret);
        expect(text).not.toContain(answer.body.prereleaseSecret);
      });

      it('rotate-prerelease is refused to a viewer, for a finished ticket and for no ticket; nothing changes', async () => {
        const open = await ticketIn(api.store, 'prerelease');
        const done = await ticketIn(api.store, 'aborted');
        const before = await fingerprint(api.store);
        const kicked = kicks;
        expectError(
          await api.call('POST', `/v1/tickets/${open.id}/rotate-prerelease`, { as: 'viewer' }),
          403,
          'forbidden',
        );
        const finished = await api.call('POST', `/v1/tickets/${done.id}/rotate-prerelease`, {
          as: 'releaser',
        });
        expectError(finished, 409, 'conflict', 'state');
        expect(finished.body.error.message).toContain('aborted');
        expectError(
          await api.call('POST', '/v1/tickets/999/rotate-prerelease', { as: 'releaser' }),
          404,
          'not_found',
        );
        expect(await fingerprint(api.store)).toEqual(before);
        expect(kicks).toBe(kicked);
      });
    });

    describe('GET /v1/instances/:id/logs from a real process runtime', () => {
      let data: string;
      let runtime: Awaited<ReturnType<typeof openProcessRuntime>>;
      beforeAll(async () => {
        data = mkdtempSync(join(tmpdir(), 'turnout-logs-'));
        runtime = await openProcessRuntime({ dataDir: data, stopDeadlineMs: 2000 });
        api = await startApi({ open, runtime });
        await seed(api.store);
      }, 60_000);
      afterAll(async () => {
        await Promise.all(runtime.list().map((i) => runtime.stop(i.id)));
        await runtime.close();
        await api.close();
        rmSync(data, { recursive: true, force: true });
      }, 30_000);

      it('serves the tail of what the instance printed; an instance it never ran is not_found', async () => {
        const script =
          "for (const n of ['one', 'two', 'three']) console.log('line ' + n); setInterval(() => {}, 1000);";
        const running = await runtime.start({
          id: 'web-1.0.0-0',
          module: 'web',
          version: '1.0.0',
          run: { command: process.execPath, args: ['-e', script], cwd: null, env: {} },
        });
        await api.store.createInstance(
          {
            id: running.id,
            module: 'web',
            version: '1.0.0',
            host: 'local',
            address: running.address,
          },
          ENGINE,
        );
        const all = await waitFor(
          'three log lines',
          async () => {
            const a = await api.call('GET', `/v1/instances/${running.id}/logs`, { as: 'viewer' });
            if (a.status === 200 && a.body.lines.length >= 3) return a;
            throw new Error(`${a.status} ${JSON.stringify(a.body)}`); // "not yet", said in the timeout
          },
          { everyMs: 50 },
        );
        expect(all.status, JSON.stringify(all.body)).toBe(200);
        expect(all.body).toEqual({
          id: running.id,
          lines: ['line one', 'line two', 'line three'],
        });
        const tail = await api.call('GET', `/v1/instances/${running.id}/logs?tail=2`, {
          as: 'viewer',
        });
        expect(tail.body.lines).toEqual(['line two', 'line three']);
        expectError(
          await api.call('GET', `/v1/instances/${running.id}/logs?tail=0`, { as: 'viewer' }),
          400,
          'invalid_argument',
          'tail',
        );
        expectError(
          await api.call('GET', `/v1/instances/${running.id}/logs`, { as: null }),
          401,
          'unauthorized',
        );

        // Registered but run by no runtime here (e.g. on another host).
        await api.store.createInstance(
          {
            id: 'web-elsewhere',
            module: 'web',
            version: '1.0.0',
            host: 'h2',
            address: '127.0.0.1:9',
          },
          ENGINE,
        );
        expectError(
          await api.call('GET', '/v1/instances/web-elsewhere/logs', { as: 'viewer' }),
          404,
          'not_found',
          'id',
        );
      }, 30_000);
    });
  });
}
