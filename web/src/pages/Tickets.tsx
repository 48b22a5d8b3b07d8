// Tickets of every product (or of the one in ?product=), newest first, with their state (and the
// goal the engine moves it to), and the way to a new ticket.

import type { Ticket } from '../api';
import { all } from '../api';
import '../drive.css';
import { ErrorNote } from '../components/ErrorNote';
import { ProductPicker, useProduct } from '../components/ProductPicker';
import { StateBadge } from '../components/StateBadge';
import { Link } from '../router';
import { releaseRefusal, useSession } from '../session';
import { useResource } from '../useResource';

async function loadTickets(product: string | null): Promise<Ticket[]> {
  const items = await all<Ticket>('/tickets', product === null ? {} : { product });
  return items.sort((a, b) => b.id - a.id);
}

function NewTicketButton({ product }: { product: string | null }) {
  const refusal = releaseRefusal(useSession().who);
  const to = `/tickets/new${product === null ? '' : `?product=${encodeURIComponent(product)}`}`;
  if (refusal !== null)
    return (
      <span className="tip" title={refusal}>
        <button type="button" disabled data-testid="new-ticket">
          new ticket
        </button>
      </span>
    );
  return (
    <span data-testid="new-ticket">
      <Link to={to} className="button primary">
        new ticket
      </Link>
    </span>
  );
}

export function Tickets() {
  const { product, products } = useProduct();
  const { data, error } = useResource(() => loadTickets(product), [product]);
  return (
    <section>
      <h1>Tickets</h1>
      <div className="toolbar">
        <ProductPicker product={product} products={products} />
        <NewTicketButton product={product} />
      </div>
      <ErrorNote error={error} />
      <table className="list tickets">
        <thead>
          <tr>
            <th>#</th>
            <th>product</th>
            <th>state</th>
            <th>items</th>
            <th>by</th>
            <th>updated</th>
          </tr>
        </thead>
        <tbody>
          {data?.map((t) => (
            <tr key={t.id} data-ticket={t.id}>
              <td>
                <Link to={`/tickets/${t.id}`}>ticket {t.id}</Link>
                {t.revertOf !== null && <span className="muted"> reverts {t.revertOf}</span>}
              </td>
              <td>{t.product}</td>
              <td>
                <StateBadge state={t.state} goal={t.goal} />
              </td>
              <td className="mono">{t.items.map((i) => `${i.module}@${i.version}`).join(' ')}</td>
              <td>{t.createdBy}</td>
              <td className="muted">{new Date(t.updatedAt).toLocaleString()}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {data?.length === 0 && (
        <p className="muted">No tickets{product === null ? '' : ` for ${product}`} yet.</p>
      )}
    </section>
  );
}
