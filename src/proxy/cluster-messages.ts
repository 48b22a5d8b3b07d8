// The IPC messages between the primary of `turnout proxy --workers N` and its workers. Every
// message carries `turnout` (its kind), so anything else on the channel (node:cluster's own
// messages) is told apart and ignored.

import type { ListenAddress } from './server.js';

/** Primary → worker. */
export type ToWorker =
  /** The routing snapshot in force, as the primary accepted it (JSON text). */
  | { readonly turnout: 'snapshot'; readonly text: string; readonly origin: 'source' | 'disk' }
  /** Send your metrics (prom-client getMetricsAsJSON) tagged with `id`. */
  | { readonly turnout: 'stats'; readonly id: number }
  /** Stop: drain within `deadlineMs`, then exit 0. */
  | { readonly turnout: 'drain'; readonly deadlineMs: number };

/** Worker → primary. */
export type FromWorker =
  /** Ready for snapshots (the primary sends the one in force at once). */
  | { readonly turnout: 'hello' }
  /** The traffic listeners are up; the worker serves. */
  | {
      readonly turnout: 'listening';
      readonly outbound: ListenAddress | null;
      readonly edge: ListenAddress | null;
    }
  | { readonly turnout: 'stats'; readonly id: number; readonly metrics: unknown[] }
  /** Starting failed (a port taken…): the worker exits next. */
  | {
      readonly turnout: 'failed';
      readonly message: string;
      /** A bind error's errno code, syscall and port, so the primary can name the flag. */
      readonly bind?: { readonly code: string; readonly syscall: string; readonly port: number };
    };

function kind(message: unknown): unknown {
  return typeof message === 'object' && message !== null
    ? (message as { turnout?: unknown }).turnout
    : undefined;
}

const TO_WORKER = new Set(['snapshot', 'stats', 'drain']);
const FROM_WORKER = new Set(['hello', 'listening', 'stats', 'failed']);

export function isToWorker(message: unknown): message is ToWorker {
  return TO_WORKER.has(kind(message) as string);
}

export function isFromWorker(message: unknown): message is FromWorker {
  return FROM_WORKER.has(kind(message) as string);
}
