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

/** Whether `url` starts with `http://`, in any case (the scheme is case-insensitive). */
function isHttpUri(url: string): boolean {
  return (
    url.startsWith('http://') || (url.length >= 7 && url.slice(0, 7).toLowerCase() === 'http://')
  );
}

/** Where the authority of an absolute URI ends: the first `/` or `?` after `http://`. */
function authorityEnd(url: string): number {
  for (let i = 7; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x3f) return i;
  }
  return url.length;
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
  if (!isHttpUri(url))
    return bad('the request target must be an origin-form path or an http:// absolute URI');
  const end = authorityEnd(url);
  const authority = url.slice(7, end);
  const path = end === url.length ? '/' : url[end] === '?' ? `/${url.slice(end)}` : url.slice(end);
  if (authority === '' || authority.includes('@'))
    return bad('the absolute URI has no usable host');
  if (
    hostHeader !== undefined &&
    hostHeader !== authority &&
    hostHeader.toLowerCase() !== authority.toLowerCase()
  ) {
    return bad('the absolute URI and the Host header name different hosts');
  }
  return { ok: true, target: { host: stripPort(authority), authority, path } };
}

/** Hosts seen → their logical names (or null), so a request builds and checks no name string. */
const names = new Map<string, string | null>();
/** A mesh calls a bounded set of services; a client naming endless hosts only empties this. */
const MAX_NAMES = 4_096;

/** The logical name for an outbound request: `Host: orders` → `/svc/orders`; null if not a name. */
export function serviceName(target: Target): string | null {
  const known = names.get(target.host);
  if (known !== undefined) return known;
  const name = nameProblem(target.host) === null ? `/svc/${target.host}` : null;
  if (names.size >= MAX_NAMES) names.clear();
  names.set(target.host, name);
  return name;
}

/** The product an edge request is for, by Host with or without its port. */
export function productForHost(compiled: CompiledSnapshot, target: Target): string | undefined {
  return (
    compiled.productByHost.get(target.authority.toLowerCase()) ??
    compiled.productByHost.get(target.host)
  );
}
