// The notification deliverer: takes due deliveries from the store's outbox, POSTs each to its
// notifier, and records how it went (retry with backoff, or failed after the last attempt). It
// runs beside the release engine, never inside its transactions; every request has a timeout, so
// a slow receiver delays only its own delivery. Deliveries are claimed in the store before they
// are sent (several replicas never send one at the same time) and a claim lapses by itself, so a
// deliverer killed mid-request leaves the delivery due again: at-least-once, each with an id.

import { Agent, request } from 'undici';
import type { ClaimedDelivery, DeliveryOutcome } from '../store/notifier-model.js';
import type { Store } from '../store/store.js';
import type { ControlLogger } from './logger.js';
import { deliveryHeaders, notificationBody } from './notify-format.js';
import type { RetryPolicy } from './notify-retry.js';
import { DEFAULT_RETRY, outcomeOf } from './notify-retry.js';

export interface DelivererOptions {
  readonly store: Store;
  /** How often the outbox is looked at (also woken by kick()). Default 1000. */
  readonly pollMs?: number;
  /** Per request, connect to last body byte. Default 5000. */
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  /** Deliveries claimed (and sent concurrently) at a time. Default 16. */
  readonly batch?: number;
  /** The clock for due times and backoff (ms since the epoch); tests move it. */
  readonly now?: () => number;
  readonly logger?: ControlLogger;
  /** Called after each outcome is recorded: tests and the API wait on it. */
  readonly onOutcome?: (claimed: ClaimedDelivery, outcome: DeliveryOutcome) => void;
}

export class NotifierDeliverer {
  private readonly o: DelivererOptions;
  private readonly timeoutMs: number;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  private readonly inFlight = new Set<AbortController>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopping = false;

  constructor(options: DelivererOptions) {
    this.o = options;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.now = options.now ?? Date.now;
  }

  start(): void {
    if (this.timer !== null || this.stopping) return;
    this.timer = setInterval(() => void this.kick(), this.o.pollMs ?? 1000);
    this.timer.unref();
    void this.kick();
  }

  /**
   * Delivers what is due now; answers when that pass is over. A kick during a pass runs another
   * pass after it (the new event may have missed the first claim).
   */
  kick(): Promise<void> {
    if (this.stopping) return Promise.resolve();
    if (this.running !== null) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.pass().catch((error: unknown) => {
          this.o.logger?.error(
            { event: 'notify_pass_failed', reason: (error as Error).message },
            'notification delivery pass failed; retrying at the next interval',
          );
        });
      } while (this.again && !this.stopping);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /**
   * Stops polling and abandons requests in flight without recording them: their claims lapse and
   * the next deliverer sends them again (at-least-once).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    for (const abort of this.inFlight) abort.abort();
    await this.running;
    await this.agent.close();
  }

  private async pass(): Promise<void> {
    const batch = this.o.batch ?? 16;
    for (;;) {
      const now = this.now();
      // A read first: claiming takes the store's write lock, which an idle poll should not.
      const due = await this.o.store.nextDeliveryDue();
      if (due === null || Date.parse(due) > now) return;
      // A claim outlives the request's timeout, so it lapses only when its deliverer is gone.
      const until = new Date(now + 2 * this.timeoutMs + 1000).toISOString();
      const claimed = await this.o.store.claimDeliveries(new Date(now).toISOString(), until, batch);
      await Promise.all(claimed.map((c) => this.deliver(c)));
      if (claimed.length < batch || this.stopping) return;
    }
  }

  private async deliver(claimed: ClaimedDelivery): Promise<void> {
    const { delivery, notifier } = claimed;
    const result = await this.send(claimed);
    if (this.stopping) return;
    const outcome = outcomeOf(delivery.attempts, result, this.now(), this.retry);
    await this.o.store.finishDelivery(delivery.id, outcome);
    const fields = {
      event: `notify_${outcome.state}`,
      notifier: notifier.name,
      delivery: delivery.notification.id,
      attempt: delivery.attempts,
      status: result.status,
      reason: result.error,
    };
    if (outcome.state === 'failed') this.o.logger?.error(fields, 'notification delivery failed');
    else if (outcome.state === 'pending') this.o.logger?.warn(fields, 'notification will retry');
    else this.o.logger?.info(fields, 'notification delivered');
    this.o.onOutcome?.(claimed, outcome);
  }

  private async send({
    delivery,
    notifier,
  }: ClaimedDelivery): Promise<{ ok: boolean; status: number | null; error: string | null }> {
    const body = notificationBody(notifier.format, delivery.notification);
    // The signed timestamp is wall time, whatever the scheduling clock: receivers check it.
    const headers = deliveryHeaders(delivery.notification, body, notifier.secret, Date.now());
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    this.inFlight.add(abort);
    try {
      const res = await request(notifier.url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal: abort.signal,
      });
      await res.body.dump({ limit: 64 * 1024 });
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      return { ok, status: res.statusCode, error: ok ? null : `HTTP ${res.statusCode}` };
    } catch (error) {
      const reason = abort.signal.aborted
        ? `no answer within ${this.timeoutMs} ms`
        : (error as Error).message;
      return { ok: false, status: null, error: reason.slice(0, 500) };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(abort);
    }
  }
}
