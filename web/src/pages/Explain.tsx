// The route explainer: a request (host, path, headers, query, client address) in; out, the lane
// the edge assigns it and why (every rule tried), the effective dtab, and the delegation tree
// rule by rule, from POST /v1/explain.

import type { FormEvent } from 'react';
import { useState } from 'react';
import type { ApiError } from '../api';
import { api } from '../api';
import type { ExplanationNode } from '../components/DelegationTree';
import { DelegationTree } from '../components/DelegationTree';
import { ErrorNote } from '../components/ErrorNote';

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

/** `Name: value` lines into a header object (repeats joined as HTTP does). */
export function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    out[name] = out[name] === undefined ? value : `${out[name]}, ${value}`;
  }
  return out;
}

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

export function Explain() {
  const [host, setHost] = useState('shop.localhost');
  const [path, setPath] = useState('/');
  const [headers, setHeaders] = useState('x-user-id: u1');
  const [query, setQueryText] = useState('');
  const [clientIp, setClientIp] = useState('');
  const [name, setName] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const body = {
        host,
        path,
        headers: parseHeaders(headers),
        ...(query !== '' ? { query } : {}),
        ...(clientIp !== '' ? { clientIp } : {}),
        ...(name !== '' ? { name } : {}),
      };
      setAnswer(await api<Answer>('/explain', { method: 'POST', body }));
      setError(null);
    } catch (err) {
      setError(err as ApiError);
    }
  };
  const lane = answer?.lane;
  const delegations =
    answer?.delegations ??
    (answer?.explanation !== undefined || answer?.tree !== undefined ? [answer] : []);
  return (
    <section>
      <h1>Route explainer</h1>
      <form className="card explain-form" onSubmit={(e) => void submit(e)}>
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
