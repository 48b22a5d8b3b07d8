// Header rules for a forwarding proxy: hop-by-hop headers removed (RFC 9110 §7.6.1), the
// forwarding headers set, and the guards against ambiguous requests (duplicate Host, an absolute
// URI that disagrees with Host) that Node's parser lets through.

import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';

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

function connectionTokens(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  const text = Array.isArray(value) ? value.join(',') : value;
  const tokens = new Set<string>();
  for (const t of text.split(',')) {
    const token = t.trim().toLowerCase();
    if (token !== '' && token !== 'close' && token !== 'keep-alive') tokens.add(token);
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

/** Whether the request header block names Host more than once (Node keeps only the first). */
export function hasDuplicateHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

export interface ForwardedFacts {
  readonly clientAddress: string;
  readonly proto: 'http' | 'https';
  readonly host: string | undefined;
  /** Header names the proxy sets itself (context) and must not copy from the client. */
  readonly replace: ReadonlySet<string>;
  /** Extra headers to add (context, override). */
  readonly extra: readonly (readonly [string, string])[];
}

const VIA = '1.1 turnout';

/**
 * The upstream request's headers as a flat [name, value, …] list (undici's fastest form), in the
 * client's order and spelling, minus hop-by-hop and replaced ones, plus forwarding headers.
 */
export function upstreamHeaders(req: IncomingMessage, facts: ForwardedFacts): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | null = null;
  let via: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (isHopByHop(lower, named) || facts.replace.has(lower)) continue;
    // `Expect: 100-continue` was answered to the client by Node before the request reached us,
    // and undici refuses to send an Expect header at all (NotSupportedError): never forwarded.
    if (lower === 'expect') continue;
    if (lower === 'x-forwarded-for') {
      xff = xff === null ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`;
      continue;
    }
    if (lower === 'via') {
      via = via === null ? raw[i + 1]! : `${via}, ${raw[i + 1]!}`;
      continue;
    }
    if (lower === 'x-forwarded-proto' || lower === 'x-forwarded-host') continue;
    out.push(name, raw[i + 1]!);
  }
  out.push(
    'x-forwarded-for',
    xff === null ? facts.clientAddress : `${xff}, ${facts.clientAddress}`,
  );
  out.push('x-forwarded-proto', facts.proto);
  if (facts.host !== undefined) out.push('x-forwarded-host', facts.host);
  out.push('via', via === null ? VIA : `${via}, ${VIA}`);
  for (const [name, value] of facts.extra) out.push(name, value);
  return out;
}
