// The canary's live share: the lane's requests over all of the product's requests at its entry
// module in the last 30 s, next to the planned steps. Updates on each `traffic` event.

import type { Ticket, Traffic } from '../api';
import { api } from '../api';
import { useResource } from '../useResource';

export function CanaryShare({ ticket, entry }: { ticket: Ticket; entry: string }) {
  const lane = `t-${ticket.id}`;
  const { data } = useResource(
    () =>
      api<Traffic>('/traffic', {
        query: { product: ticket.product, module: entry, windowMs: 30_000 },
      }),
    [ticket.product, entry],
    ['traffic'],
  );
  const steps = ticket.plan.canary?.steps ?? [];
  const at = ticket.progress.canaryStep;
  const done = ticket.progress.canaryDone === true;
  const inLane =
    data?.keys.filter((k) => k.key.lane === lane).reduce((n, k) => n + k.summary.requests, 0) ?? 0;
  const total = data?.total.requests ?? 0;
  const share = total === 0 ? null : inLane / total;
  return (
    <div className="canary">
      <div className="steps">
        {steps.map((s, i) => (
          <span
            key={s}
            className={`step${done || (at !== undefined && i < at) ? ' done' : ''}${!done && i === at ? ' current' : ''}`}
          >
            {s} %
          </span>
        ))}
        {done && <span className="step done">done</span>}
      </div>
      <div className="share" data-testid="canary-share">
        <div className="bar">
          <div style={{ width: `${((share ?? 0) * 100).toFixed(1)}%` }} />
        </div>
        live share of {entry} requests in {lane} (30 s):{' '}
        <b>{share === null ? 'no traffic' : `${(share * 100).toFixed(1)} %`}</b>{' '}
        <span className="muted">
          ({inLane} of {total})
        </span>
      </div>
    </div>
  );
}
