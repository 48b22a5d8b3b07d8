// "Try it" (source 001's service test): one request to the product through a lane — method, path,
// headers, body — sent by the control plane through the real edge with a short-lived signed
// override (POST /v1/products/:p/try), then the answer and which version of each module served it
// along the chain. Releasers only: viewers see the form disabled, with the reason.

import type { FormEvent } from 'react';
import { useState } from 'react';
import type { ApiError } from '../api';
import { api } from '../api';
import { parseHeaders } from '../headers-text';
import { releaseRefusal, useSession } from '../session';
import { ErrorNote } from './ErrorNote';

export interface TryAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyTruncated: boolean;
  durationMs: number;
  routed: Record<string, string>;
  served: Record<string, string>;
  servedLane: string | null;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

function Served({ answer }: { answer: TryAnswer }) {
  const modules = Object.keys(answer.served).sort();
  if (modules.length === 0)
    return (
      <p className="muted">
        The answer does not say which versions served it (only services that report it do).
      </p>
    );
  return (
    <table className="list compact" data-testid="try-served">
      <thead>
        <tr>
          <th>module</th>
          <th>served by</th>
          <th>the lane sends it to</th>
        </tr>
      </thead>
      <tbody>
        {modules.map((m) => (
          <tr key={m} data-module={m}>
            <td>{m}</td>
            <td className="mono">{answer.served[m]}</td>
            <td className="muted">{answer.routed[m] ?? 'stable'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function TryIt({ product, lane }: { product: string; lane: string }) {
  const { who } = useSession();
  const refusal = releaseRefusal(who);
  const [method, setMethod] = useState<(typeof METHODS)[number]>('GET');
  const [path, setPath] = useState('/');
  const [headers, setHeaders] = useState('');
  const [body, setBody] = useState('');
  const [answer, setAnswer] = useState<TryAnswer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [sending, setSending] = useState(false);
  const send = async (e: FormEvent) => {
    e.preventDefault();
    setSending(true);
    try {
      const withBody = method !== 'GET' && method !== 'HEAD' && body !== '';
      setAnswer(
        await api<TryAnswer>(`/products/${encodeURIComponent(product)}/try`, {
          method: 'POST',
          body: {
            lane,
            method,
            path,
            headers: parseHeaders(headers),
            ...(withBody ? { body } : {}),
          },
        }),
      );
      setError(null);
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setSending(false);
    }
  };
  return (
    <div className="try-it" data-testid="try-it">
      <p className="muted small">
        Sends one request to {product} through lane {lane}, from the control plane through the edge
        with a short-lived signed override (not the secret header). Audited.
      </p>
      <form className="explain-form" onSubmit={(e) => void send(e)}>
        <label>
          method
          <select
            aria-label="try method"
            value={method}
            onChange={(e) => setMethod(e.target.value as (typeof METHODS)[number])}
          >
            {METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          path{' '}
          <input aria-label="try path" value={path} onChange={(e) => setPath(e.target.value)} />
        </label>
        <label className="wide">
          <span>
            headers, one <code>Name: value</code> a line
          </span>
          <textarea
            aria-label="try headers"
            rows={2}
            value={headers}
            onChange={(e) => setHeaders(e.target.value)}
          />
        </label>
        {method !== 'GET' && method !== 'HEAD' && (
          <label className="wide">
            body
            <textarea
              aria-label="try body"
              rows={3}
              value={body}
              onChange={(e) => setBody(e.target.value)}
            />
          </label>
        )}
        <span className="tip" title={refusal ?? ''}>
          <button
            type="submit"
            className="primary"
            data-action="try"
            disabled={refusal !== null || sending}
          >
            {sending ? 'Sending…' : 'Send'}
          </button>
        </span>
      </form>
      <ErrorNote error={error} />
      {answer !== null && (
        <div data-testid="try-answer" data-status={answer.status}>
          <p>
            <b>HTTP {answer.status}</b> in {answer.durationMs} ms
            {answer.servedLane !== null && (
              <span className="muted"> · the entry saw lane {answer.servedLane}</span>
            )}
          </p>
          <Served answer={answer} />
          <details>
            <summary>headers</summary>
            <pre>
              {Object.entries(answer.headers)
                .map(([k, v]) => `${k}: ${v}`)
                .join('\n')}
            </pre>
          </details>
          <pre className="try-body">
            {answer.body}
            {answer.bodyTruncated ? '\n… (cut at 256 KiB)' : ''}
          </pre>
        </div>
      )}
    </div>
  );
}
