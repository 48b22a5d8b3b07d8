// A rolling ticket's batches (src/release/rolling.ts): which batch of how many, and per module how
// many old and new instances are ready, so an operator sees the capacity move batch by batch.

import type { Ticket } from '../api';

export function RollingBatches({ ticket }: { ticket: Ticket }) {
  const { batch, batches, rollout, canaryDone } = ticket.progress;
  const limit = ticket.plan.maxUnavailable ?? '25%';
  if (batch === undefined || batches === undefined)
    return (
      <p className="muted" data-testid="rolling">
        maxUnavailable {limit}: not started
      </p>
    );
  const done = canaryDone === true || ticket.state === 'promoted' ? batches : batch - 1;
  return (
    <div className="canary" data-testid="rolling">
      <div className="steps">
        {Array.from({ length: batches }, (_, i) => i + 1).map((n) => (
          <span
            key={n}
            className={`step${n <= done ? ' done' : ''}${n === batch && n > done ? ' current' : ''}`}
          >
            batch {n}
          </span>
        ))}
      </div>
      <p data-testid="rolling-batch">
        batch <b>{batch}</b> of <b>{batches}</b> · maxUnavailable {limit}
      </p>
      <table className="list">
        <thead>
          <tr>
            <th>module</th>
            <th>old ready</th>
            <th>new ready</th>
          </tr>
        </thead>
        <tbody>
          {(rollout ?? []).map((r) => (
            <tr key={r.module} data-module={r.module}>
              <td className="mono">{r.module}</td>
              <td className="mono">{r.from === null ? '—' : `${r.from}: ${r.old}`}</td>
              <td className="mono">
                {r.version}: {r.new}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
