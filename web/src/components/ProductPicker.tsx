// A product filter kept in the page's query string (?product=shop), so a filtered page can be
// linked, shared and reloaded. No ?product= means every product: a page never opens on whichever
// product sorts first alphabetically (with two products, that hid the one with the activity).

import type { Product } from '../api';
import { all } from '../api';
import { setQuery, useLocation } from '../router';
import { useResource } from '../useResource';

/** The product chosen in ?product= (null: all products), and the products to choose from. */
export function useProduct(): { product: string | null; products: string[] } {
  const { query } = useLocation();
  const { data } = useResource(
    async () => (await all<Product>('/products')).map((p) => p.name),
    [],
  );
  const chosen = query.get('product');
  return { product: chosen === null || chosen === '' ? null : chosen, products: data ?? [] };
}

export function ProductPicker(props: {
  product: string | null;
  products: string[];
  extra?: Record<string, string>;
}) {
  // A linked product not (yet) in the list still shows as chosen rather than as "all".
  const names =
    props.product !== null && !props.products.includes(props.product)
      ? [props.product, ...props.products]
      : props.products;
  return (
    <label className="inline">
      Product{' '}
      <select
        value={props.product ?? ''}
        onChange={(e) => setQuery({ ...props.extra, product: e.target.value })}
        aria-label="product filter"
      >
        <option value="">all products</option>
        {names.map((p) => (
          <option key={p} value={p}>
            {p}
          </option>
        ))}
      </select>
    </label>
  );
}
