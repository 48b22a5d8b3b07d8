// The ticket state machine: every state a ticket may move to from each state, and why that move
// exists. Every write of a ticket's `state` — the engine's decisions (reconcile.ts, decide.ts),
// the operator's commands (commands.ts) — is built by `transition()`, which refuses a move the
// table does not list. An illegal move is a bug in the engine, not bad input: it fails loudly
// (an `internal` error) and the transaction that would have written it writes nothing.
//
// One write may cover more than one step of the flow: reconcile decides "deployed, and the lane
// is put" in one tick, so open → prerelease is a single write and is listed as such.
// docs/state-machine.md renders this table; a test keeps the two equal.

import { TurnoutError } from '../errors.js';
import type { InstanceState, TicketState } from '../store/model.js';

type Edges<S extends string> = Readonly<Record<S, Readonly<Partial<Record<S, string>>>>>;

const AMEND = 'amend: new versions, verification starts over from open';
const ABORT = 'abort, asked for by an operator or decided by the canary analysis';
const LOST = 'an instance of the ticket was lost: the engine deploys it again';
const FAIL = 'a start failed, or the level was not ready within readyTimeoutMs';

/** Legal ticket state moves: from → { to: why }. Terminal states have none. */
export const TRANSITIONS: Edges<TicketState> = {
  open: {
    open: AMEND,
    deploying: 'the engine starts the lowest level short of ready instances',
    deployed: 'every version already had its ready instances',
    prerelease: 'already deployed: the lane is put in the same tick',
    canary: 'already deployed: the canary lane is put in the same tick',
    promoted: 'already deployed: the stable dtab names the versions in the same tick',
    aborted: ABORT,
    failed: FAIL,
  },
  deploying: {
    open: AMEND,
    deploying: 'the next level, or progress within one',
    deployed: 'every level has its ready instances',
    prerelease: 'deployed, and the lane is put in the same tick',
    canary: 'deployed, and the canary lane is put in the same tick',
    promoted: 'deployed, and the stable dtab names the versions in the same tick',
    aborted: ABORT,
    failed: FAIL,
  },
  deployed: {
    open: AMEND,
    deployed: "progress only: a rolling ticket's first batch, replaced and ready, is recorded",
    deploying: LOST,
    prerelease: 'the lane is live for the pre-release header',
    canary: 'the lane takes its first canary share',
    promoted: 'the stable dtab names the versions, the lane retires',
    aborted: ABORT,
    failed: FAIL,
  },
  prerelease: {
    open: AMEND,
    deploying: LOST,
    prerelease: 'the lane was changed or lost: it is put again',
    canary: 'the lane takes its first canary share',
    promoted: 'the stable dtab names the versions, the lane retires',
    aborted: ABORT,
    failed: FAIL,
  },
  canary: {
    open: AMEND,
    deploying: LOST,
    prerelease: 'the goal is pre-release again (or the plan has no canary): the share goes',
    canary: 'the next step, an approval, or analysis progress',
    promoted: 'the stable dtab names the versions, the lane retires',
    aborted: ABORT,
    failed: FAIL,
  },
  failed: {
    open: 'a retry (deploy, pre-release, canary, promote) or an amend clears the failure',
    aborted: 'abort, asked for by an operator',
  },
  promoted: {},
  aborted: {},
};

/** Why `from` → `to` is legal, or null when the table does not list it. */
export function reasonFor(from: TicketState, to: TicketState): string | null {
  return TRANSITIONS[from][to] ?? null;
}

/**
 * The state field of a ticket write that moves `from` → `to`; the only way a ticket's state is
 * written. Throws an internal error for a move the table does not list.
 */
export function transition(from: TicketState, to: TicketState): { readonly state: TicketState } {
  if (reasonFor(from, to) === null) {
    const legal = Object.keys(TRANSITIONS[from]).join(', ') || 'nothing (terminal)';
    throw new TurnoutError(
      'internal',
      `illegal ticket state transition ${from} → ${to} (legal from ${from}: ${legal})`,
      'state',
    );
  }
  return { state: to };
}

const HOST_LOST = 'its host was lost (lease expired past the grace): it was replaced elsewhere';

/** Legal instance state moves, as written by the engine (health checks move starting → ready). */
export const INSTANCE_TRANSITIONS: Edges<InstanceState> = {
  starting: {
    starting: 'started again under the same id (its process was lost)',
    ready: 'its health checks passed',
    draining: 'no product needs its version any more',
    stopped: HOST_LOST,
  },
  ready: {
    starting: 'started again under the same id (its process was lost)',
    draining: 'no product needs its version any more, or its host drains (replaced elsewhere)',
    stopped: HOST_LOST,
  },
  draining: {
    stopped: 'drained (no proxy routes to it) and stopped, or its process was lost',
  },
  stopped: {
    starting: 'its id is reused by a new start of the same version',
  },
};

/** The state field of an instance write `from` → `to` (null `from`: a new record). */
export function instanceTransition(
  from: InstanceState | null,
  to: InstanceState,
): { readonly state: InstanceState } {
  if (from === null ? to === 'starting' : INSTANCE_TRANSITIONS[from][to] !== undefined) {
    return { state: to };
  }
  throw new TurnoutError(
    'internal',
    `illegal instance state transition ${from ?? '(new)'} → ${to}`,
    'state',
  );
}
