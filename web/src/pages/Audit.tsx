// The audit log, newest first: who did what to which target, when. Both filters (exact target,
// exact actor) are the API's. Paging follows the API's cursors.

import { useState } from 'react';
import type { AuditEntry, Page } from '../api';
import { api } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { setQuery, useLocation } from '../router';
import { useResource } from '../useResource';

const PAGE = 50;

const short = (v: unknown) => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s === undefined ? '—' : s.length > 40 ? `${s.slice(0, 39)}…` : s;
};

/** The top-level fields an entry changed, e.g. `state: canary → promoted`. */
export function summary(entry: AuditEntry): string {
  const before = (entry.before ?? {}) as Record<string, unknown>;
  const after = (entry.after ?? {}) as Record<string, unknown>;
  if (entry.before == null) return 'created';
  if (entry.after == null) return 'deleted';
  const changed = Object.keys({ ...before, ...after }).filter(
    (k) => k !== 'updatedAt' && JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
  return changed
    .map((k) =>
      typeof after[k] === 'object' && after[k] !== null
        ? k
        : `${k}: ${short(before[k])} → ${short(after[k])}`,
    )
    .join(', ');
}

function Change({ entry }: { entry: AuditEntry }) {
  const [open, setOpen] = useState(false);
  if (!open)
    return (
      <span className="summary">
        {summary(entry)}{' '}
        <button type="button" className="link" onClick={() => setOpen(true)}>
          details
        </button>
      </span>
    );
  return (
    <pre className="change">
      {JSON.stringify({ before: entry.before, after: entry.after }, null, 2)}
    </pre>
  );
}

export function Audit() {
  const { query } = useLocation();
  const target = query.get('target') ?? '';
  const actor = query.get('actor') ?? '';
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors[cursors.length - 1];
  const { data, error } = useResource(
    () =>
      api<Page<AuditEntry>>('/audit', {
        query: { target, actor, newestFirst: true, limit: PAGE, cursor },
      }),
    [target, actor, cursor],
  );
  const filter = (next: { target?: string; actor?: string }) => {
    setCursors([undefined]);
    setQuery({ target, actor, ...next });
  };
  const shown = data?.items ?? [];
  return (
    <section>
      <h1>Audit log</h1>
      <div className="filters">
        <label className="inline">
          target{' '}
          <input
            value={target}
            placeholder="ticket/3, product/shop…"
            onChange={(e) => filter({ target: e.target.value })}
          />
        </label>
        <label className="inline">
          actor{' '}
          <input
            value={actor}
            placeholder="engine, local…"
            onChange={(e) => filter({ actor: e.target.value })}
          />
        </label>
      </div>
      <ErrorNote error={error} />
      <div className="scroll-x">
        <table className="list audit">
          <thead>
            <tr>
              <th>when</th>
              <th>actor</th>
              <th>action</th>
              <th>target</th>
              <th>change</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e) => (
              <tr key={e.id}>
                <td className="muted">{new Date(e.at).toLocaleString()}</td>
                <td>{e.actor}</td>
                <td className="mono">{e.action}</td>
                <td className="mono">
                  <button
                    type="button"
                    className="link"
                    onClick={() => filter({ target: e.target })}
                  >
                    {e.target}
                  </button>
                </td>
                <td>
                  <Change entry={e} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data !== null && shown.length === 0 && (
        <p className="muted">Nothing on this page matches.</p>
      )}
      <div className="pager">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          ← newer
        </button>
        <span className="muted">page {cursors.length}</span>
        <button
          type="button"
          disabled={data?.nextCursor == null}
          onClick={() => setCursors([...cursors, data!.nextCursor!])}
        >
          older →
        </button>
      </div>
    </section>
  );
}
