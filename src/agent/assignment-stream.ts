// Follows GET /v1/hosts/:name/assignments/stream: every `assignments` event carries the host's
// whole list (level-triggered), so a reconnect is a resume and nothing needs replaying. Reconnects
// with backoff; a connection silent past idleTimeoutMs (the server comments every 15 s) is dropped.

import { Agent, request } from 'undici';
import { SseParser } from '../proxy/sse.js';
import { backoffDelay } from '../proxy/stream-source.js';
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
  private readonly agent: Agent;
  private connection: AbortController | null = null;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly o: AssignmentStreamOptions) {
    this.agent = new Agent({
      connect: { timeout: 5_000, ...(o.ca === undefined ? {} : { ca: o.ca }) },
    });
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.connection?.abort(new Error('stopped'));
    this.wake?.();
    await this.loop;
    await this.agent.destroy().catch(() => {});
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      let alive = false;
      let reason = 'the server ended the stream';
      try {
        await this.connectOnce(() => {
          if (!alive) this.o.onConnected();
          alive = true;
        });
      } catch (error) {
        reason = errorMessage(error);
      }
      if (this.stopped) return;
      if (alive) attempt = 0;
      const delay = backoffDelay(attempt++, this.o.backoff ?? DEFAULT_BACKOFF);
      this.o.onLost(reason, delay);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  private async connectOnce(onAlive: () => void): Promise<void> {
    const idleMs = this.o.idleTimeoutMs ?? 45_000;
    const ac = new AbortController();
    this.connection = ac;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => ac.abort(new Error(`no data for ${idleMs} ms`)), idleMs);
    };
    arm();
    try {
      const res = await request(this.o.url, {
        method: 'GET',
        headers: this.o.headers,
        signal: ac.signal,
        dispatcher: this.agent,
        headersTimeout: idleMs + 1_000,
        bodyTimeout: 0,
      });
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        const text = await res.body.text().catch(() => '');
        throw new Error(`HTTP ${res.statusCode}${apiMessage(text)}`);
      }
      const parser = new SseParser({
        onEvent: (event) => {
          onAlive();
          if (event.type === 'assignments') this.offer(event.data);
        },
        onComment: () => onAlive(),
      });
      for await (const chunk of res.body) {
        arm();
        parser.push(chunk as Buffer);
      }
      parser.end();
    } catch (error) {
      throw ac.signal.aborted && ac.signal.reason instanceof Error ? ac.signal.reason : error;
    } finally {
      clearTimeout(idle);
      if (this.connection === ac) this.connection = null;
    }
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

function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && !error.message.includes(cause.message)
    ? `${error.message}: ${cause.message}`
    : error.message;
}
