// Per host, where each instance start of the ticket's items is (issue 14): check → download
// (queued with its place in line / bytes of the total / verified) → unpack → start → health →
// routing, and a failure's step, exit code, reason and last log lines. Agents' reports are not
// counted as changes (they are frequent), so this polls while any start is under way. A process
// that exits is restarted by its host's runtime, so a crash loop never reads `failed`: it stays
// `running` short of routing with the last exit and log lines, shown like a failure.

import { useEffect, useState } from 'react';
import type { Ticket } from '../api';
import { api } from '../api';

interface Download {
  state: 'queued' | 'downloading' | 'verified';
  bytes: number;
  total: number | null;
  position: number | null;
}

interface HostAssignment {
  id: string;
  host: string;
  module: string;
  version: string;
  desired: string;
  status: {
    phase: string;
    step?: string | null;
    download?: Download | null;
    restarts?: number;
    error: string | null;
    lastExit: { code: number | null; signal: string | null } | null;
    logTail: string[];
  };
}

const STEPS = ['check', 'download', 'unpack', 'start', 'health', 'routing'];
const POLL_MS = 1000;
const ERROR_RETRY_MS = 5000;

function size(bytes: number): string {
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${Math.ceil(bytes / 1024)} KiB`;
}

function downloadText(d: Download): string {
  if (d.state === 'queued')
    return `queued${d.position === null ? '' : ` (#${d.position} in line)`}`;
  if (d.state === 'verified') return `verified ${size(d.bytes)}`;
  return `${size(d.bytes)}${d.total === null ? '' : ` of ${size(d.total)}`}`;
}

/** A step chip: done (before the current one), current (failed: in the danger colour), or to come. */
function stepClass(name: string, current: string, bad: boolean): string {
  if (name === current) return bad ? 'step current failed' : 'step current';
  return STEPS.indexOf(name) < STEPS.indexOf(current) ? 'step done' : 'step';
}

/** Failed, or exited short of routing (restarting: a crash loop). */
function trouble(a: HostAssignment): boolean {
  const s = a.status;
  return s.phase === 'failed' || (s.lastExit !== null && s.step !== 'routing');
}

function exitText(e: NonNullable<HostAssignment['status']['lastExit']>): string {
  return `exit ${e.code ?? '—'}${e.signal === null ? '' : ` ${e.signal}`}`;
}

/** At which step, on which host, the exit code, the reason and the instance's last log lines. */
function Trouble({ a, step }: { a: HostAssignment; step: string }) {
  const s = a.status;
  const what = s.phase === 'failed' ? 'failed' : 'exited';
  const exit = s.lastExit === null ? '' : `, ${exitText(s.lastExit)}`;
  const n = s.restarts ?? 0;
  const restarts =
    s.phase === 'failed' ? '' : `; restarting (${n} ${n === 1 ? 'restart' : 'restarts'} so far)`;
  return (
    <div className="error" role="alert" data-testid="host-failure">
      {what} at {step} on {a.host}
      {exit}
      {s.error === null ? '' : `: ${s.error}`}
      {restarts}
      {s.logTail.length > 0 && <pre>{s.logTail.slice(-5).join('\n')}</pre>}
    </div>
  );
}

async function load(ticket: Ticket): Promise<HostAssignment[]> {
  const lists = await Promise.all(
    ticket.items.map((i) =>
      api<{ assignments: HostAssignment[] }>(
        `/assignments?module=${encodeURIComponent(i.module)}&version=${encodeURIComponent(i.version)}`,
      ).then((r) => r.assignments),
    ),
  );
  return lists.flat().filter((a) => a.desired === 'run');
}

export function HostSteps({ ticket }: { ticket: Ticket }) {
  const [rows, setRows] = useState<HostAssignment[] | null>(null);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const next = await load(ticket).catch(() => null);
      if (stop) return;
      // A failed read (the server restarting, a 503) is tried again, more slowly: giving up
      // would freeze the steps where they were.
      if (next === null) timer = setTimeout(tick, ERROR_RETRY_MS);
      else {
        setRows(next);
        if (next.some((a) => a.status.step !== 'routing')) timer = setTimeout(tick, POLL_MS);
      }
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [ticket]);
  if (rows === null || rows.length === 0) return null;
  return (
    <table className="list host-steps" data-testid="host-steps">
      <thead>
        <tr>
          <th>host</th>
          <th>version</th>
          <th>step</th>
        </tr>
      </thead>
      <tbody>
        {[...rows]
          .sort((a, b) => a.host.localeCompare(b.host) || a.id.localeCompare(b.id))
          .map((a) => {
            const s = a.status;
            const step = s.step ?? '—';
            const bad = trouble(a);
            return (
              <tr key={a.id} data-host={a.host} data-step={step} data-phase={s.phase}>
                <td className="mono">{a.host}</td>
                <td className="mono">
                  {a.module}@{a.version}
                </td>
                <td>
                  <span className="steps">
                    {STEPS.map((name) => (
                      <span key={name} className={stepClass(name, step, bad)}>
                        {name}
                      </span>
                    ))}
                  </span>
                  {step === 'download' && s.download != null && (
                    <div className="muted small">{downloadText(s.download)}</div>
                  )}
                  {bad && <Trouble a={a} step={step} />}
                </td>
              </tr>
            );
          })}
      </tbody>
    </table>
  );
}
