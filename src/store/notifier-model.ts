// Notifiers (where ticket notifications go) and their deliveries (the outbox). A webhook notifier
// must have a secret (every request is signed with it); a Slack incoming webhook's URL is its own
// secret, so it takes none. Secrets and Slack URLs are stored as given (signing needs them) and
// never answered in full by the API (src/api/routes/notifiers.ts shows a hint).

import { z } from 'zod';
import { TurnoutError } from '../errors.js';
import type { Json } from './model.js';
import { nameSchema } from './model.js';
import type { NotifyEvent } from './notify-events.js';
import { NOTIFY_EVENTS } from './notify-events.js';

export const NOTIFIER_FORMATS = ['webhook', 'slack'] as const;
export type NotifierFormat = (typeof NOTIFIER_FORMATS)[number];

/** http(s) only, no credentials in it (they would sit in logs and errors). */
const urlSchema = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'a URL must be a string') })
  .max(2048)
  .superRefine((text, ctx) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a URL` });
      return;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      ctx.addIssue({ code: 'custom', message: 'a notifier URL is http:// or https://' });
    if (url.username !== '' || url.password !== '')
      ctx.addIssue({ code: 'custom', message: 'a notifier URL carries no user or password' });
  });

export const notifierInputSchema = z.strictObject({
  name: nameSchema('notifier'),
  product: nameSchema('product'),
  format: z.enum(NOTIFIER_FORMATS).default('webhook'),
  url: urlSchema,
  /** What to send; all of them when left out. */
  events: z
    .array(z.enum(NOTIFY_EVENTS))
    .min(1, 'a notifier subscribes to at least one event')
    .max(NOTIFY_EVENTS.length)
    .refine((e) => new Set(e).size === e.length, 'an event is listed once')
    .default([...NOTIFY_EVENTS]),
  /** The HMAC-SHA256 key of a webhook's signature. */
  secret: z
    .string()
    .min(16, 'a secret has at least 16 characters')
    .max(512)
    .nullable()
    .default(null),
});

export type NotifierInput = z.input<typeof notifierInputSchema>;
export type Notifier = z.output<typeof notifierInputSchema> & {
  createdAt: string;
  updatedAt: string;
};

/** A webhook needs a secret; a Slack webhook takes none. Field `secret` either way. */
export function checkNotifierSecret(n: Pick<Notifier, 'format' | 'secret'>): void {
  if (n.format === 'webhook' && n.secret === null) {
    throw new TurnoutError(
      'invalid_config',
      'secret: a webhook notifier signs every request, so it needs a secret (16+ characters)',
      'secret',
    );
  }
  if (n.format === 'slack' && n.secret !== null) {
    throw new TurnoutError(
      'invalid_config',
      'secret: a slack notifier takes no secret (its URL is the secret)',
      'secret',
    );
  }
}

/** What a delivery carries, frozen when the ticket event is appended (a type: API schemas are loose). */
export type Notification = {
  /** The delivery's id: the same on every retry, so a receiver can drop duplicates. */
  id: string;
  event: NotifyEvent;
  product: string;
  ticket: number;
  /** The ticket event it comes from: its type and sequence number within the ticket. */
  ticketEvent: { type: string; seq: number; actor: string; at: string; data: Json };
  message: string | null;
};

export const DELIVERY_STATES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

export type NotifierDelivery = {
  id: number;
  notifier: string;
  state: DeliveryState;
  /** Attempts started so far (a claim counts, even if the process died during it). */
  attempts: number;
  /** When it is due (pending); null once delivered or failed. */
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  /** The receiver's HTTP status of the last attempt; null: no answer (refused, timeout). */
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
  notification: Notification;
};

/** A due delivery, claimed by a deliverer, with the notifier it goes to. */
export interface ClaimedDelivery {
  delivery: NotifierDelivery;
  notifier: Notifier;
}

/** What a deliverer records after an attempt. */
export interface DeliveryOutcome {
  state: DeliveryState;
  attemptAt: string;
  /** For a pending one: when to try again. */
  nextAttemptAt: string | null;
  status: number | null;
  error: string | null;
}

/** A notifier as the API and the audit log show it: no secret, no Slack URL path. */
export interface PublicNotifier extends Omit<Notifier, 'secret'> {
  /** The secret's last 4 characters (`…c0de`), enough to tell which one is set; null: none. */
  secretHint: string | null;
}

export function publicNotifier(n: Notifier): PublicNotifier {
  const { secret, ...rest } = n;
  return {
    ...rest,
    url: shownUrl(n.format, n.url),
    secretHint: secret === null ? null : `…${secret.slice(-4)}`,
  };
}

/**
 * A Slack incoming-webhook URL's path is its secret: only the origin is shown. A webhook's query
 * may carry a token: origin and path only.
 */
export function shownUrl(format: NotifierFormat, url: string): string {
  const u = new URL(url);
  return format === 'slack' ? `${u.origin}/…` : `${u.origin}${u.pathname}`;
}
