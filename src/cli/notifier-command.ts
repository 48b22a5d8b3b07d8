// `turnout notifier list|describe`: notification channels and how their deliveries went, through
// the API. Notifiers are created and changed with `turnout apply` (kind Notifier).

import type { Command } from 'commander';
import { createApiClient } from '../client/api-client.js';
import { fieldLines } from './describe-view.js';
import { type ApiFlags, apiFlags } from './flags.js';
import { formatTable } from './get-command.js';
import type { Io } from './io.js';
import { emit } from './io.js';

interface Delivery {
  id: number;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  notification: { id: string; event: string; ticket: number };
}

interface NotifierRecord {
  name: string;
  product: string;
  format: string;
  url: string;
  events: string[];
  secretHint: string | null;
  lastDelivery: Delivery | null;
  createdAt: string;
  updatedAt: string;
}

const enc = encodeURIComponent;

/** The row of `notifier list`: the notifier and its last delivery, flattened. */
export function notifierRow(n: NotifierRecord): Record<string, unknown> {
  const d = n.lastDelivery;
  return {
    name: n.name,
    product: n.product,
    format: n.format,
    events: n.events,
    last: d === null ? null : `${d.state} (${d.notification.event}, #${d.notification.ticket})`,
    at: d?.lastAttemptAt ?? null,
    error: d?.lastError ?? null,
  };
}

function deliveryRow(d: Delivery): Record<string, unknown> {
  return {
    id: d.notification.id,
    event: d.notification.event,
    ticket: d.notification.ticket,
    state: d.state,
    attempts: d.attempts,
    at: d.lastAttemptAt,
    status: d.lastStatus,
    error: d.lastError,
  };
}

export function registerNotifierCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const notifier = program
    .command('notifier')
    .description('notification channels (create them with apply, kind Notifier) and deliveries');

  apiFlags(
    notifier
      .command('list')
      .description('every notifier with the state of its last delivery')
      .option('--product <product>', "only this product's notifiers"),
  ).action(async (flags: ApiFlags & { product?: string }) => {
    const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
    const query = flags.product === undefined ? '' : `?product=${enc(flags.product)}`;
    const items = (await client.list(`/v1/notifiers${query}`)) as NotifierRecord[];
    const columns = ['name', 'product', 'format', 'events', 'last', 'at', 'error'];
    emit(io, flags.json === true, items, () => formatTable(columns, items.map(notifierRow)));
    setExit(0);
  });

  apiFlags(
    notifier
      .command('describe')
      .description('one notifier and its recent deliveries, newest first')
      .argument('<name>', 'the notifier'),
  ).action(async (name: string, flags: ApiFlags) => {
    const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
    const n = (await client.get(`/v1/notifiers/${enc(name)}`)) as NotifierRecord;
    const page = (await client.get(`/v1/notifiers/${enc(name)}/deliveries?limit=20`)) as {
      items: Delivery[];
    };
    const text = () =>
      [
        ...fieldLines([
          ['Notifier', `${n.name} (product ${n.product})`],
          ['Format', n.format],
          ['URL', n.url],
          ['Events', n.events.join(', ')],
          ['Secret', n.secretHint === null ? '(none)' : `set (${n.secretHint})`],
          ['Updated', n.updatedAt],
        ]),
        '',
        `Recent deliveries (${page.items.length}):`,
        ...formatTable(
          ['id', 'event', 'ticket', 'state', 'attempts', 'at', 'status', 'error'],
          page.items.map(deliveryRow),
        )
          .split('\n')
          .map((l) => `  ${l}`),
      ].join('\n');
    emit(io, flags.json === true, { kind: 'notifier', notifier: n, deliveries: page.items }, text);
    setExit(0);
  });
}
