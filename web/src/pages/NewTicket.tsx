// A new ticket from the catalog: pick a product, then for each module it uses the version to
// release (pickers list the catalog's versions; "stable" leaves the module out), and optionally the
// replicas and the strategy. Created behind a confirmation that says nothing runs yet; the API's
// refusal is shown as it words it (field and reason).

import '../drive.css';
import { useState } from 'react';
import type { ApiError, Item, Module, Product, Ticket, Version } from '../api';
import { all, api } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { ErrorNote } from '../components/ErrorNote';
import { versionsOf } from '../dtab';
import { Link, navigate, useLocation } from '../router';
import { releaseRefusal, useSession } from '../session';
import { useResource } from '../useResource';
import { modulesOf } from './Products';

interface ModuleChoice {
  module: string;
  stable: string | undefined;
  versions: string[];
}

interface Catalog {
  products: Product[];
  modules: Map<string, Module>;
}

async function loadCatalog(): Promise<Catalog> {
  const [products, modules] = await Promise.all([
    all<Product>('/products'),
    all<Module>('/modules'),
  ]);
  return { products, modules: new Map(modules.map((m) => [m.name, m])) };
}

async function loadChoices(catalog: Catalog, product: string): Promise<ModuleChoice[]> {
  const p = catalog.products.find((x) => x.name === product);
  if (p === undefined) return [];
  const stable = versionsOf(p.baseDtab);
  return Promise.all(
    modulesOf(p, catalog.modules)
      .sort()
      .map(async (module) => ({
        module,
        stable: stable.get(module),
        versions: (await all<Version>(`/modules/${encodeURIComponent(module)}/versions`)).map(
          (v) => v.version,
        ),
      })),
  );
}

/** The plan fields the form sets; an empty one is left to the API's (safe) default. */
export function planOf(replicas: string, strategy: string): Record<string, unknown> | undefined {
  const plan: Record<string, unknown> = {};
  if (replicas.trim() !== '') plan.replicas = Number(replicas);
  if (strategy !== '') plan.strategy = strategy;
  return Object.keys(plan).length === 0 ? undefined : plan;
}

function VersionPicker(props: {
  choice: ModuleChoice;
  value: string;
  onChange: (version: string) => void;
}) {
  const { choice } = props;
  return (
    <tr data-module={choice.module}>
      <td className="mono">{choice.module}</td>
      <td>
        <select
          aria-label={`version of ${choice.module}`}
          value={props.value}
          onChange={(e) => props.onChange(e.target.value)}
        >
          <option value="">unchanged (stable {choice.stable ?? 'none'})</option>
          {choice.versions.map((v) => (
            <option key={v} value={v}>
              {v}
              {v === choice.stable ? ' (stable)' : ''}
            </option>
          ))}
        </select>
      </td>
    </tr>
  );
}

export function NewTicket() {
  const { query } = useLocation();
  const refusal = releaseRefusal(useSession().who);
  const catalog = useResource(loadCatalog, []);
  const firstProduct = catalog.data?.products[0]?.name ?? '';
  const [picked, setPicked] = useState<string | null>(query.get('product'));
  const product = picked ?? firstProduct;
  const choices = useResource(
    async () => (catalog.data === null ? null : loadChoices(catalog.data, product)),
    [product, catalog.data === null],
  );
  const [versions, setVersions] = useState<Record<string, string>>({});
  const [replicas, setReplicas] = useState('');
  const [strategy, setStrategy] = useState('');
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const items: Item[] = (choices.data ?? [])
    .filter((c) => (versions[c.module] ?? '') !== '')
    .map((c) => ({ module: c.module, version: versions[c.module]! }));

  const create = async () => {
    setBusy(true);
    setError(null);
    try {
      const plan = planOf(replicas, strategy);
      const t = await api<Ticket>('/tickets', {
        method: 'POST',
        body: { product, items, ...(plan === undefined ? {} : { plan }) },
      });
      navigate(`/tickets/${t.id}`);
    } catch (e) {
      setError(e as ApiError);
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <p>
        <Link to={`/tickets${product === '' ? '' : `?product=${encodeURIComponent(product)}`}`}>
          ← tickets
        </Link>
      </p>
      <h1>New ticket</h1>
      <ErrorNote error={catalog.error ?? choices.error} />
      <form
        className="new-ticket card"
        onSubmit={(e) => {
          e.preventDefault();
          setConfirming(true);
        }}
      >
        <label className="inline">
          Product{' '}
          <select
            aria-label="product"
            value={product}
            onChange={(e) => {
              setPicked(e.target.value);
              setVersions({});
            }}
          >
            {catalog.data?.products.map((p) => (
              <option key={p.name} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <fieldset>
          <legend>Versions to release</legend>
          {choices.data === null && <p className="loading">Loading…</p>}
          <table>
            <tbody>
              {choices.data?.map((c) => (
                <VersionPicker
                  key={c.module}
                  choice={c}
                  value={versions[c.module] ?? ''}
                  onChange={(v) => {
                    setVersions({ ...versions, [c.module]: v });
                    setError(null); // a refusal was about the picks before this one
                  }}
                />
              ))}
            </tbody>
          </table>
        </fieldset>
        <fieldset>
          <legend>Plan (empty: the defaults)</legend>
          <label className="inline">
            replicas{' '}
            <input
              aria-label="replicas"
              value={replicas}
              onChange={(e) => setReplicas(e.target.value)}
              size={4}
              placeholder="1"
            />
          </label>
          <label className="inline">
            strategy{' '}
            <select
              aria-label="strategy"
              value={strategy}
              onChange={(e) => setStrategy(e.target.value)}
            >
              <option value="">blue-green (default)</option>
              <option value="rolling">rolling</option>
            </select>
          </label>
        </fieldset>
        <span className="tip" title={refusal ?? undefined}>
          <button
            type="submit"
            className="primary"
            disabled={refusal !== null || busy || product === ''}
            data-testid="create-ticket"
          >
            create ticket
          </button>
        </span>
        {refusal !== null && <p className="muted small">{refusal}</p>}
        <ErrorNote error={error} />
      </form>
      {confirming && (
        <ConfirmDialog
          title={`create a ticket for ${product}?`}
          confirmLabel="Yes, create"
          busy={busy}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void create()}
        >
          {items.length === 0
            ? `No version is picked: the API will refuse a ticket without items.`
            : `Creates a ticket for ${product} with ${items.map((i) => `${i.module}@${i.version}`).join(', ')}. Nothing starts yet: deploy, pre-release or canary it from its page.`}
        </ConfirmDialog>
      )}
    </section>
  );
}
