/**
 * A ticket's state, and the goal the engine moves it to while it moves. A failed ticket keeps the
 * goal it failed to reach but nothing moves it (it waits for a command), so it reads `failed`, not
 * `failed → deployed`; only an abort moves it on. Same rule as the CLI (src/cli/release-view.ts
 * headingTo); web/ does not import server code, so it is repeated here.
 */
export function headingTo(state: string, goal: string | null | undefined): string | null {
  if (goal === undefined || goal === null || goal === state) return null;
  if (state === 'promoted' || state === 'aborted') return null;
  if (state === 'failed' && goal !== 'aborted') return null;
  return goal;
}

export function StateBadge({ state, goal }: { state: string; goal?: string | null }) {
  const to = headingTo(state, goal);
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {state}
      {to === null ? '' : ` → ${to}`}
    </span>
  );
}
