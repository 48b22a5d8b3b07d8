// A listener that cannot bind names the flag that chose its address, so the fix is one flag away:
// "--edge 127.0.0.1:8080 is already in use …" rather than "internal error: listen EADDRINUSE".

import { TurnoutError } from '../errors.js';
import type { ListenAddress } from '../proxy/server.js';

/** Why a bind failed, by its errno code, and what to do; other codes are not the flag's fault. */
const WHY: Record<string, string> = {
  EADDRINUSE: 'is already in use (another program, or another turnout, listens there)',
  EACCES: 'may not be bound by this user (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'is not an address of this machine',
};

/**
 * The bind error as an invalid_argument naming the flag whose address failed, or the error
 * unchanged when it is not a bind error of one of `listeners` (flag → the address it chose).
 * `offAllowed`: whether those flags take `off` (the proxy's listeners do; an API's does not), so
 * the hint offers it only where it would be accepted.
 */
export function listenError(
  error: unknown,
  listeners: Readonly<Record<string, ListenAddress | null>>,
  offAllowed: boolean,
): unknown {
  const e = error as { code?: unknown; syscall?: unknown; port?: unknown } | null;
  const why = typeof e?.code === 'string' ? WHY[e.code] : undefined;
  // 'bind': a cluster worker's shared listener fails in the primary's bind, not in listen.
  if (why === undefined || (e?.syscall !== 'listen' && e?.syscall !== 'bind')) return error;
  const named = Object.entries(listeners).find(([, at]) => at !== null && at.port === e.port);
  if (named === undefined) return error;
  const [flag, at] = named as [string, ListenAddress];
  const off = offAllowed ? `, or ${flag} off` : '';
  return new TurnoutError(
    'invalid_argument',
    `${flag} ${at.host}:${at.port} ${why}: choose another with ${flag} <host:port>${off}`,
    flag,
  );
}
