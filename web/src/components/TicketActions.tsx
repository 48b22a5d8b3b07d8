// The next actions a ticket's state allows (the engine's own state table), each behind a
// confirmation that says exactly what will happen. Viewers see them disabled, with the reason.

import type { ReactNode } from 'react';
import { useState } from 'react';
import { ACCEPTS } from '../../../src/release/transitions';
import type { ApiError, Ticket } from '../api';
import { api } from '../api';
import { navigate } from '../router';
import { releaseRefusal, useSession } from '../session';
import { ConfirmDialog } from './ConfirmDialog';
import { ErrorNote } from './ErrorNote';

type Action = 'deploy' | 'prerelease' | 'canary' | 'approve' | 'promote' | 'abort' | 'revert';
const ORDER: Action[] = ['deploy', 'prerelease', 'canary', 'approve', 'promote', 'abort', 'revert'];

function allowed(action: Action, t: Ticket): boolean {
  if (action === 'revert') return t.state === 'promoted';
  if (action === 'approve' && t.progress.canaryDone === true) return false;
  return (ACCEPTS[action] as readonly string[]).includes(t.state);
}

const list = (t: Ticket) => t.items.map((i) => `${i.module}@${i.version}`).join(', ');

export interface CanaryInput {
  steps: number[];
  pauseMs: number | null;
}

/**
 * The steps as typed, as numbers (null: something is not a number). Their range and order are the
 * API's to judge: its refusal names the step (`steps[1]: …`), which the page shows as it is.
 */
function parseSteps(text: string): number[] | null {
  const steps = text
    .split(/[\s,%]+/)
    .filter((s) => s !== '')
    .map(Number);
  return steps.length === 0 || steps.some((s) => !Number.isFinite(s)) ? null : steps;
}

/** The step after each state, when nothing else is asked of a person. */
const NEXT: Readonly<Record<string, Action>> = {
  open: 'deploy',
  deployed: 'prerelease',
  prerelease: 'canary',
  canary: 'promote',
};

/**
 * The action the page leads with: the ticket's next step. A failed ticket's is the retry of what
 * failed, never promote (promoting what did not deploy is not the way out of a failure); a canary
 * waiting for approval leads with approve.
 */
function primaryOf(t: Ticket, actions: readonly Action[]): Action | null {
  let next: Action | undefined = NEXT[t.state];
  if (t.state === 'failed')
    next = t.goal === 'prerelease' ? 'prerelease' : t.goal === 'canary' ? 'canary' : 'deploy';
  else if (actions.includes('approve')) next = 'approve';
  return next !== undefined && actions.includes(next) ? next : null;
}

function classOf(action: Action, primary: Action | null): string | undefined {
  if (action === 'abort' || action === 'revert') return 'danger';
  return action === primary ? 'primary' : undefined;
}

function what(action: Action, t: Ticket, canary: CanaryInput | null): ReactNode {
  const lane = `t-${t.id}`;
  const header = `${t.plan.prereleaseHeader ?? 'x-prerelease'}: ${lane}`;
  switch (action) {
    case 'deploy':
      return `Starts instances of ${list(t)} in dependency order, bottom-up, ${t.plan.replicas ?? 1} per version, each gated on its health check. Versions already running are not started again. No request reaches them yet.`;
    case 'prerelease':
      return (
        <>
          Deploys {list(t)} where needed, then opens lane {lane}: requests carrying the header{' '}
          <code>{header}</code> reach the new versions; everyone else stays on stable.
        </>
      );
    case 'canary': {
      if (canary === null) return 'Enter steps first.';
      const key = t.plan.canary?.key?.cookie ?? t.plan.canary?.key?.header ?? 'x-user-id';
      const hold =
        canary.pauseMs === null ? 'waits for Approve' : `is held ${canary.pauseMs / 1000} s`;
      return `Sends ${canary.steps.join(' %, then ')} % of ${t.product}'s users (hashed on ${key}, so a user stays in or out) to lane ${lane} with ${list(t)}; each step ${hold}. Analysis tests the lane's errors and latency against stable's (significance and a minimum effect); a failed analysis aborts and the lane's traffic goes to 0 at once.`;
    }
    case 'approve': {
      const steps = t.plan.canary?.steps ?? [];
      const at = t.progress.canaryStep ?? 0;
      return `Lets the canary move on from step ${at + 1} (${steps[at] ?? '?'} %)${steps[at + 1] === undefined ? ' to done' : ` to ${steps[at + 1]} %`}, if analysis passes.`;
    }
    case 'promote':
      return `${t.state === 'failed' ? `Ticket ${t.id} failed: its versions may not all be running. ` : ''}${t.product}'s stable routes switch to ${list(t)} for every user${t.progress.canaryDone === true ? '' : ' (the canary has not finished)'}; lane ${lane} retires. The old versions' instances keep running, so a revert is a routing switch.`;
    case 'abort':
      return `Ends ticket ${t.id} as aborted: lane ${lane} gets no traffic from now on and everyone stays on stable. The ticket cannot be resumed (its history is kept).`;
    case 'revert':
      return `Creates a new ticket for ${t.product} that restores the versions stable served before ticket ${t.id} was promoted, and promotes it at once: a routing switch (their instances are kept), no redeploy.`;
  }
}

export function TicketActions({ ticket }: { ticket: Ticket }) {
  const session = useSession();
  const refusal = releaseRefusal(session.who);
  const [open, setOpen] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [stepsText, setStepsText] = useState('10, 50');
  const [pauseText, setPauseText] = useState('30');
  const steps = parseSteps(stepsText);
  const pauseMs = pauseText.trim() === '' ? null : Math.round(Number(pauseText) * 1000);
  const canary: CanaryInput | null =
    steps === null || (pauseMs !== null && !Number.isFinite(pauseMs)) ? null : { steps, pauseMs };
  const actions = ORDER.filter((a) => allowed(a, ticket));
  const primary = primaryOf(ticket, actions);

  const run = async (action: Action) => {
    setBusy(true);
    setError(null);
    try {
      const body = action === 'canary' ? canary : undefined;
      const answer = await api<Ticket>(`/tickets/${ticket.id}/${action}`, { method: 'POST', body });
      setOpen(null);
      if (action === 'revert') navigate(`/tickets/${answer.id}`);
    } catch (e) {
      setError(e as ApiError);
      setOpen(null);
    } finally {
      setBusy(false);
    }
  };

  if (actions.length === 0)
    return (
      <p className="muted">
        No action: ticket {ticket.id} is {ticket.state}.
      </p>
    );
  return (
    <div className="actions">
      {actions.includes('canary') && (
        <div className="canary-inputs">
          <label>
            canary steps %{' '}
            <input
              value={stepsText}
              onChange={(e) => setStepsText(e.target.value)}
              size={10}
              aria-label="canary steps"
            />
          </label>
          <label>
            hold each step (s, empty: wait for approve){' '}
            <input
              value={pauseText}
              onChange={(e) => setPauseText(e.target.value)}
              size={5}
              aria-label="canary pause seconds"
            />
          </label>
        </div>
      )}
      <div className="buttons">
        {actions.map((a) => (
          <span key={a} title={refusal ?? undefined} className="tip">
            <button
              type="button"
              className={classOf(a, primary)}
              disabled={refusal !== null || busy || (a === 'canary' && canary === null)}
              onClick={() => setOpen(a)}
              data-action={a}
            >
              {a}
            </button>
          </span>
        ))}
      </div>
      {refusal !== null && <p className="muted small">{refusal}</p>}
      {actions.includes('canary') && canary === null && (
        <p className="muted small">
          Canary: steps are percentages (e.g. 10, 50) and the hold is seconds or empty.
        </p>
      )}
      <ErrorNote error={error} />
      {open !== null && (
        <ConfirmDialog
          title={`${open} ticket ${ticket.id}?`}
          confirmLabel={`Yes, ${open}`}
          danger={open === 'abort' || open === 'revert'}
          busy={busy}
          onCancel={() => setOpen(null)}
          onConfirm={() => void run(open)}
        >
          {what(open, ticket, canary)}
        </ConfirmDialog>
      )}
    </div>
  );
}
