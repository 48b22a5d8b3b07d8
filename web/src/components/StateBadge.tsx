export function StateBadge({ state, goal }: { state: string; goal?: string | null }) {
  return (
    <span className={`badge state-${state}`} data-state={state}>
      {state}
      {goal !== undefined && goal !== null && goal !== state ? ` → ${goal}` : ''}
    </span>
  );
}
