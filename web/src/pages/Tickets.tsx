// Tickets of a product, newest first, with their state (and the goal the engine moves it to).

import type { Page, Ticket } from '../api';
import { api } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { ProductPicker, useProduct } from '../components/ProductPicker';
import { StateBadge } from '../components/StateBadge';
import { Link } from '../router';
import { useResource } from '../useResource';

async function loadTickets(product: string | null): Promise<Ticket[]> {
  if (product === null) return [];
  const items: Ticket[] = [];
  let cursor: string | undefined;
  do {
    const page = await api<Page<Ticket>>('/tickets', { query: { product, limit: 1000, cursor } });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items.reverse();
}

export function Tickets() {
  const { product, products } = useProduct();
  const { data, error } = useResource(() => loadTickets(product), [product]);
  return (
    <section>
      <h1>Tickets</h1>
      <ProductPicker product={product} products={products} />
      <ErrorNote error={error} />
      <table className="list tickets">
        <thead>
          <tr>
            <th>#</th>
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
      {data?.length === 0 && <p className="muted">No tickets for {product} yet.</p>}
    </section>
  );
}
