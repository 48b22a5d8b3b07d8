// Instances: state, health, address and module@version of each; a logs tail per instance,
// fetched when asked for (logs are not streamed, so the panel has a refresh button).

import { useState } from 'react';
import type { ApiError, Instance } from '../api';
import { all, api } from '../api';
import { ErrorNote } from '../components/ErrorNote';
import { HealthBadge } from '../components/InstanceBadge';
import { useResource } from '../useResource';

function Logs({ id, onClose }: { id: string; onClose: () => void }) {
  const [lines, setLines] = useState<string[] | null>(null);
  // In a fleet the lines are the agent's last report, not the log itself: said above them.
  const [from, setFrom] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [tail, setTail] = useState(100);
  const fetchLogs = async () => {
    try {
      const r = await api<{ lines: string[]; from?: string }>(
        `/instances/${encodeURIComponent(id)}/logs`,
        { query: { tail } },
      );
      setLines(r.lines);
      setFrom(r.from ?? null);
      setError(null);
    } catch (e) {
      setError(e as ApiError);
    }
  };
  useResource(fetchLogs, [id, tail], []);
  return (
    <div className="card logs" data-testid="logs">
      <h2>
        Logs of {id}{' '}
        <label className="inline small">
          last{' '}
          <select value={tail} onChange={(e) => setTail(Number(e.target.value))}>
            {[50, 100, 500, 2000].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>{' '}
          lines
        </label>{' '}
        <button type="button" onClick={() => void fetchLogs()}>
          refresh
        </button>{' '}
        <button type="button" onClick={onClose}>
          close
        </button>
      </h2>
      <ErrorNote error={error} />
      {from === null ? null : <p className="small muted">({from})</p>}
      <pre>
        {lines === null ? 'Loading…' : lines.length === 0 ? '(no output yet)' : lines.join('\n')}
      </pre>
    </div>
  );
}

export function Instances() {
  const { data, error } = useResource(() => all<Instance>('/instances'), []);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section>
      <h1>Instances</h1>
      <ErrorNote error={error} />
      <div className="scroll-x">
        <table className="list instances">
          <thead>
            <tr>
              <th>instance</th>
              <th>module@version</th>
              <th>state</th>
              <th>health</th>
              <th>serving</th>
              <th>address</th>
              <th>host</th>
              <th>in flight</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {data?.map((i) => (
              <tr key={i.id} data-instance={i.id}>
                <td className="mono">{i.id}</td>
                <td className="mono">
                  {i.module}@{i.version}
                </td>
                <td>
                  <span className={`badge inst-${i.state}`}>{i.state}</span>
                </td>
                <td>
                  <HealthBadge instance={i} />
                </td>
                <td>{i.serving ? 'yes' : 'no'}</td>
                <td className="mono">{i.address}</td>
                <td>{i.host}</td>
                <td>{i.inFlight ?? '—'}</td>
                <td>
                  <button type="button" onClick={() => setOpen(i.id)}>
                    logs
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {open !== null && <Logs key={open} id={open} onClose={() => setOpen(null)} />}
    </section>
  );
}
