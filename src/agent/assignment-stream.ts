// Follows GET /v1/hosts/:name/assignments/stream: every `assignments` event carries the host's
// whole list (level-triggered), so a reconnect is a resume and nothing needs replaying. Reconnects
// with backoff; a connection silent past idleTimeoutMs (the server comments every 15 s) is dropped
// (the shared follower, src/proxy/sse-follower.ts).

import { SseFollower } from '../proxy/sse-follower.js';
import type { Assignment } from './assignment.js';
import { assignmentListSchema } from './assignment.js';

export interface AssignmentStreamOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly ca?: string | undefined;
  readonly onList: (assignments: Assignment[], version: number | null) => void;
  /** Connected (first event or comment after a connect) / lost, with why. */
  readonly onConnected: () => void;
  readonly onLost: (reason: string, retryInMs: number) => void;
  readonly idleTimeoutMs?: number;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

const DEFAULT_BACKOFF = { initialMs: 250, maxMs: 5_000 };

export class AssignmentStream {
  private readonly follower: SseFollower;

  constructor(private readonly o: AssignmentStreamOptions) {
    this.follower = new SseFollower({
      ca: o.ca,
      idleTimeoutMs: o.idleTimeoutMs ?? 45_000,
      backoff: o.backoff ?? DEFAULT_BACKOFF,
      connect: () => ({ url: o.url, headers: o.headers }),
      onAlive: () => o.onConnected(),
      onEvent: (event) => {
        if (event.type === 'assignments') this.offer(event.data);
      },
      onLost: (reason, retryInMs) => o.onLost(reason, retryInMs),
      refusal: (status, _type, body) => `HTTP ${status}${apiMessage(body)}`,
    });
  }

  start(): void {
    this.follower.start();
  }

  async stop(): Promise<void> {
    await this.follower.stop();
  }

  private offer(data: string): void {
    const parsed = parseList(data);
    if (typeof parsed === 'string') throw new Error(`a bad assignments event: ${parsed}`);
    this.o.onList(parsed.assignments, parsed.version);
  }
}

/** `{ version, assignments }` (the stream) or `{ assignments }` (the list route, the file). */
export function parseList(
  text: string,
): { assignments: Assignment[]; version: number | null } | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const parsed = assignmentListSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
  }
  const version = (json as { version?: unknown }).version;
  return {
    assignments: parsed.data.assignments,
    version: typeof version === 'number' ? version : null,
  };
}

function apiMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    return m === undefined ? '' : `: ${m}`;
  } catch {
    return '';
  }
}
