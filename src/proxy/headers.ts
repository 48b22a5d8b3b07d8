// Header rules for a forwarding proxy: hop-by-hop headers removed (RFC 9110 §7.6.1), the
// forwarding headers set by a stated policy, routing headers from outside stripped, and the guards
// against ambiguous requests (duplicate Host, an absolute URI that disagrees with Host) that
// Node's parser lets through.

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { headerNameToString } from './undici-parts.js';

/** Always hop-by-hop, plus anything the Connection header names. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/**
 * Headers a Connection list can never remove: without Host the upstream would see the proxy's
 * own address as Host (undici fills it in), and Content-Length frames the message.
 */
const NEVER_HOP_BY_HOP = new Set(['close', 'keep-alive', 'host', 'content-length']);

/** `Connection: keep-alive` (or close), as nearly every client and upstream sends it. */
function namesNothing(value: string): boolean {
  if (value.length > 10) return false;
  const v = value.toLowerCase(); // already lower case: the same string, no copy
  return v === 'keep-alive' || v === 'close' || v === '';
}

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  // Per request and per response: the common header allocates no Set and no split array.
  if (typeof value === 'string' && namesNothing(value)) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const t of text.split(',')) {
    const token = t.trim().toLowerCase();
    if (token !== '' && !NEVER_HOP_BY_HOP.has(token)) tokens.add(token);
  }
  return tokens.size === 0 ? null : tokens;
}

export function isHopByHop(name: string, named: Set<string> | null): boolean {
  return HOP_BY_HOP.has(name) || named?.has(name) === true;
}

/** Response headers for the client: the upstream's, minus hop-by-hop ones. */
export function responseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name in upstream) {
    if (!isHopByHop(name, named)) out[name] = upstream[name];
  }
  return out;
}

/**
 * Response headers for the client as a flat [name, value, …] list, straight from undici's raw
 * header block (Buffers): names lower-cased, values as latin1 (the bytes as they came), minus
 * hop-by-hop ones. What `responseHeaders(parseHeaders(raw))` gives, in the upstream's order, without
 * the two objects per response (`writeHead` takes the list as it is).
 */
export function responseHeaderList(raw: readonly Buffer[]): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = headerNameToString(raw[i]!);
    const value = raw[i + 1]!.toString('latin1');
    if (name === 'connection')
      connection = connection === undefined ? value : `${connection},${value}`;
    if (!HOP_BY_HOP.has(name)) out.push(name, value);
  }
  const named = connectionTokens(connection);
  return named === null ? out : withoutNamed(out, named);
}

/** The Content-Length of a header list as a number; -1 when it has none, several, or a bad one. */
export function contentLengthOf(list: readonly string[]): number {
  let length = -1;
  for (let i = 0; i < list.length; i += 2) {
    if (list[i] !== 'content-length') continue;
    if (length !== -1) return -1;
    length = digits(list[i + 1]!);
    if (length === -1) return -1;
  }
  return length;
}

/** A string of ASCII digits (at most 15: a safe integer) as a number, else -1. */
function digits(value: string): number {
  if (value.length === 0 || value.length > 15) return -1;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** `list` without the headers a Connection header named (rare: most name only keep-alive). */
function withoutNamed(list: readonly string[], named: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < list.length; i += 2)
    if (!named.has(list[i]!)) out.push(list[i]!, list[i + 1]!);
  return out;
}

/** `host` in any case, without making a lower-case copy of every four-letter name. */
function isHost(name: string): boolean {
  return (
    name.length === 4 &&
    (name.charCodeAt(0) | 0x20) === 0x68 && // h
    (name.charCodeAt(1) | 0x20) === 0x6f && // o
    (name.charCodeAt(2) | 0x20) === 0x73 && // s
    (name.charCodeAt(3) | 0x20) === 0x74 // t
  );
}

/** Whether the request header block names Host more than once (Node keeps only the first). */
export function hasDuplicateHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    if (isHost(raw[i]!)) {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** What the edge knows about its client: whom to believe, and what to strip. */
export interface EdgeFacts {
  /** The client is a trusted hop (`--trusted-hops`): its forwarding headers are kept, appended to. */
  readonly trustedHop: boolean;
  /** Headers only a trusted hop may set (the product's segment headers and sticky keys). */
  readonly strip: ReadonlySet<string>;
}

export interface ForwardedFacts {
  readonly clientAddress: string;
  readonly proto: 'http' | 'https';
  readonly host: string | undefined;
  /** Header names the proxy sets itself (context) and must not copy from the client. */
  readonly replace: ReadonlySet<string>;
  /** Extra headers to add (context, override), flat: [name, value, …]. */
  readonly extra: readonly string[];
  /** The edge's view of its client; null or absent on the outbound (mesh) listener. */
  readonly edge?: EdgeFacts | null;
}

const VIA = '1.1 turnout';

/**
 * Routing headers no client outside may send into the mesh: Linkerd's `l5d-*` (l5d-dtab,
 * l5d-ctx-*), Finagle's `dtab-local`, and Turnout's own `x-turnout-*` (the edge sets those).
 */
export function isRoutingHeader(lower: string): boolean {
  return lower.startsWith('l5d-') || lower === 'dtab-local' || lower.startsWith('x-turnout-');
}

function joined(list: string | null, value: string): string {
  return list === null ? value : `${list}, ${value}`;
}

/** An RFC 7239 `for`/`host` value: IPv6 in brackets, and quoted where it is not a token. */
function forwardedElement(address: string, host: string | undefined, proto: string): string {
  const node = address === '' ? 'unknown' : address.includes(':') ? `"[${address}]"` : address;
  const parts = [`for=${node}`];
  if (host !== undefined) parts.push(`host="${host.replace(/["\\]/g, '\\$&')}"`);
  parts.push(`proto=${proto}`);
  return parts.join(';');
}

interface Chain {
  xff: string | null;
  forwarded: string | null;
  realIp: string | null;
  proto: string | null;
  host: string | null;
  via: string | null;
}

/**
 * Collects a forwarding header into `chain` (true) or leaves it to be copied (false). On the
 * outbound listener Forwarded and X-Real-IP are ordinary headers, as they always were.
 */
function collect(chain: Chain, lower: string, value: string, edge: boolean): boolean {
  switch (lower) {
    case 'x-forwarded-for':
      chain.xff = joined(chain.xff, value);
      return true;
    case 'via':
      chain.via = joined(chain.via, value);
      return true;
    case 'x-forwarded-proto':
      chain.proto ??= value;
      return true;
    case 'x-forwarded-host':
      chain.host ??= value;
      return true;
    case 'forwarded':
      if (edge) chain.forwarded = joined(chain.forwarded, value);
      return edge;
    case 'x-real-ip':
      if (edge) chain.realIp ??= value;
      return edge;
    default:
      return false;
  }
}

/**
 * The upstream request's headers as a flat [name, value, …] list (undici's fastest form), in the
 * client's order and spelling, minus hop-by-hop and replaced ones, plus forwarding headers.
 *
 * Forwarding policy (README "The edge's trust rules"): at the edge, X-Forwarded-For, Forwarded
 * and X-Real-IP from a client that is not a trusted hop are replaced by the proxy's view (the
 * socket's peer address); from a trusted hop, X-Forwarded-For and Forwarded are appended to and
 * its X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host are kept. On the outbound listener
 * X-Forwarded-For is appended to and the rest passes as before. Header bytes are copied as they
 * came (non-ASCII included): Node reads them as latin1 and undici writes them back the same way.
 */
export function upstreamHeaders(req: IncomingMessage, facts: ForwardedFacts): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(req.headers.connection);
  const edge = facts.edge ?? null;
  const out: string[] = [];
  const chain: Chain = {
    xff: null,
    forwarded: null,
    realIp: null,
    proto: null,
    host: null,
    via: null,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, named) || facts.replace.has(lower)) continue;
    // `Expect: 100-continue` was answered to the client by Node before the request reached us,
    // and undici refuses to send an Expect header at all (NotSupportedError): never forwarded.
    if (lower === 'expect') continue;
    if (edge !== null && (isRoutingHeader(lower) || edge.strip.has(lower))) continue;
    if (collect(chain, lower, raw[i + 1]!, edge !== null)) continue;
    out.push(name, raw[i + 1]!);
  }
  const address = facts.clientAddress;
  // Outbound clients are the mesh's own services: their chain is appended to, as it always was.
  const believed = edge === null || edge.trustedHop;
  const trusted = edge?.trustedHop === true;
  out.push(
    'x-forwarded-for',
    believed && chain.xff !== null ? `${chain.xff}, ${address}` : address,
  );
  out.push('x-forwarded-proto', trusted && chain.proto !== null ? chain.proto : facts.proto);
  const host = trusted && chain.host !== null ? chain.host : facts.host;
  if (host !== undefined) out.push('x-forwarded-host', host);
  if (edge !== null) {
    out.push('x-real-ip', trusted && chain.realIp !== null ? chain.realIp : address);
    const mine = forwardedElement(address, facts.host, facts.proto);
    out.push(
      'forwarded',
      trusted && chain.forwarded !== null ? `${chain.forwarded}, ${mine}` : mine,
    );
  }
  out.push('via', chain.via === null ? VIA : `${chain.via}, ${VIA}`);
  for (const item of facts.extra) out.push(item);
  return out;
}
