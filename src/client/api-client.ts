// A small client for the control-plane API used by the CLI and the demo: Node's http (see
// http-call.ts for why not undici), bearer token, API errors mapped back to TurnoutError and a
// helpful message when the server is down.

import type { ErrorCode } from '../errors.js';
import { ERROR_CODES, TurnoutError } from '../errors.js';
import { authHint, type TokenSource } from './auth-hint.js';
import { type HttpAnswer, httpCall } from './http-call.js';
import { readCa } from './pem.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

export interface ApiClientOptions {
  server?: string | undefined;
  token?: string | undefined;
  /** A PEM file of CA certificate(s) to trust for an https API (env TURNOUT_CA). */
  caFile?: string | undefined;
  /** What a refused token's error says to do (default: where the admin token is). */
  authHint?: (source: TokenSource) => string;
}

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiClient {
  readonly server: string;
  get(path: string): Promise<unknown>;
  post(path: string, body: unknown, options?: CallOptions): Promise<unknown>;
  put(path: string, body: unknown): Promise<unknown>;
  patch(path: string, body: unknown): Promise<unknown>;
  /** Answers null (the API's 204). */
  delete(path: string): Promise<unknown>;
  /** Every item of a paginated list, following nextCursor. */
  list(path: string): Promise<unknown[]>;
}

export interface CallOptions {
  /** How long to wait for the answer; default 10 s. */
  timeoutMs?: number;
}

/**
 * An error the API answered: `message` reads `<code>: <the API's message>` for people; `reason`
 * is the API's message as sent, for commands that rewrite it (apply maps fields back to files).
 */
export class ApiError extends TurnoutError {
  readonly reason: string;
  constructor(code: ErrorCode, reason: string, field: string | undefined) {
    super(code, `${code}: ${reason}`, field);
    this.reason = reason;
  }

  /** For `--json`: the code has its own field, so the message is the API's, without it. */
  override toJSON(): { code: ErrorCode; message: string; field?: string } {
    return { ...super.toJSON(), message: this.reason };
  }
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** Certificate errors a private CA or a self-signed certificate cause (Node's TLS codes). */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

export function unreachable(server: string, error: unknown): TurnoutError {
  const code = (error as { code?: string } | null)?.code;
  if (code !== undefined && UNTRUSTED.has(code))
    return new TurnoutError(
      'upstream_unavailable',
      `cannot reach the Turnout API at ${server}: its TLS certificate is not trusted (${code}); pass the CA that signed it with --ca <file> or TURNOUT_CA`,
    );
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused'
      : code === 'ENOTFOUND'
        ? 'host not found'
        : error instanceof Error
          ? error.message
          : String(error);
  return new TurnoutError(
    'upstream_unavailable',
    `cannot reach the Turnout API at ${server}: ${why} — is \`turnout up\` running?`,
  );
}

/** Where and how to reach the API: flags first, then the environment, then the default. */
export interface ApiConnection {
  server: string;
  headers: Record<string, string>;
  ca: string | undefined;
  tokenSource: TokenSource;
}

export function apiConnection(options: ApiClientOptions = {}): ApiConnection {
  const server = (options.server ?? process.env.TURNOUT_SERVER ?? DEFAULT_SERVER).replace(
    /\/+$/,
    '',
  );
  const token = options.token ?? process.env.TURNOUT_TOKEN;
  const ca = readCa(options.caFile);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
  const tokenSource: TokenSource =
    headers.authorization === undefined
      ? null
      : options.token !== undefined
        ? '--token'
        : 'TURNOUT_TOKEN';
  return { server, headers, ca, tokenSource };
}

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const { server, headers, ca, tokenSource } = apiConnection(options);
  const hint = options.authHint; // undefined: apiError's default
  async function call(
    method: ApiMethod,
    path: string,
    body: unknown,
    options: CallOptions = {},
  ): Promise<unknown> {
    const timeout = options.timeoutMs ?? 10_000;
    const sent = body === undefined ? undefined : JSON.stringify(body);
    let res: HttpAnswer;
    try {
      res = await httpCall(`${server}${path}`, {
        method,
        headers: sent === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: sent,
        timeoutMs: timeout,
        ...(ca === undefined ? {} : { ca }),
      });
    } catch (error) {
      throw unreachable(server, error);
    }
    const text = res.text;
    let answer: unknown;
    try {
      answer = text === '' ? null : JSON.parse(text);
    } catch {
      answer = undefined;
    }
    if (res.status >= 400) throw apiError(res.status, answer, tokenSource, hint);
    if (answer === undefined) {
      throw new TurnoutError('internal', 'the API answered a body that is not JSON');
    }
    return answer;
  }

  return {
    server,
    get: (path) => call('GET', path, undefined),
    post: (path, body, options) => call('POST', path, body, options),
    put: (path, body) => call('PUT', path, body),
    patch: (path, body) => call('PATCH', path, body),
    delete: (path) => call('DELETE', path, undefined),
    async list(path) {
      const items: unknown[] = [];
      const join = path.includes('?') ? '&' : '?';
      let cursor: string | null = null;
      do {
        const page = (await call(
          'GET',
          cursor === null ? path : `${path}${join}cursor=${encodeURIComponent(cursor)}`,
          undefined,
        )) as { items?: unknown[]; nextCursor?: string | null };
        items.push(...(page.items ?? []));
        cursor = page.nextCursor ?? null;
      } while (cursor !== null);
      return items;
    },
  };
}

export function apiError(
  status: number,
  answer: unknown,
  tokenSource: TokenSource,
  hint: (source: TokenSource) => string = authHint,
): TurnoutError {
  const e = (answer as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)
    ?.error;
  if (e !== undefined && isErrorCode(e.code)) {
    const how = e.code === 'unauthorized' ? ` — ${hint(tokenSource)}` : '';
    return new ApiError(
      e.code,
      `${String(e.message)}${how}`,
      typeof e.field === 'string' ? e.field : undefined,
    );
  }
  return new TurnoutError('internal', `the API answered HTTP ${status}`);
}

/**
 * A host's states as the API names them (src/store/host-model.ts's HOST_STATES, which loads zod:
 * the CLI checks `host list --state` against this copy at start-up; a test keeps them equal).
 */
export const HOST_STATES = ['ready', 'cordoned', 'draining', 'down'] as const;

/** A host as /v1/hosts answers it (src/store/host-model.ts). */
export interface HostRecord {
  name: string;
  address: string;
  labels: Record<string, string>;
  capacity: number | null;
  state: (typeof HOST_STATES)[number];
  leaseExpiresAt: string | null;
  /** The agent token the host is bound to (the first that registered it); null: none yet. */
  registeredBy?: string | null;
  createdAt: string;
  updatedAt: string;
}

/** What an operator may do to a host: the /v1/hosts/:name/<action> routes (role admin). */
export const HOST_ACTIONS = ['cordon', 'drain', 'uncordon'] as const;
export type HostAction = (typeof HOST_ACTIONS)[number];

/** The /v1/hosts calls `turnout host` makes. */
export function hostCalls(client: ApiClient) {
  const enc = encodeURIComponent;
  return {
    list: (state?: string) =>
      client.list(state === undefined ? '/v1/hosts' : `/v1/hosts?state=${enc(state)}`) as Promise<
        HostRecord[]
      >,
    get: (name: string) => client.get(`/v1/hosts/${enc(name)}`) as Promise<HostRecord>,
    act: (name: string, action: HostAction) =>
      client.post(`/v1/hosts/${enc(name)}/${action}`, undefined) as Promise<HostRecord>,
    /** The instances the store places on `name` (every host's when none is given). */
    instances: (name?: string) =>
      client.list(
        name === undefined ? '/v1/instances' : `/v1/instances?host=${enc(name)}`,
      ) as Promise<Record<string, unknown>[]>,
  };
}
