// When `release status --watch` stops watching, and the exit code that says why: the ticket is
// done (promoted), ended badly (failed, aborted), or waits for a person (a canary ready to promote,
// a step waiting for `release approve`, a goal reached that needs the next command). A script can
// then `turnout release status 5 --watch; case $? in 10) promote …`. Pure; documented in
// docs/cli-output.md.

import type { TicketData } from './release-view.js';

export const WATCH_EXIT = {
  promoted: 0,
  failed: 3,
  aborted: 4,
  'ready to promote': 10,
  'waiting for approval': 11,
  'waiting for the next command': 12,
} as const;

export type WatchEnd = keyof typeof WATCH_EXIT;

type Watched = Pick<TicketData, 'state' | 'goal' | 'progress'> & {
  plan: { canary?: { steps: number[]; pauseMs?: number | null } | null };
};

/** Why watching is over, or null while the engine is still moving the ticket on its own. */
export function watchEnd(t: Watched): WatchEnd | null {
  if (t.state === 'promoted') return 'promoted';
  // An abort recorded on a failed ticket still moves it (to aborted): watch on.
  if (t.state === 'failed' && t.goal !== 'aborted') return 'failed';
  if (t.state === 'aborted') return 'aborted';
  if (t.state === 'canary' && t.goal === 'canary') {
    if (t.progress.canaryDone === true) return 'ready to promote';
    const manual = t.plan.canary?.pauseMs === null;
    const step = t.progress.canaryStep ?? 0;
    if (manual && (t.progress.approvedStep ?? -1) < step) return 'waiting for approval';
    return null;
  }
  // Deployed or pre-released as asked: nothing moves until someone sends the next command.
  if (t.goal === t.state && (t.state === 'deployed' || t.state === 'prerelease'))
    return 'waiting for the next command';
  return null;
}

/** The line printed when watching ends: why, the exit code, and what to run next. */
export function watchEndLine(id: number, end: WatchEnd): string {
  const next: Record<WatchEnd, string> = {
    promoted: '',
    failed: `  (see turnout release status ${id}; deploy again or abort)`,
    aborted: '',
    'ready to promote': `: turnout release promote ${id}`,
    'waiting for approval': `: turnout release approve ${id}`,
    'waiting for the next command': `: e.g. turnout release canary ${id} --steps 10,50 or promote ${id}`,
  };
  return `watch ended: ${end} (exit ${WATCH_EXIT[end]})${next[end]}`;
}
