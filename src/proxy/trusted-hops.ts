// Which clients of the edge are trusted hops (`turnout proxy --trusted-hops 10.0.0.0/8,…`): a
// gateway or load balancer in front of the edge whose segment headers, sticky keys and
// forwarding headers are believed. Default: none — every client is a stranger.

import { TurnoutError } from '../errors.js';
import type { Cidr } from '../routing/cidr.js';
import { cidrContains, parseCidr, parseIp } from '../routing/cidr.js';

/** `10.0.0.0/8,127.0.0.1/32` (commas, blanks ignored; `none` or '' for none) → CIDRs. */
export function parseTrustedHops(text: string, field = '--trusted-hops'): Cidr[] {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  return trimmed.split(',').map((part) => {
    const parsed = parseCidr(part.trim());
    if (!parsed.ok)
      throw new TurnoutError(
        'invalid_argument',
        `${field} ${part.trim()}: ${parsed.reason}`,
        field,
      );
    return parsed.cidr;
  });
}

/** Whether the socket's peer address lies in one of the trusted CIDRs. */
export function isTrustedHop(cidrs: readonly Cidr[], address: string | undefined): boolean {
  if (cidrs.length === 0 || address === undefined) return false;
  const ip = parseIp(address);
  return ip !== null && cidrs.some((c) => cidrContains(c, ip));
}

/**
 * isTrustedHop for a connection's peer, decided once per connection: the peer address is the
 * socket's and never changes, so kept-alive requests do not parse it again. One proxy's trusted
 * CIDRs are fixed for its life, and a socket belongs to one proxy.
 */
const trustedBySocket = new WeakMap<object, boolean>();
export function isTrustedPeer(
  cidrs: readonly Cidr[],
  socket: { readonly remoteAddress?: string | undefined },
): boolean {
  if (cidrs.length === 0) return false;
  let trusted = trustedBySocket.get(socket);
  if (trusted === undefined) {
    trusted = isTrustedHop(cidrs, socket.remoteAddress);
    trustedBySocket.set(socket, trusted);
  }
  return trusted;
}
