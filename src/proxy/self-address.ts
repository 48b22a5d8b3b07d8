// The proxy never forwards to itself: a route (a `/$/inet/<host>/<port>` leaf or a registered
// endpoint) that reaches one of this proxy's own listeners — above all the admin listener — is
// refused. An address is "ours" when its port is a listener's and its host can reach that
// listener from here: the listener's own host, a loopback or wildcard address, `localhost`, this
// machine's name or any address of its interfaces. A DNS name that resolves here is not caught.

import { hostname, networkInterfaces } from 'node:os';
import { parseIp } from '../routing/cidr.js';
import type { ListenAddress } from './server.js';

/** This machine's own names and addresses, lower-cased, without brackets. */
export function localHosts(): Set<string> {
  const hosts = new Set(['localhost', '0.0.0.0', '::', hostname().toLowerCase()]);
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) hosts.add(a.address.toLowerCase());
  return hosts;
}

function splitAddress(address: string): { host: string; port: number } | null {
  const colon = address.lastIndexOf(':');
  if (colon <= 0) return null;
  const host = address
    .slice(0, colon)
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase();
  const port = Number(address.slice(colon + 1));
  return Number.isInteger(port) ? { host, port } : null;
}

function isLoopbackOrAny(host: string): boolean {
  const ip = parseIp(host);
  if (ip === null) return false;
  const w = ip.words;
  if (ip.family === 4) return w[3] >>> 24 === 127 || w[3] === 0;
  return w[0] === 0 && w[1] === 0 && w[2] === 0 && (w[3] === 1 || w[3] === 0);
}

/**
 * A predicate for `host:port` addresses: true when it is one of `listeners`. The list is read on
 * every call, so listeners bound later (ephemeral ports) count from when they are added.
 */
export function selfAddressGuard(
  listeners: readonly ListenAddress[],
  local: ReadonlySet<string> = localHosts(),
): (address: string) => boolean {
  return (address) => {
    const a = splitAddress(address);
    if (a === null) return false;
    for (const l of listeners) {
      if (l.port !== a.port) continue;
      const listenerHost = l.host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
      if (a.host === listenerHost || local.has(a.host) || isLoopbackOrAny(a.host)) return true;
    }
    return false;
  };
}
