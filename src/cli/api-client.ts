// A small client for the control-plane API used by the CLI: undici `request`, bearer token,
// API errors mapped back to TurnoutError and a helpful message when the server is down.

import { request } from 'undici';
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES, TurnoutError } from '../errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

export interface ApiClientOptions {
  server?: string | undefined;
  token?: string | undefined;
}

export interface ApiClient {
  readonly server: string;
  get(path: string): Promise<unknown>;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

function unreachable(server: string, error: unknown): TurnoutError {
  const code = (error as { code?: string } | null)?.code;
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

export function createApiClient(options: ApiClientOptions = {}): ApiClient {
  const server = (options.server ?? process.env.TURNOUT_SERVER ?? DEFAULT_SERVER).replace(
    /\/+$/,
    '',
  );
  const token = options.token ?? process.env.TURNOUT_TOKEN;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token !== undefined && token !== '') headers.authorization = `Bearer ${token}`;
  return {
    server,
    async get(path) {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(`${server}${path}`, {
          method: 'GET',
          headers,
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
      } catch (error) {
        throw unreachable(server, error);
      }
      const text = await res.body.text();
      let body: unknown;
      try {
        body = text === '' ? null : JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (res.statusCode >= 400) {
        const e = (body as { error?: { code?: unknown; message?: unknown; field?: unknown } })
          ?.error;
        if (e !== undefined && isErrorCode(e.code)) {
          throw new TurnoutError(
            e.code,
            `${e.code}: ${String(e.message)}`,
            typeof e.field === 'string' ? e.field : undefined,
          );
        }
        throw new TurnoutError('internal', `internal: the API answered HTTP ${res.statusCode}`);
      }
      if (body === undefined) {
        throw new TurnoutError('internal', `internal: the API answered a body that is not JSON`);
      }
      return body;
    },
  };
}
