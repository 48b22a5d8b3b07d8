// Is pid N still the process we started? A pid alone is not enough (the kernel reuses them), so we
// also compare the process start time, field 22 of /proc/<pid>/stat (clock ticks since boot), which
// stays the same for the life of a process and through exec. Linux only: elsewhere nothing matches,
// so nothing is adopted (never the wrong process).

import { readFileSync } from 'node:fs';

export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), … */
  readonly state: string;
  /** Clock ticks after boot when the process started. */
  readonly startTime: number;
}

/** Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and parentheses, so the
 * fields are counted from the last ')'. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close === -1) return null;
  const fields = text.slice(close + 2).split(' '); // fields[0] is field 3 (state)
  const state = fields[0];
  const startTime = Number(fields[22 - 3]);
  if (state === undefined || state === '' || !Number.isSafeInteger(startTime)) return null;
  return { state, startTime };
}

export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null; // gone, or no /proc
  }
}

/** Running (a zombie has finished) and started when the record says. */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.state !== 'Z' && stat.state !== 'X' && stat.startTime === startTime;
}
