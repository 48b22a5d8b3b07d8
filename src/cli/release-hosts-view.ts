// Per host, where each instance start of a ticket's items is (issue 14): the agent's steps —
// check → download (queued / bytes / verified) → unpack → start → health → routing — and, for a
// failure, the step it failed at, on which host, with the exit code and the last log lines. Pure:
// assignments in, lines out (`release status` adds them under the items).

export interface AssignmentData {
  id: string;
  host: string;
  module: string;
  version: string;
  desired: string;
  artifact?: { sha256: string } | null;
  status: {
    phase: string;
    step?: string | null;
    download?: {
      state: string;
      bytes: number;
      total: number | null;
      position: number | null;
    } | null;
    error: string | null;
    lastExit: { code: number | null; signal: string | null } | null;
    logTail: string[];
    restarts?: number;
  };
}

const MIB = 1024 * 1024;

function size(bytes: number): string {
  return bytes >= MIB ? `${(bytes / MIB).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** What a download is doing, in a few words. */
export function downloadText(d: NonNullable<AssignmentData['status']['download']>): string {
  if (d.state === 'queued')
    return `queued${d.position === null ? '' : ` (#${d.position} in line)`}`;
  const of = d.total === null ? '' : ` of ${size(d.total)}`;
  if (d.state === 'verified') return `verified ${size(d.bytes)}`;
  return `${size(d.bytes)}${of}`;
}

/** One line per assignment (plus a failure's last log lines), for the items in the ticket. */
export function hostStepLines(
  items: readonly { module: string; version: string }[],
  assignments: readonly AssignmentData[],
  instances: readonly { id: string; state: string }[] = [],
): string[] {
  const mine = assignments.filter(
    (a) =>
      a.desired === 'run' && items.some((i) => i.module === a.module && i.version === a.version),
  );
  if (mine.length === 0) return [];
  const lines = ['  hosts'];
  for (const a of [...mine].sort(
    (x, y) => x.host.localeCompare(y.host) || x.id.localeCompare(y.id),
  )) {
    const s = a.status;
    const step = s.step ?? (s.phase === 'running' ? 'start' : '-');
    const what = `${a.module}@${a.version}`;
    let detail = `${s.phase.padEnd(8)} ${step}`;
    if (step === 'download' && s.download != null) detail += ` ${downloadText(s.download)}`;
    // The engine drains, then stops, an instance (an abort, a revert) before its assignment says
    // stop: until then the host still reports it running, and `routing` would read as serving.
    const left = instances.find((i) => i.id === a.id)?.state;
    if (s.phase === 'running' && (left === 'draining' || left === 'stopped'))
      detail = `${s.phase.padEnd(8)} ${left === 'draining' ? 'draining' : 'stopping'}`;
    // A process that exits is restarted by its host's runtime, so a crash loop never reads
    // `failed`: an exit short of routing is shown like a failure, with the restarts so far.
    const exited = s.phase !== 'failed' && s.lastExit !== null && step !== 'routing';
    if (s.phase === 'failed' || exited) {
      const exit =
        s.lastExit === null
          ? ''
          : `, exit ${s.lastExit.code ?? '-'}${s.lastExit.signal === null ? '' : ` ${s.lastExit.signal}`}`;
      const n = s.restarts ?? 0;
      detail = exited
        ? `exited at ${step}${exit}${s.error === null ? '' : `: ${s.error}`}; restarting (${n} ${n === 1 ? 'restart' : 'restarts'} so far)`
        : `failed at ${step}${exit}: ${s.error ?? 'no reason given'}`;
    }
    lines.push(`    ${a.host.padEnd(14)} ${what.padEnd(24)} ${detail}`);
    if (s.phase === 'failed' || exited)
      for (const l of s.logTail.slice(-5)) lines.push(`      | ${l}`);
  }
  return lines;
}
