// One `turnout up` per data directory: `<data>/up.pid` names the run that holds it (pid and /proc
// start time). Two runs would drive two release engines over one SQLite file and one instances dir
// and fight over the proxy's ports. A run killed with SIGKILL leaves the file behind; the next run
// sees that its process is gone (or the pid now belongs to another) and takes the lock over.

import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TurnoutError } from '../errors.js';
import { isSameProcess, readProcStat } from '../runtime/process-identity.js';

export const LOCK_FILE = 'up.pid';

interface Holder {
  readonly pid: number;
  /** /proc start time; 0 where there is no /proc (then a live pid is enough). */
  readonly processStart: number;
}

export interface UpLock {
  readonly path: string;
  /** Removes the file, if it is still ours. */
  release(): void;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
}

function parseHolder(text: string): Holder | null {
  try {
    const { pid, processStart } = JSON.parse(text) as Partial<Holder>;
    if (!Number.isSafeInteger(pid) || (pid as number) <= 0) return null;
    if (!Number.isSafeInteger(processStart)) return null;
    return { pid: pid as number, processStart: processStart as number };
  } catch {
    return null; // not ours to read: treated as stale
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

function isAlive(holder: Holder): boolean {
  return holder.processStart > 0
    ? isSameProcess(holder.pid, holder.processStart)
    : pidAlive(holder.pid);
}

/**
 * Takes `<dataDir>/up.pid` or throws `conflict` naming the live run that holds it; `who` names the
 * command in that message (`turnout server` locks its data dir the same way).
 */
export function lockDataDir(dataDir: string, who = 'turnout up'): UpLock {
  const path = join(dataDir, LOCK_FILE);
  const mine = `${JSON.stringify({
    pid: process.pid,
    processStart: readProcStat(process.pid)?.startTime ?? 0,
    startedAt: new Date().toISOString(),
  })}\n`;
  // link() of a complete temporary file: the lock appears whole or not at all, and only once.
  for (let attempt = 0; attempt < 5; attempt++) {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, mine, { mode: 0o600 });
    try {
      linkSync(temporary, path);
      return {
        path,
        release: () => {
          if (readText(path) === mine) rmSync(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    } finally {
      rmSync(temporary, { force: true });
    }
    const text = readText(path);
    if (text === null) continue; // released meanwhile
    const holder = parseHolder(text);
    if (holder !== null && isAlive(holder)) {
      throw new TurnoutError(
        'conflict',
        `another ${who} (pid ${holder.pid}) is running on data dir ${dataDir}; stop it first, or use another --data`,
        '--data',
      );
    }
    // Stale: remove it, unless another run replaced it since we read it.
    if (readText(path) === text) rmSync(path, { force: true });
  }
  throw new TurnoutError(
    'conflict',
    `could not lock data dir ${dataDir} (${path} keeps changing: another ${who} starting?)`,
    '--data',
  );
}
