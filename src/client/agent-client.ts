// The agent's side of the agent protocol (docs/fleet-protocol.md): register the host, heartbeat,
// read and follow its assignments, report their status and push its proxy's stats. The JSON calls
// go through the CLI's API client (Node's http, errors mapped back to TurnoutError); the stream is
// its own long request, read as Server-Sent Events and handed out as an async iterator.

import type { IncomingMessage, RequestOptions } from 'node:http';
import { TurnoutError } from '../errors.js';
import type { Assignment, AssignmentReport } from '../store/assignment-model.js';
import type { Host, HostInput } from '../store/host-model.js';
import { apiError, createApiClient } from './api-client.js';
import { agentAuthHint } from './auth-hint.js';
import { readCa } from './pem.js';

export interface AgentClientOptions {
  /** The control plane's base URL, e.g. https://cp.example:7070. */
  server: string;
  /** The agent (join) token. */
  token: string;
  /** A PEM file of CA certificate(s) to trust for an https server. */
  caFile?: string;
}

/** One message of the assignment stream: the host's whole list as of store version `version`. */
export interface AssignmentsMessage {
  version: number;
  assignments: Assignment[];
}

export interface StreamOptions {
  /** Ends the stream (the iterator then finishes without an error). */
  signal?: AbortSignal;
  /**
   * Silence after which the connection counts as dead (the server sends a keepalive every 15 s).
   * Default 45000.
   */
  idleTimeoutMs?: number;
}

export interface AgentClient {
  readonly server: string;
  register(name: string, host: Omit<HostInput, 'name'>): Promise<Host>;
  heartbeat(name: string, ttlMs: number): Promise<Host>;
  assignments(name: string): Promise<Assignment[]>;
  /** Every message of the host's assignment stream until the server ends it or `signal` fires. */
  stream(name: string, options?: StreamOptions): AsyncGenerator<AssignmentsMessage, void, void>;
  report(name: string, id: string, status: AssignmentReport): Promise<void>;
  /** The host proxy's admin /stats JSON, as read. */
  pushStats(name: string, stats: unknown): Promise<void>;
  /** The download throttle (src/api/routes/permits.ts): a permit, or this host's place in line. */
  askPermit(name: string, sha256: string): Promise<PermitAnswer>;
  renewPermit(name: string, permit: string): Promise<void>;
  releasePermit(name: string, permit: string): Promise<void>;
}

export type PermitAnswer =
  | { granted: true; permit: string; ttlMs: number }
  | { granted: false; position: number; retryAfterMs: number };

const seg = encodeURIComponent;

export function createAgentClient(options: AgentClientOptions): AgentClient {
  const server = options.server.replace(/\/+$/, '');
  const api = createApiClient({
    server,
    token: options.token,
    caFile: options.caFile,
    authHint: agentAuthHint,
  });
  const ca = readCa(options.caFile);
  const hostPath = (name: string) => `/v1/hosts/${seg(name)}`;
  return {
    server,
    register: async (name, host) => (await api.put(hostPath(name), host)) as Host,
    heartbeat: async (name, ttlMs) =>
      (await api.post(`${hostPath(name)}/heartbeat`, { ttlMs })) as Host,
    assignments: async (name) =>
      ((await api.get(`${hostPath(name)}/assignments`)) as { assignments: Assignment[] })
        .assignments,
    async report(name, id, status) {
      await api.put(`${hostPath(name)}/assignments/${seg(id)}/status`, status);
    },
    async pushStats(name, stats) {
      await api.post(`${hostPath(name)}/stats`, stats);
    },
    askPermit: async (name, sha256) =>
      (await api.post(`/v1/artifacts/${seg(sha256)}/permits`, { host: name })) as PermitAnswer,
    async renewPermit(name, permit) {
      await api.post(`/v1/artifacts/permits/${seg(permit)}/renew`, { host: name });
    },
    async releasePermit(name, permit) {
      await api.delete(`/v1/artifacts/permits/${seg(permit)}?host=${seg(name)}`);
    },
    stream: (name, streamOptions = {}) =>
      readStream(`${server}${hostPath(name)}/assignments/stream`, options.token, ca, streamOptions),
  };
}

async function* readStream(
  url: string,
  token: string,
  ca: string | undefined,
  options: StreamOptions,
): AsyncGenerator<AssignmentsMessage, void, void> {
  if (options.signal?.aborted) return;
  const res = await open(url, token, ca, options.idleTimeoutMs ?? 45_000);
  const abort = () => res.destroy();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    let buffer = '';
    for await (const chunk of res) {
      buffer += (chunk as Buffer).toString('utf8');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const message = parseEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (message !== null) yield message;
        end = buffer.indexOf('\n\n');
      }
    }
  } catch (error) {
    if (options.signal?.aborted) return;
    throw new TurnoutError(
      'upstream_unavailable',
      `assignment stream from ${url} broke: ${(error as Error).message}`,
    );
  } finally {
    options.signal?.removeEventListener('abort', abort);
    res.destroy();
  }
}

/** One SSE event block; null for a comment (keepalive) or another event type. */
export function parseEvent(block: string): AssignmentsMessage | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (event !== 'assignments' || data.length === 0) return null;
  return JSON.parse(data.join('\n')) as AssignmentsMessage;
}

/** The stream's response once it answered 200; an API error (403, 404, 503) otherwise. */
async function open(
  url: string,
  token: string,
  ca: string | undefined,
  idleTimeoutMs: number,
): Promise<IncomingMessage> {
  const target = new URL(url);
  const { request } =
    target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const options: RequestOptions & { ca?: string } = {
    method: 'GET',
    headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
    ...(ca === undefined ? {} : { ca }),
  };
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(target, options, resolve);
    req.setTimeout(idleTimeoutMs, () =>
      req.destroy(new Error(`no data within ${idleTimeoutMs} ms`)),
    );
    req.on('error', (error) =>
      reject(
        new TurnoutError(
          'upstream_unavailable',
          `cannot reach the Turnout API at ${target.origin}: ${error.message}`,
        ),
      ),
    );
    req.end();
  });
  if (res.statusCode === 200) return res;
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  let answer: unknown = null;
  try {
    answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // not JSON: apiError says which status came
  }
  throw apiError(res.statusCode ?? 0, answer, '--token', agentAuthHint);
}
