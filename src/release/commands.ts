// Operator commands on tickets. A command only records intent — a goal, plan changes, an approval —
// and an event saying who asked, in one transaction; the engine does the work on its next tick.
// A command the ticket's state does not accept is refused with the state table's reason and
// changes nothing.

import { listAll } from '../control/publisher.js';
import { TurnoutError } from '../errors.js';
import type { Json, Ticket, TicketItem } from '../store/model.js';
import type { StoreTx } from '../store/store.js';
import { revertItems } from './history.js';
import type { CanaryPlan } from './plan.js';
import { planSchema, readPlan } from './plan.js';
import { readProgress } from './progress.js';
import { conflicts } from './reconcile.js';
import type { Command } from './transitions.js';
import { amendGoal, GOAL_OF, refusal } from './transitions.js';

export type CommandInput =
  | { command: 'deploy' | 'prerelease' | 'promote' | 'abort' | 'approve' }
  | { command: 'canary'; canary: CanaryInput }
  | { command: 'amend'; items: TicketItem[] };

/** The canary as the API takes it (the plan schema fills defaults and checks it). */
export type CanaryInput = Partial<Omit<CanaryPlan, 'steps'>> & { steps: number[] };

async function load(tx: StoreTx, id: number): Promise<Ticket> {
  const ticket = await tx.getTicket(id);
  if (ticket === null) throw new TurnoutError('not_found', `ticket ${id} does not exist`);
  return ticket;
}

function refuse(command: Command, ticket: Ticket): void {
  const why = refusal(command, ticket.state);
  if (why !== null)
    throw new TurnoutError('conflict', `ticket ${ticket.id}: ${command}: ${why}`, 'state');
}

/** The plan with its defaults filled in, as stored (so a ticket shows the settings in force). */
function checkedPlan(input: unknown): Json {
  const parsed = planSchema.safeParse(input);
  if (parsed.success) return JSON.parse(JSON.stringify(parsed.data)) as Json;
  const issue = parsed.error.issues[0];
  const field = ['plan', ...(issue?.path ?? [])]
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '')
    .replace(/\.\[/g, '[');
  throw new TurnoutError('invalid_argument', `${field}: ${issue?.message ?? 'is invalid'}`, field);
}

/** Creates a ticket (goal none: nothing happens until a command). */
export async function createTicket(
  tx: StoreTx,
  input: { product: string; items: TicketItem[]; plan?: unknown },
  actor: string,
): Promise<Ticket> {
  const plan = checkedPlan(input.plan ?? {});
  const ticket = await tx.createTicket({ product: input.product, items: input.items, plan }, actor);
  await tx.appendTicketEvent(ticket.id, { type: 'created', data: { items: ticket.items } }, actor);
  return ticket;
}

export async function runCommand(
  tx: StoreTx,
  id: number,
  input: CommandInput,
  actor: string,
): Promise<Ticket> {
  const ticket = await load(tx, id);
  refuse(input.command, ticket);
  const progress = readProgress(ticket.progress);
  switch (input.command) {
    case 'deploy':
    case 'prerelease':
    case 'abort': {
      // From failed, a command is a retry: the state goes back to open and the failure is cleared.
      const retry = ticket.state === 'failed' && input.command !== 'abort';
      const { message: _m, ...rest } = progress;
      return record(tx, ticket, input.command, actor, {
        goal: GOAL_OF[input.command],
        ...(retry ? { state: 'open', progress: rest } : {}),
      });
    }
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
      return record(tx, ticket, 'promote', actor, { goal: 'promoted' });
    }
    case 'canary': {
      const plan = checkedPlan({ ...readPlan(ticket.plan), canary: input.canary });
      const retry = ticket.state === 'failed';
      return record(
        tx,
        ticket,
        'canary',
        actor,
        { goal: 'canary', plan, ...(retry ? { state: 'open', progress: {} } : {}) },
        { canary: input.canary },
      );
    }
    case 'approve': {
      const step = progress.canaryStep ?? 0;
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
      // New versions: verification starts over (a canary goes back to pre-release).
      return record(
        tx,
        ticket,
        'amend',
        actor,
        { items: input.items, state: 'open', goal: amendGoal(ticket.goal), progress: {} },
        { items: input.items, before: ticket.items },
      );
    }
  }
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

/** A new ticket that restores what was promoted before `targetId`, to be promoted at once. */
export async function revertTicket(tx: StoreTx, targetId: number, actor: string): Promise<Ticket> {
  const target = await load(tx, targetId);
  const history = await listAll((p) => tx.listTickets({ ...p, product: target.product }));
  const items = revertItems(target, history);
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
  return ticket;
}
