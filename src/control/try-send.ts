// "Try it": one request to a product through a lane, sent by the control plane through the real
// edge with a short-lived signed routing override (src/routing/override.ts) that pins the lane's
// versions — never the lane's secret pre-release header. What served it along the chain is read
// from the answer as the example services report it (src/control/served-reply.ts); a service that
// does not report it answers with an empty `served`. Bounded: the answer body is read up to
// `maxBodyBytes` and the whole exchange ends after `timeoutMs`.

import { request } from 'undici';
import { TurnoutError } from '../errors.js';
import { versionsNamed } from '../release/routes.js';
import { signOverride } from '../routing/override.js';
import { readReply } from './served-reply.js';

export const TRY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type TryMethod = (typeof TRY_METHODS)[number];
/** The largest request body a try sends, and the most of the answer's body it returns. */
export const TRY_MAX_BODY_BYTES = 64 * 1024;
export const TRY_MAX_ANSWER_BYTES = 256 * 1024;
export const TRY_DEFAULT_TIMEOUT_MS = 10_000;
/** The override outlives the request by this much at most (clock skew between API and proxy). */
const OVERRIDE_SLACK_MS = 30_000;

/**
 * Headers a try may not set: the edge's own (Host names the product, the override and context are
 * Turnout's), and framing, which the sender derives from the body.
 */
const RESERVED = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'proxy-connection',
  'baggage',
  'dtab-local',
]);

/** Why a header name may not be sent, or null when it may. */
export function reservedHeader(name: string): string | null {
  const lower = name.toLowerCase();
  if (lower.startsWith('x-turnout-') || lower.startsWith('l5d-'))
    return 'Turnout sets its routing headers itself (the lane goes in a signed override)';
  if (RESERVED.has(lower)) return 'set by the sender (host: the product’s, framing: from the body)';
  return null;
}

export interface TryRequest {
  readonly method: TryMethod;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  readonly timeoutMs: number;
}

export interface TryTarget {
  /** The edge's base URL. */
  readonly edgeUrl: string;
  /** The product's host, sent as Host. */
  readonly host: string;
  /** The lane's overlay; empty: the request goes as stable traffic, without an override. */
  readonly overlay: string;
  readonly secret: string | Buffer;
}

export interface TryAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly bodyTruncated: boolean;
  readonly durationMs: number;
  /** module → version the lane's overlay names: where the override sends each module. */
  readonly routed: Record<string, string>;
  /** module → version the answer says served it, over the whole call chain. */
  readonly served: Record<string, string>;
  /** The lane the entry service says it saw (null: none, or not reported). */
  readonly servedLane: string | null;
}

/** module → version of every `/v/<module>/<version>` in the overlay (the last one wins). */
export function routedVersions(overlay: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const mv of versionsNamed(overlay)) {
    const at = mv.indexOf('@');
    out[mv.slice(0, at)] = mv.slice(at + 1);
  }
  return out;
}

function flatHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = [v].flat().join(', ');
  return out;
}

/** The body's first `max` bytes, as UTF-8 text, and whether there was more. */
async function boundedText(
  body: AsyncIterable<Buffer>,
  max: number,
): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) {
      const all = Buffer.concat(chunks).subarray(0, max);
      return { text: all.toString('utf8'), truncated: true };
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

/** Signs the lane's override and sends the request through the edge; the answer, bounded. */
export async function sendTry(
  target: TryTarget,
  req: TryRequest,
  now: () => number = Date.now,
): Promise<TryAnswer> {
  const started = now();
  const headers: Record<string, string> = { ...req.headers, host: target.host };
  if (target.overlay.trim() !== '') {
    // signOverride refuses an overlay outside the override policy as invalid_override, on `dtab`.
    headers['x-turnout-override'] = signOverride(
      target.overlay,
      target.secret,
      started + req.timeoutMs + OVERRIDE_SLACK_MS,
      started,
    );
  }
  const withBody = req.body !== undefined && req.method !== 'GET' && req.method !== 'HEAD';
  const signal = AbortSignal.timeout(req.timeoutMs);
  try {
    const res = await request(new URL(req.path, target.edgeUrl), {
      method: req.method,
      headers,
      body: withBody ? req.body : undefined,
      signal,
      headersTimeout: req.timeoutMs,
      bodyTimeout: req.timeoutMs,
    });
    const { text, truncated } = await boundedText(res.body, TRY_MAX_ANSWER_BYTES);
    if (truncated) res.body.destroy();
    const reply = readReply(text);
    return {
      status: res.statusCode,
      headers: flatHeaders(res.headers),
      body: text,
      bodyTruncated: truncated,
      durationMs: now() - started,
      routed: routedVersions(target.overlay),
      served: reply.versions,
      servedLane: reply.lane,
    };
  } catch (error) {
    if (signal.aborted || (error as { name?: string }).name === 'HeadersTimeoutError')
      throw new TurnoutError(
        'upstream_timeout',
        `the edge at ${target.edgeUrl} did not answer within ${req.timeoutMs} ms`,
      );
    const code = (error as { code?: string }).code ?? (error as Error).message;
    throw new TurnoutError(
      'upstream_failed',
      `the edge at ${target.edgeUrl} did not answer: ${code}`,
    );
  }
}
