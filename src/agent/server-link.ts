// The agent's calls to the control plane, on the contract's paths (/work/notes/fleet-protocol.md,
// "API"): register, heartbeat, report, stats, and the assignment stream. Every call goes from the
// host out to the server: the control plane never opens a connection into a host.

import type { ApiClient } from '../client/api-client.js';
import { createApiClient } from '../client/api-client.js';
import type { Assignment, StatusReport } from './assignment.js';

export interface HostRegistration {
  readonly address: string;
  readonly labels: Record<string, string>;
  readonly capacity: number | null;
}

export interface ServerLink {
  /** The API base URL, e.g. https://cp.example:7070 (no trailing slash). */
  readonly server: string;
  register(host: string, body: HostRegistration): Promise<void>;
  heartbeat(host: string, ttlMs: number): Promise<void>;
  assignments(host: string): Promise<unknown>;
  report(host: string, id: string, status: StatusReport): Promise<void>;
  stats(host: string, stats: unknown): Promise<void>;
  /** The SSE URL of the host's assignments and the headers to send it. */
  streamRequest(host: string): { url: string; headers: Record<string, string> };
}

export interface ServerLinkOptions {
  readonly server: string;
  readonly token: string;
  readonly caFile?: string | undefined;
}

const seg = encodeURIComponent;

export function createServerLink(options: ServerLinkOptions): ServerLink {
  const api: ApiClient = createApiClient({
    server: options.server,
    token: options.token,
    caFile: options.caFile,
  });
  const base = (host: string) => `/v1/hosts/${seg(host)}`;
  return {
    server: api.server,
    async register(host, body) {
      await api.put(base(host), body);
    },
    async heartbeat(host, ttlMs) {
      await api.post(
        `${base(host)}/heartbeat`,
        { ttlMs },
        { timeoutMs: Math.max(1000, ttlMs / 3) },
      );
    },
    assignments: (host) => api.get(`${base(host)}/assignments`),
    async report(host, id, status) {
      await api.put(`${base(host)}/assignments/${seg(id)}/status`, status);
    },
    async stats(host, stats) {
      await api.post(`${base(host)}/stats`, stats, { timeoutMs: 2000 });
    },
    streamRequest: (host) => ({
      url: `${api.server}${base(host)}/assignments/stream`,
      headers: {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        authorization: `Bearer ${options.token}`,
      },
    }),
  };
}

export type { Assignment };
