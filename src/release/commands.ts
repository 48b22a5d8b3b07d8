// Operator commands on tickets. A command only records intent — a goal, plan changes, an approval —
// and an event saying who asked, in one transaction; the engine does the work on its next tick.
// A command the ticket's recorded goal or state does not accept is refused with the table's
// reason and changes nothing; the check reads the ticket under the writer lock, so of concurrent
// commands each is judged against the goal the one before it recorded (abort is final).

import { TurnoutError } from '../errors.js';
import { listAll } from '../store/cursor.js';
import type { Json, Ticket, TicketItem, TicketState } from '../store/model.js';
import type { CanaryPlan } from '../store/plan.js';
import { planSchema, readPlan } from '../store/plan.js';
import type { StoreTx } from '../store/store.js';
import { fieldOf } from '../store/validate.js';
import { revertItems } from './history.js';
import type { Progress } from './progress.js';
import { readProgress, stripDeploy } from './progress.js';
import { conflicts } from './reconcile.js';
import { sharedStable } from './rolling.js';
import { transition } from './state-machine.js';
import type { Command } from './transitions.js';
import { amendGoal, commandRefusal, GOAL_OF } from './transitions.js';

export type CommandInput =
  | { command: 'deploy' | 'prerelease' | 'promote' | 'abort' | 'approve' }
  | { command: 'canary'; canary: CanaryInput }
  | { command: 'amend'; items: TicketItem[] };

/** The canary as the API takes it (the plan schema fills defaults and checks it). */
export type CanaryInput = Partial<Omit<CanaryPlan, 'steps'>> & { steps: number[] };

/**
 * Read under the writer lock: the checks below and the write that follows see no other writer's
 * commit in between (on Postgres a plain read would let two concurrent commands both pass).
 */
async function load(tx: StoreTx, id: number, actor: string): Promise<Ticket> {
  const ticket = await tx.getTicketForUpdate(id, actor);
  if (ticket === null) throw new TurnoutError('not_found', `ticket ${id} does not exist`);
  return ticket;
}

/** The recorded goal first (abort is final), then the state table (transitions.ts). */
function refuse(command: Command, ticket: Ticket): void {
  const why = commandRefusal(command, ticket.state, ticket.goal);
  if (why !== null)
    throw new TurnoutError('conflict', `ticket ${ticket.id}: ${command}: ${why.reason}`, why.field);
}

/**
 * The plan with its defaults filled in, as stored (so a ticket shows the settings in force). A
 * rejection names the field as the request wrote it: under `prefix` (`plan` on create; nothing for
 * the canary command, whose body is the plan's canary), with an unknown key's name.
 */
function checkedPlan(input: unknown, prefix: string[] = ['plan']): Json {
  const parsed = planSchema.safeParse(input);
  if (parsed.success) return JSON.parse(JSON.stringify(parsed.data)) as Json;
  const issue = parsed.error.issues[0];
  const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
  const path = [...(issue?.path ?? []), ...(unknownKey === undefined ? [] : [unknownKey])];
  const field = fieldOf([...prefix, ...path.slice(prefix.length === 0 ? 1 : 0)]);
  const message =
    unknownKey === undefined ? (issue?.message ?? 'is invalid') : 'is not a known field';
  throw new TurnoutError('invalid_argument', `${field || 'body'}: ${message}`, field || undefined);
}

/** Creates a ticket (goal none: nothing happens until a command). */
export async function createTicket(
  tx: StoreTx,
  input: { product: string; items: TicketItem[]; plan?: unknown },
  actor: string,
): Promise<Ticket> {
  const plan = checkedPlan(input.plan ?? {});
  await refuseSharedRolling(tx, input.product, input.items, plan);
  const ticket = await tx.createTicket({ product: input.product, items: input.items, plan }, actor);
  await tx.appendTicketEvent(ticket.id, { type: 'created', data: { items: ticket.items } }, actor);
  return ticket;
}

/**
 * A rolling ticket drains its modules' stable instances; one that also serves another product
 * (shared services keep their own versions) would take that product's capacity: refused.
 */
async function refuseSharedRolling(
  tx: StoreTx,
  productName: string,
  items: readonly TicketItem[],
  plan: Json,
): Promise<void> {
  if (readPlan(plan).strategy !== 'rolling') return;
  const product = await tx.getProduct(productName);
  if (product === null) return; // createTicket says the product does not exist
  const products = await listAll((p) => tx.listProducts(p));
  const shared = sharedStable(items, product, products);
  if (shared.length > 0)
    throw new TurnoutError(
      'invalid_argument',
      `plan.strategy: rolling would drain ${shared.join('; ')} and take its capacity; use strategy blue-green for these modules`,
      'plan.strategy',
    );
}

export async function runCommand(
  tx: StoreTx,
  id: number,
  input: CommandInput,
  actor: string,
): Promise<Ticket> {
  const ticket = await load(tx, id, actor);
  refuse(input.command, ticket);
  const progress = readProgress(ticket.progress);
  switch (input.command) {
    case 'deploy':
    case 'prerelease':
      return record(tx, ticket, input.command, actor, {
        goal: GOAL_OF[input.command],
        ...retry(ticket, progress),
      });
    case 'abort':
      // Already asked for: nothing changes and nothing is recorded twice.
      if (ticket.goal === 'aborted') return ticket;
      return record(tx, ticket, 'abort', actor, { goal: 'aborted' });
    case 'promote': {
      const others = await listAll((p) => tx.listTickets({ ...p, product: ticket.product }));
      const clash = conflicts(ticket, others);
      if (clash.length > 0) {
        throw new TurnoutError(
          'conflict',
          `ticket ${id}: promote: ${clash.join('; ')}; abort or promote it first`,
          'items',
        );
      }
      return record(tx, ticket, 'promote', actor, { goal: 'promoted', ...retry(ticket, progress) });
    }
    case 'canary': {
      // The body is the plan's canary, so a rejection names the body's field (e.g. steps[1]).
      const plan = checkedPlan({ ...readPlan(ticket.plan), canary: input.canary }, []);
      return record(
        tx,
        ticket,
        'canary',
        actor,
        {
          goal: 'canary',
          plan,
          ...(ticket.state === 'failed'
            ? { ...transition(ticket.state, 'open'), progress: {} }
            : {}),
        },
        { canary: input.canary },
      );
    }
    case 'approve': {
      // A rolling ticket approves its batch (rolling.ts), a canary its step.
      const step = progress.batch ?? progress.canaryStep ?? 0;
      return record(
        tx,
        ticket,
        'approve',
        actor,
        { progress: { ...progress, approvedStep: step } },
        { step },
      );
    }
    case 'amend': {
      // New versions of the modules named; the other items stay (DESIGN §4: "replace some items'
      // versions"). The named ones come first, so a rejected item's index is the request's.
      // Verification starts over (a canary goes back to pre-release).
      const named = new Set(input.items.map((i) => i.module));
      const items = [...input.items, ...ticket.items.filter((i) => !named.has(i.module))];
      return record(
        tx,
        ticket,
        'amend',
        actor,
        { items, ...transition(ticket.state, 'open'), goal: amendGoal(ticket.goal), progress: {} },
        { items: input.items, before: ticket.items },
      );
    }
  }
}

/**
 * From failed, a command that sends the ticket forward is a retry: the state goes back to open
 * (the engine leaves a failed ticket alone) and the failure is cleared.
 */
function retry(ticket: Ticket, progress: Progress): { state?: TicketState; progress?: Json } {
  if (ticket.state !== 'failed') return {};
  return { ...transition(ticket.state, 'open'), progress: stripDeploy(progress) as Json };
}

async function record(
  tx: StoreTx,
  ticket: Ticket,
  command: Command,
  actor: string,
  patch: Parameters<StoreTx['updateTicket']>[1],
  data: Record<string, unknown> = {},
): Promise<Ticket> {
  const updated = await tx.updateTicket(ticket.id, patch, actor);
  await tx.appendTicketEvent(ticket.id, { type: `command.${command}`, data: data as never }, actor);
  return updated;
}

/**
 * A new ticket that restores what was promoted before `targetId`, to be promoted at once. Refused
 * (conflict, like a command its state does not accept) unless the target is promoted and something
 * was promoted before it. The target is not changed; its events record who reverted it.
 */
export async function revertTicket(tx: StoreTx, targetId: number, actor: string): Promise<Ticket> {
  const target = await load(tx, targetId, actor);
  const history = await listAll((p) => tx.listTickets({ ...p, product: target.product }));
  const items = refusedAsConflict(() => revertItems(target, history));
  const ticket = await tx.createTicket(
    { product: target.product, items, revertOf: target.id, goal: 'promoted', plan: target.plan },
    actor,
  );
  await tx.appendTicketEvent(
    ticket.id,
    { type: 'created', data: { items, revertOf: target.id } },
    actor,
  );
  await tx.appendTicketEvent(ticket.id, { type: 'command.promote', data: {} }, actor);
  await tx.appendTicketEvent(
    target.id,
    { type: 'command.revert', data: { ticket: ticket.id, items } },
    actor,
  );
  return ticket;
}

/** history.ts says why a ticket cannot be reverted; to the API that is the ticket's state. */
function refusedAsConflict<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (!(error instanceof TurnoutError)) throw error;
    throw new TurnoutError('conflict', `revert: ${error.message}`, error.field);
  }
}
