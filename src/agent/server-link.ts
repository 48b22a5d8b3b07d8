// The agent's calls to the control plane, on the contract's paths (the fleet protocol's "API"):
// register, heartbeat, report, stats, and the assignment stream. Every call goes from the host out
// to the server: the control plane never opens a connection into a host.

import type { PermitAnswer } from '../client/agent-client.js';
import { createAgentClient } from '../client/agent-client.js';
import { readCa } from '../client/pem.js';
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
  /** The download throttle: ask (again), renew while downloading, give back. */
  askPermit(host: string, sha256: string): Promise<PermitAnswer>;
  renewPermit(host: string, permit: string): Promise<void>;
  releasePermit(host: string, permit: string): Promise<void>;
  /** Where an artifact of this control plane's store is downloaded from, with the agent's token. */
  artifactRequest(sha256: string): { url: string; headers: Record<string, string>; ca?: string };
}

export type { PermitAnswer };

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
    askPermit: (host, sha256) => client.askPermit(host, sha256),
    renewPermit: (host, permit) => client.renewPermit(host, permit),
    releasePermit: (host, permit) => client.releasePermit(host, permit),
    artifactRequest: (sha256) => {
      const ca = readCa(options.caFile);
      return {
        url: `${client.server}/v1/artifacts/${encodeURIComponent(sha256)}`,
        headers: { authorization: `Bearer ${options.token}` },
        ...(ca === undefined ? {} : { ca }),
      };
    },
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
