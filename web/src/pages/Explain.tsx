// The route explainer: a request (host, path, headers, query, client address) in; out, the lane
// the edge assigns it and why (every rule tried), the effective dtab, and the delegation tree
// rule by rule, from POST /v1/explain. Opened from a ticket (`/explain?ticket=<id>`), it starts
// on what the ticket changes: the product's host, a changed module's logical name and the
// ticket's pre-release header, explained at once.

import type { FormEvent } from 'react';
import { useEffect, useState } from 'react';
import type { ApiError, Product, Ticket } from '../api';
import { api } from '../api';
import type { ExplanationNode } from '../components/DelegationTree';
import { DelegationTree } from '../components/DelegationTree';
import { ErrorNote } from '../components/ErrorNote';
import { parseHeaders } from '../headers-text';
import { Link, useLocation } from '../router';

interface RuleExplanation {
  index: number;
  lane: string;
  rule: string;
  matched: boolean;
  wouldMatch?: boolean;
  reason: string;
}
interface LaneExplanation {
  lane: string | null;
  reason: string;
  rules: RuleExplanation[];
  known?: boolean;
}
interface Delegation {
  name?: string;
  module?: string;
  dtab?: string[];
  explanation?: ExplanationNode;
  tree?: ExplanationNode;
  result?: {
    state: string;
    tree?: string;
    addresses?: string[] | null;
    error?: { message: string };
  };
}
type Answer = Delegation & { product?: string; lane?: LaneExplanation; delegations?: Delegation[] };

function DelegationView({ d }: { d: Delegation }) {
  const tree = d.explanation ?? d.tree;
  return (
    <div className="card">
      <h2>Delegation {d.name ?? (d.module !== undefined ? `/svc/${d.module}` : '')}</h2>
      {d.dtab !== undefined && (
        <ol className="dtab mono">
          {d.dtab.map((rule) => (
            <li key={rule}>{rule}</li>
          ))}
        </ol>
      )}
      {tree !== undefined && <DelegationTree node={tree} />}
      {d.result !== undefined && (
        <p>
          result <b>{d.result.state}</b>{' '}
          {d.result.tree !== undefined && <code>{d.result.tree}</code>}{' '}
          {d.result.addresses != null && (
            <span className="muted">addresses {d.result.addresses.join(', ') || '(none)'}</span>
          )}
          {d.result.error !== undefined && (
            <span className="error-text">{d.result.error.message}</span>
          )}
        </p>
      )}
    </div>
  );
}

/** What a ticket changes, as the explainer's starting request. */
export interface TicketStart {
  ticket: Ticket;
  host: string;
  name: string;
  headers: string;
}

async function ticketStart(id: number): Promise<TicketStart> {
  const ticket = await api<Ticket>(`/tickets/${id}`);
  const product = await api<Product>(`/products/${encodeURIComponent(ticket.product)}`);
  // A module the ticket changes, the entry last: the entry is what the edge explains anyway.
  const items = [...ticket.items].sort(
    (a, b) => Number(a.module === product.entry) - Number(b.module === product.entry),
  );
  const header = `${ticket.plan.prereleaseHeader ?? 'x-prerelease'}: ${ticket.prereleaseSecret}`;
  return {
    ticket,
    host: product.hosts[0] ?? `${product.name}.localhost`,
    name: items[0] === undefined ? '' : `/svc/${items[0].module}`,
    headers: `x-user-id: u1\n${header}`,
  };
}

export function Explain() {
  const { query: location } = useLocation();
  const fromTicket = location.get('ticket');
  const [start, setStart] = useState<TicketStart | null>(null);
  const [host, setHost] = useState('shop.localhost');
  const [path, setPath] = useState('/');
  const [headers, setHeaders] = useState('x-user-id: u1');
  const [query, setQueryText] = useState('');
  const [clientIp, setClientIp] = useState('');
  const [name, setName] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const explain = async (
    asked: { host: string; headers: string; name: string } = { host, headers, name },
  ) => {
    try {
      const body = {
        host: asked.host,
        path,
        headers: parseHeaders(asked.headers),
        ...(query !== '' ? { query } : {}),
        ...(clientIp !== '' ? { clientIp } : {}),
        ...(asked.name !== '' ? { name: asked.name } : {}),
      };
      setAnswer(await api<Answer>('/explain', { method: 'POST', body }));
      setError(null);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void explain();
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per ticket asked for
  useEffect(() => {
    if (fromTicket === null || !/^\d+$/.test(fromTicket)) return;
    ticketStart(Number(fromTicket)).then(
      (s) => {
        setStart(s);
        setHost(s.host);
        setName(s.name);
        setHeaders(s.headers);
        void explain(s);
      },
      (err: ApiError) => setError(err),
    );
  }, [fromTicket]);
  const lane = answer?.lane;
  const delegations =
    answer?.delegations ??
    (answer?.explanation !== undefined || answer?.tree !== undefined ? [answer] : []);
  return (
    <section>
      <h1>Route explainer</h1>
      {start !== null && (
        <p className="muted" data-testid="explain-ticket">
          From <Link to={`/tickets/${start.ticket.id}`}>ticket {start.ticket.id}</Link>: it changes{' '}
          {start.ticket.items.map((i) => `${i.module}@${i.version}`).join(', ')}
          {start.ticket.items.length > 1 && (
            <>
              {' '}
              · explain{' '}
              {start.ticket.items.map((i) => (
                <button
                  key={i.module}
                  type="button"
                  className="link"
                  onClick={() => {
                    setName(`/svc/${i.module}`);
                    void explain({ host, headers, name: `/svc/${i.module}` });
                  }}
                >
                  {i.module}
                </button>
              ))}
            </>
          )}
        </p>
      )}
      <form className="card explain-form" onSubmit={submit}>
        <label>
          host <input value={host} onChange={(e) => setHost(e.target.value)} />
        </label>
        <label>
          path <input value={path} onChange={(e) => setPath(e.target.value)} />
        </label>
        <label>
          query{' '}
          <input
            value={query}
            onChange={(e) => setQueryText(e.target.value)}
            placeholder="a=1&b=2"
          />
        </label>
        <label>
          client IP{' '}
          <input
            value={clientIp}
            onChange={(e) => setClientIp(e.target.value)}
            placeholder="127.0.0.1"
          />
        </label>
        <label>
          logical name{' '}
          <input
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="the entry; or /svc/orders"
          />
        </label>
        <label className="wide">
          <span>
            headers, one <code>Name: value</code> a line
          </span>
          <textarea rows={4} value={headers} onChange={(e) => setHeaders(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          Explain
        </button>
      </form>
      <ErrorNote error={error} />
      {lane !== undefined && (
        <div className="card" data-testid="lane-assignment">
          <h2>
            Lane: {lane.lane ?? 'stable'}{' '}
            {answer?.product !== undefined && (
              <span className="muted">product {answer.product}</span>
            )}
          </h2>
          <p>
            {lane.reason}
            {lane.known === false ? ' (no such lane: routed on stable)' : ''}
          </p>
          {lane.rules.length === 0 ? (
            <p className="muted">The product has no lane rules.</p>
          ) : (
            <table className="list compact">
              <thead>
                <tr>
                  <th>#</th>
                  <th>lane</th>
                  <th>rule</th>
                  <th>matched</th>
                  <th>why</th>
                </tr>
              </thead>
              <tbody>
                {lane.rules.map((r) => (
                  <tr key={r.index} className={r.matched ? 'matched' : undefined}>
                    <td>{r.index}</td>
                    <td>{r.lane}</td>
                    <td className="mono">{r.rule}</td>
                    <td>{r.matched ? '✔ matched' : r.wouldMatch ? '(would match)' : '—'}</td>
                    <td className="muted">{r.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      {delegations.map((d) => (
        <DelegationView key={d.name ?? d.module ?? 'request'} d={d} />
      ))}
      {answer !== null && (
        <details>
          <summary>raw answer</summary>
          <pre>{JSON.stringify(answer, null, 2)}</pre>
        </details>
      )}
    </section>
  );
}
