// Who may listen where: the API beyond loopback carries bearer tokens and release commands, so it
// speaks TLS there, or the operator says `--insecure` in so many words (e.g. behind a TLS-ending
// load balancer on a private network). Pure: `up` and `server` call it before anything starts.

import { isIP } from 'node:net';
import { TurnoutError } from '../errors.js';

/** 127.0.0.0/8, ::1 and `localhost`: reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  // An IPv4-mapped IPv6 loopback (::ffff:127.0.0.1).
  return /^::ffff:127\./.test(h);
}

export interface ApiTransport {
  /** TLS certificate and key were given. */
  readonly tls: boolean;
  /** `--insecure`: plain HTTP beyond loopback, on purpose. */
  readonly insecure: boolean;
}

/**
 * Refuses a plain-HTTP API beyond loopback unless `insecure`; answers a warning to print when it
 * is allowed only because of `insecure`, else null. `field` names the listener flag in errors.
 */
export function checkApiListen(host: string, how: ApiTransport, field = '--api'): string | null {
  if (how.tls || isLoopbackHost(host)) return null;
  if (how.insecure)
    return `the API listens on ${host} without TLS (--insecure): tokens and commands cross the network in clear text`;
  throw new TurnoutError(
    'invalid_argument',
    `${field}: ${host} is beyond loopback, where the API speaks TLS only: give --tls-cert and --tls-key, or --insecure to serve plain HTTP there on purpose`,
    field,
  );
}

/** Both TLS files or neither; names the one missing. */
export function checkTlsPair(cert: string | undefined, key: string | undefined): boolean {
  if (cert === undefined && key === undefined) return false;
  if (cert === undefined)
    throw new TurnoutError('invalid_argument', '--tls-cert: required with --tls-key', '--tls-cert');
  if (key === undefined)
    throw new TurnoutError('invalid_argument', '--tls-key: required with --tls-cert', '--tls-key');
  return true;
}
