// One ticket: items and their instances, the engine's progress message, the canary share and
// analysis, the pre-release header, the next actions, and the live step timeline.

import type { Instance, Product, Ticket, TicketEvent } from '../api';
import { all, api } from '../api';
import { CanaryShare } from '../components/CanaryShare';
import { CopyHeader } from '../components/CopyHeader';
import { ErrorNote } from '../components/ErrorNote';
import { HostSteps } from '../components/HostSteps';
import { InstanceBadge } from '../components/InstanceBadge';
import { ProgressBanner } from '../components/ProgressBanner';
import { RollingBatches } from '../components/RollingBatches';
import { StateBadge } from '../components/StateBadge';
import { TicketActions } from '../components/TicketActions';
import { Timeline } from '../components/Timeline';
import { TryIt } from '../components/TryIt';
import { stepRunning, VerdictList } from '../components/VerdictList';
import { Link } from '../router';
import { useResource } from '../useResource';

async function load(id: number) {
  const [ticket, events, instances] = await Promise.all([
    api<Ticket>(`/tickets/${id}`),
    all<TicketEvent>(`/tickets/${id}/events`),
    all<Instance>('/instances'),
  ]);
  const product = await api<Product>(`/products/${encodeURIComponent(ticket.product)}`);
  return { ticket, events, instances, product };
}

function Items({ ticket, instances }: { ticket: Ticket; instances: Instance[] }) {
  return (
    <table className="list">
      <thead>
        <tr>
          <th>item</th>
          <th>instances</th>
        </tr>
      </thead>
      <tbody>
        {ticket.items.map((item) => {
          const mine = instances.filter(
            (i) => i.module === item.module && i.version === item.version,
          );
          return (
            <tr key={item.module}>
              <td className="mono">
                {item.module}@{item.version}
              </td>
              <td>
                {mine.length === 0 && <span className="muted">none</span>}
                {mine.map((i) => (
                  <InstanceBadge key={i.id} instance={i} />
                ))}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function TicketDetail({ id }: { id: number }) {
  const { data, error } = useResource(() => load(id), [id]);
  if (data === null)
    return (
      <section>{error ? <ErrorNote error={error} /> : <p className="loading">Loading…</p>}</section>
    );
  const { ticket: t, events, instances, product } = data;
  const laneLive = t.state === 'prerelease' || t.state === 'canary';
  // The value is the ticket's random secret (never its id): whoever may read the ticket may test it.
  const header = `${t.plan.prereleaseHeader ?? 'x-prerelease'}: ${t.prereleaseSecret}`;
  return (
    <section className="ticket" data-ticket={t.id} data-state={t.state}>
      <p>
        <Link to={`/tickets?product=${t.product}`}>← {t.product} tickets</Link>
      </p>
      <h1>
        Ticket {t.id} <StateBadge state={t.state} goal={t.goal} />
      </h1>
      <p className="muted">
        product {t.product} · created by {t.createdBy} {new Date(t.createdAt).toLocaleString()}
        {t.revertOf !== null && (
          <>
            {' '}
            · reverts <Link to={`/tickets/${t.revertOf}`}>ticket {t.revertOf}</Link>
          </>
        )}
      </p>
      <ErrorNote error={error} />
      <ProgressBanner ticket={t} />
      <div className="two">
        <div className="card">
          <h2>Items</h2>
          <Items ticket={t} instances={instances} />
          <HostSteps ticket={t} />
          {(laneLive ||
            t.state === 'deployed' ||
            t.state === 'open' ||
            t.state === 'deploying') && <CopyHeader header={header} />}
          {!laneLive && t.state !== 'promoted' && t.state !== 'aborted' && (
            <p className="muted small">
              The header reaches the new versions once the ticket is in pre-release.
            </p>
          )}
          {t.plan.strategy === 'rolling' && (
            <>
              <h2>Rolling</h2>
              <RollingBatches ticket={t} />
            </>
          )}
          {t.plan.strategy !== 'rolling' &&
            (t.state === 'canary' || t.progress.canaryStep !== undefined) &&
            t.plan.canary && (
              <>
                <h2>Canary</h2>
                <CanaryShare ticket={t} entry={product.entry} />
              </>
            )}
          {((t.progress.analysis ?? []).length > 0 || stepRunning(t)) && (
            <>
              <h3>Analysis</h3>
              <VerdictList verdicts={t.progress.analysis ?? []} ticket={t} />
            </>
          )}
          <h2>Actions</h2>
          <TicketActions ticket={t} />
          {laneLive && (
            <>
              <h2>Try it</h2>
              <TryIt product={t.product} lane={`t-${t.id}`} />
            </>
          )}
          <p className="small">
            <Link to={`/explain?ticket=${t.id}`}>Explain its routing</Link>
            {laneLive && (
              <>
                {' '}
                · <Link to={`/try?product=${t.product}&lane=t-${t.id}`}>lane page</Link>
              </>
            )}
          </p>
        </div>
        <div className="card">
          <h2>Timeline</h2>
          <Timeline events={events} />
        </div>
      </div>
    </section>
  );
}
