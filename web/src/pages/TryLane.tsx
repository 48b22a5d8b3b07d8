// A lane's page (`/try?product=<p>&lane=<lane>`): the lane's overlay and "Try it" — one request to
// the product through the lane, answered with the versions that served it. Any lane of any
// product, not only a ticket's.

import type { Lane } from '../api';
import { all } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { ProductPicker, useProduct } from '../components/ProductPicker';
import { TryIt } from '../components/TryIt';
import { setQuery, useLocation } from '../router';
import { useResource } from '../useResource';

export function TryLane() {
  const { product, products } = useProduct();
  const { query } = useLocation();
  const wanted = query.get('lane');
  const { data: lanes, error } = useResource(
    () =>
      product === null
        ? Promise.resolve([] as Lane[])
        : all<Lane>(`/products/${encodeURIComponent(product)}/lanes`),
    [product],
  );
  const lane = lanes?.find((l) => l.name === wanted) ?? null;
  return (
    <section data-testid="lane-page">
      <h1>Lane {lane?.name ?? ''}</h1>
      <ProductPicker product={product} products={products} />
      <ErrorNote error={error} />
      <label>
        lane{' '}
        <select
          aria-label="lane"
          value={wanted ?? ''}
          onChange={(e) => setQuery({ product: product ?? '', lane: e.target.value })}
        >
          <option value="">pick a lane</option>
          {(lanes ?? []).map((l) => (
            <option key={l.name} value={l.name}>
              {l.name}
            </option>
          ))}
        </select>
      </label>
      {lane !== null && product !== null && (
        <div className="card">
          <h2>Overlay</h2>
          <pre className="mono">{lane.overlay === '' ? '(none: stable)' : lane.overlay}</pre>
          <h2>Try it</h2>
          <TryIt product={product} lane={lane.name} />
        </div>
      )}
    </section>
  );
}
