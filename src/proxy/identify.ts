// Stage 1, identify: which logical service (outbound) or product (edge) a request names, and the
// checks Node's parser leaves to us — duplicate Host, an absolute URI whose host disagrees with
// Host, CONNECT — so no two hops can read one request two ways.

import type { IncomingMessage } from 'node:http';
import type { CompiledSnapshot } from '../config/compile.js';
import { nameProblem } from '../routing/context.js';
import { hasDuplicateHost } from './headers.js';
import type { ProxyError } from './respond-error.js';

export interface Target {
  /** Host without port, lower-cased: the logical service (outbound) or product host (edge). */
  readonly host: string;
  /** The Host header value to forward. */
  readonly authority: string;
  /** Origin-form path and query to send upstream. */
  readonly path: string;
}

export type Identified =
  | { readonly ok: true; readonly target: Target }
  | { readonly ok: false; readonly error: ProxyError };

function bad(message: string): Identified {
  return { ok: false, error: { code: 'bad_request', message } };
}

function stripPort(authority: string): string {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    return end === -1 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(':');
  return (colon === -1 ? authority : authority.slice(0, colon)).toLowerCase();
}

/** Reads the target from an absolute-form (`GET http://orders/x`) or origin-form request. */
export function identifyTarget(req: IncomingMessage): Identified {
  if (req.method === 'CONNECT')
    return bad('CONNECT is not supported: send plain HTTP requests through the proxy');
  if (hasDuplicateHost(req.rawHeaders)) return bad('more than one Host header');
  const url = req.url ?? '/';
  const hostHeader = req.headers.host;
  if (url.startsWith('/')) {
    if (hostHeader === undefined || hostHeader === '') return bad('missing Host header');
    return { ok: true, target: { host: stripPort(hostHeader), authority: hostHeader, path: url } };
  }
  if (!/^http:\/\//i.test(url))
    return bad('the request target must be an origin-form path or an http:// absolute URI');
  const rest = url.slice(7);
  const slash = rest.search(/[/?]/);
  const authority = slash === -1 ? rest : rest.slice(0, slash);
  const path =
    slash === -1 ? '/' : rest[slash] === '?' ? `/${rest.slice(slash)}` : rest.slice(slash);
  if (authority === '' || authority.includes('@'))
    return bad('the absolute URI has no usable host');
  if (hostHeader !== undefined && hostHeader.toLowerCase() !== authority.toLowerCase()) {
    return bad('the absolute URI and the Host header name different hosts');
  }
  return { ok: true, target: { host: stripPort(authority), authority, path } };
}

/** The logical name for an outbound request: `Host: orders` → `/svc/orders`; null if not a name. */
export function serviceName(target: Target): string | null {
  return nameProblem(target.host) === null ? `/svc/${target.host}` : null;
}

/** The product an edge request is for, by Host with or without its port. */
export function productForHost(compiled: CompiledSnapshot, target: Target): string | undefined {
  return (
    compiled.productByHost.get(target.authority.toLowerCase()) ??
    compiled.productByHost.get(target.host)
  );
}
