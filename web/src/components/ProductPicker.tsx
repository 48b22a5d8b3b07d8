// A product selector kept in the page's query string (?product=shop), so a filtered page can be
// linked and reloaded.

import type { Product } from '../api';
import { all } from '../api';
import { setQuery, useLocation } from '../router';
import { useResource } from '../useResource';

/** The product chosen in ?product=, or the first product once loaded. */
export function useProduct(): { product: string | null; products: string[] } {
  const { query } = useLocation();
  const { data } = useResource(
    async () => (await all<Product>('/products')).map((p) => p.name),
    [],
  );
  const products = data ?? [];
  const chosen = query.get('product');
  return { product: chosen ?? products[0] ?? null, products };
}

export function ProductPicker(props: {
  product: string | null;
  products: string[];
  extra?: Record<string, string>;
}) {
  return (
    <label className="inline">
      Product{' '}
      <select
        value={props.product ?? ''}
        onChange={(e) => setQuery({ ...props.extra, product: e.target.value })}
      >
        {props.products.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </label>
  );
}
