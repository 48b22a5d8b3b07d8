// The first start of `up`'s proxy: wait until it says it listens, so that a proxy that cannot start
// (a port taken, an address not of this machine) fails `up` with the proxy's own message — which
// names the flag, the same in `up` as in `turnout proxy` — instead of being restarted in a loop.

import { open, stat } from 'node:fs/promises';
import { TurnoutError } from '../errors.js';
import type { Exit } from '../runtime/process-handle.js';

/** What `turnout proxy` writes to stderr once its listeners are up (src/cli/proxy-command.ts). */
const LISTENING = 'turnout proxy: outbound ';
/** How often the proxy's log is read while waiting; the log is a file, not a stream we hold. */
const POLL_MS = 50;
/** A proxy that neither listens nor exits within this is left to the supervisor (logged there). */
const BOUND_MS = 60_000;

/** The log's size now: what the proxy about to start writes comes after it. */
export async function logOffset(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * Resolves once the proxy's log, from `from` on, says it listens; throws a TurnoutError with the
 * proxy's own `turnout: …` line when it exits first with exit code 2 (bad input, e.g. a taken
 * port). Another early exit, or no word within the bound, resolves: the supervisor restarts it.
 */
export async function untilListening(exited: Promise<Exit>, log: string, from: number) {
  let exit: Exit | null = null;
  void exited.then((e) => {
    exit = e;
  });
  const deadline = Date.now() + BOUND_MS;
  while (Date.now() < deadline) {
    const text = await readFrom(log, from);
    if (text.includes(LISTENING)) return;
    if (exit !== null) {
      const code = (exit as Exit).code;
      const said = text
        .split('\n')
        .findLast((l) => l.startsWith('turnout: '))
        ?.slice('turnout: '.length);
      if (code === 2 && said !== undefined) throw refused(said);
      return;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function refused(said: string): TurnoutError {
  const flag = /^(--[a-z-]+) /.exec(said)?.[1];
  return new TurnoutError('invalid_argument', said, flag);
}

async function readFrom(path: string, from: number): Promise<string> {
  const file = await open(path, 'r').catch(() => null);
  if (file === null) return '';
  try {
    const { size } = await file.stat();
    if (size <= from) return '';
    const buffer = Buffer.alloc(Math.min(size - from, 1 << 20));
    await file.read(buffer, 0, buffer.length, from);
    return buffer.toString('utf8');
  } finally {
    await file.close();
  }
}
