// What a delivery sends, decided without I/O: the body for the notifier's format and the headers
// that sign it. The body is built from the notification frozen in the outbox, so every retry sends
// the same bytes (only the timestamp and signature headers change).

import { createHmac } from 'node:crypto';
import type { Notification, NotifierFormat } from '../store/notifier-model.js';
import { notifySummary } from '../store/notify-events.js';

export const SIGNATURE_HEADER = 'x-turnout-signature';
export const TIMESTAMP_HEADER = 'x-turnout-timestamp';
export const DELIVERY_HEADER = 'x-turnout-delivery';
export const EVENT_HEADER = 'x-turnout-event';

/** The request body: the notification itself (webhook) or a Slack message (`{"text": …}`). */
export function notificationBody(format: NotifierFormat, n: Notification): string {
  if (format === 'slack') return JSON.stringify({ text: slackText(n) });
  return JSON.stringify({ ...n, summary: notifySummary(n) });
}

const ICON: Record<Notification['event'], string> = {
  analysis_failed: ':x:',
  aborted: ':no_entry:',
  failed: ':x:',
  promoted: ':white_check_mark:',
  reverted: ':rewind:',
  waiting_for_approval: ':hourglass:',
};

function slackText(n: Notification): string {
  return `${ICON[n.event]} [turnout] ${notifySummary(n)}`;
}

/**
 * `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`). The timestamp is signed with the
 * body so a captured request cannot be replayed later with a fresh timestamp.
 */
export function signature(secret: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestampSec}.${body}`).digest('hex');
  return `sha256=${mac}`;
}

/** The request headers: content type, delivery id and event always; signed when there is a secret. */
export function deliveryHeaders(
  n: Notification,
  body: string,
  secret: string | null,
  nowMs: number,
): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'turnout-notifier',
    [DELIVERY_HEADER]: n.id,
    [EVENT_HEADER]: n.event,
  };
  if (secret !== null) {
    const ts = Math.floor(nowMs / 1000);
    headers[TIMESTAMP_HEADER] = String(ts);
    headers[SIGNATURE_HEADER] = signature(secret, ts, body);
  }
  return headers;
}
