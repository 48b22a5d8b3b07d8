// Products: for each product its hosts, module graph and the versions each module serves in
// stable (the base dtab) and in every lane (each lane's overlay).

import type { Lane, Module, Product } from '../api';
import { all } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import type { GraphNode } from '../components/ModuleGraph';
import { ModuleGraph } from '../components/ModuleGraph';
import type { NotifierView } from '../components/NotifierTable';
import { NotifierTable } from '../components/NotifierTable';
import { versionsOf } from '../dtab';
import { useResource } from '../useResource';

interface ProductView {
  product: Product;
  lanes: Lane[];
  modules: string[];
  notifiers: NotifierView[];
}

/** The modules a product uses: those its base dtab names and those its entry reaches. */
export function modulesOf(product: Product, modules: Map<string, Module>): string[] {
  const out = new Set(versionsOf(product.baseDtab).keys());
  const stack = [product.entry];
  while (stack.length > 0) {
    const m = stack.pop()!;
    if (out.has(m) && m !== product.entry) continue;
    out.add(m);
    for (const c of modules.get(m)?.calls ?? []) if (!out.has(c)) stack.push(c);
  }
  return [...out].filter((m) => modules.has(m));
}

async function load() {
  const [products, moduleList] = await Promise.all([
    all<Product>('/products'),
    all<Module>('/modules'),
  ]);
  const modules = new Map(moduleList.map((m) => [m.name, m]));
  const views: ProductView[] = await Promise.all(
    products.map(async (product) => ({
      product,
      lanes: await all<Lane>(`/products/${encodeURIComponent(product.name)}/lanes`),
      modules: modulesOf(product, modules),
      notifiers: await all<NotifierView>('/notifiers', { product: product.name }),
    })),
  );
  return { views, modules };
}

function nodesOf(
  view: ProductView,
  views: ProductView[],
  modules: Map<string, Module>,
): GraphNode[] {
  const stable = versionsOf(view.product.baseDtab);
  const overlays = view.lanes.map((l) => ({ lane: l.name, versions: versionsOf(l.overlay) }));
  return view.modules.map((name) => ({
    name,
    calls: modules.get(name)?.calls ?? [],
    stable: stable.get(name),
    lanes: overlays.flatMap((o) => {
      const v = o.versions.get(name);
      return v === undefined ? [] : [{ lane: o.lane, version: v }];
    }),
    sharedWith: views
      .filter((other) => other !== view && other.modules.includes(name))
      .map((other) => other.product.name),
  }));
}

export function Products() {
  const { data, error } = useResource(load, []);
  return (
    <section>
      <h1>Products</h1>
      <ErrorNote error={error} />
      {data === null && error === null && <p className="loading">Loading…</p>}
      <div className="products">
        {data?.views.map((view) => (
          <article key={view.product.name} className="card" data-product={view.product.name}>
            <h2>
              {view.product.name} <span className="muted">org {view.product.org}</span>
            </h2>
            <p className="muted">
              {view.product.hosts.join(', ')} · lanes:{' '}
              {view.lanes.length === 0 ? 'none' : view.lanes.map((l) => l.name).join(', ')} · keeps
              the last {view.product.retainTickets} promoted tickets' versions
            </p>
            <div className="graph-wrap">
              <ModuleGraph
                nodes={nodesOf(view, data.views, data.modules)}
                entry={view.product.entry}
              />
            </div>
            <NotifierTable notifiers={view.notifiers} />
          </article>
        ))}
      </div>
    </section>
  );
}
