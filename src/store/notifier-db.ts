// The notifier tables as Kysely sees them (merged into Database in db.ts), and row ↔ record.

import type { Generated, Selectable } from 'kysely';
import type {
  DeliveryState,
  Notification,
  Notifier,
  NotifierDelivery,
  NotifierFormat,
} from './notifier-model.js';

type Id = number | string | bigint;

export interface NotifierTables {
  notifiers: {
    name: string;
    product: string;
    format: NotifierFormat;
    url: string;
    events: string;
    secret: string | null;
    created_at: string;
    updated_at: string;
  };
  notifier_deliveries: {
    id: Generated<Id>;
    notifier: string;
    state: DeliveryState;
    attempts: number;
    next_attempt_at: string | null;
    last_attempt_at: string | null;
    last_status: number | null;
    last_error: string | null;
    delivered_at: string | null;
    created_at: string;
    notification: string;
  };
}

export const notifierOf = (r: Selectable<NotifierTables['notifiers']>): Notifier => ({
  name: r.name,
  product: r.product,
  format: r.format,
  url: r.url,
  events: JSON.parse(r.events),
  secret: r.secret,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const deliveryOf = (
  r: Selectable<NotifierTables['notifier_deliveries']>,
): NotifierDelivery => ({
  id: Number(r.id),
  notifier: r.notifier,
  state: r.state,
  attempts: Number(r.attempts),
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status === null ? null : Number(r.last_status),
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
  createdAt: r.created_at,
  notification: JSON.parse(r.notification) as Notification,
});
