// Live traffic of a product per module: requests/s, error rate and p50/p99 latency per version
// and lane (one uPlot series each), and each module's canary share (lane requests over all).
// Refetches on every `traffic` event (once a second while proxies report).

import type { Series, Summary, Traffic as TrafficAnswer, TrafficKey } from '../api';
import { api } from '../api';
import type { ChartPoint } from '../chart-data';
import { alignSeries } from '../chart-data';
import type { ChartSeries } from '../components/Chart';
import { Chart } from '../components/Chart';
import { ErrorNote } from '../components/ErrorNote';
import { ProductPicker, useProduct } from '../components/ProductPicker';
import { useResource } from '../useResource';

interface KeyView {
  key: TrafficKey;
  summary: Summary;
  series: Series;
}

// No product: every product's traffic (the API's empty filter matches everything).
async function load(product: string | null): Promise<KeyView[]> {
  const t = await api<TrafficAnswer>('/traffic', { query: { product: product ?? undefined } });
  return Promise.all(
    t.keys.map(async ({ key, summary }) => ({
      key,
      summary,
      series: await api<Series>('/traffic/series', { query: { ...key } }),
    })),
  );
}

const label = (k: TrafficKey) => `${k.version} ${k.lane}`;

function ModuleTraffic({
  module,
  product,
  keys,
}: {
  module: string;
  product: string | null;
  keys: KeyView[];
}) {
  // The last bucket is the second still running: leave it out rather than draw a false drop.
  const points = keys.map((k) => k.series.points);
  const { x } = alignSeries(points, () => null);
  const pick = (f: (p: ChartPoint) => number | null): ChartSeries[] => {
    const { values } = alignSeries(points, f);
    return keys.map((k, i) => ({ label: label(k.key), values: values[i] ?? [] }));
  };
  const latency: ChartSeries[] = (['p50Ms', 'p99Ms'] as const).flatMap((q) =>
    pick((p) => p[q]).map((s) => ({ ...s, label: `${s.label} ${q.slice(0, 3)}` })),
  );
  const total = keys.reduce((n, k) => n + k.summary.requests, 0);
  const inLanes = keys
    .filter((k) => k.key.lane !== 'stable')
    .reduce((n, k) => n + k.summary.requests, 0);
  return (
    <article className="card" data-module={module} data-product={product ?? undefined}>
      <h2>
        {product === null ? '' : `${product} · `}
        {module}{' '}
        <span className="muted small" data-testid={`share-${module}`}>
          lane share (60 s): {total === 0 ? '—' : `${((inLanes / total) * 100).toFixed(1)} %`} of{' '}
          {total} requests
        </span>
      </h2>
      <table className="list compact">
        <thead>
          <tr>
            <th>version</th>
            <th>lane</th>
            <th>req/s</th>
            <th>errors</th>
            <th>p50</th>
            <th>p99</th>
            <th>share</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={label(k.key)}>
              <td className="mono">{k.key.version}</td>
              <td>{k.key.lane}</td>
              <td>{k.summary.rps.toFixed(1)}</td>
              <td>{(k.summary.errorRate * 100).toFixed(1)} %</td>
              <td>{k.summary.p50Ms === null ? '—' : `${k.summary.p50Ms.toFixed(1)} ms`}</td>
              <td>{k.summary.p99Ms === null ? '—' : `${k.summary.p99Ms.toFixed(1)} ms`}</td>
              <td>{total === 0 ? '—' : `${((k.summary.requests / total) * 100).toFixed(1)} %`}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="charts">
        <Chart title="requests/s" unit="" x={x} series={pick((p) => p.rps)} />
        <Chart
          title="error rate"
          unit="%"
          x={x}
          series={pick((p) => (p.requests === 0 ? null : p.errorRate * 100))}
        />
        <Chart title="latency p50 / p99" unit="ms" x={x} series={latency} />
      </div>
    </article>
  );
}

export function Traffic() {
  const { product, products } = useProduct();
  const { data, error } = useResource(() => load(product), [product], ['traffic', 'change']);
  // One card per product and module (a module shared by two products has a card in each).
  const cards = [...new Set((data ?? []).map((k) => `${k.key.product}/${k.key.module}`))].sort();
  return (
    <section>
      <h1>Traffic</h1>
      <ProductPicker product={product} products={products} />
      <ErrorNote error={error} />
      {data !== null && cards.length === 0 && (
        <p className="muted">
          No traffic{product === null ? '' : ` for ${product}`} in the last minute.
        </p>
      )}
      <div className="traffic">
        {cards.map((card) => (
          <ModuleTraffic
            key={card}
            module={card.slice(card.indexOf('/') + 1)}
            product={product === null ? card.slice(0, card.indexOf('/')) : null}
            keys={data!
              .filter((k) => `${k.key.product}/${k.key.module}` === card)
              .sort((a, b) => label(a.key).localeCompare(label(b.key)))}
          />
        ))}
      </div>
    </section>
  );
}
