// The agent's calls to the control plane, on the contract's paths (the fleet protocol's "API"):
// register, heartbeat, report, stats, and the assignment stream. Every call goes from the host out
// to the server: the control plane never opens a connection into a host.

import { createAgentClient } from '../client/agent-client.js';
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

/** The JSON calls through the agent client (src/client/agent-client.ts); the stream is followed here. */
export function createServerLink(options: ServerLinkOptions): ServerLink {
  const client = createAgentClient({
    server: options.server,
    token: options.token,
    ...(options.caFile === undefined ? {} : { caFile: options.caFile }),
  });
  return {
    server: client.server,
    async register(host, body) {
      await client.register(host, body);
    },
    async heartbeat(host, ttlMs) {
      await client.heartbeat(host, ttlMs);
    },
    assignments: (host) => client.assignments(host),
    report: (host, id, status) => client.report(host, id, status),
    stats: (host, stats) => client.pushStats(host, stats),
    streamRequest: (host) => ({
      url: `${client.server}/v1/hosts/${encodeURIComponent(host)}/assignments/stream`,
      headers: {
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        authorization: `Bearer ${options.token}`,
      },
    }),
  };
}

export type { Assignment };
