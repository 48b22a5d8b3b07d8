/**
 * The one way a test waits: for the event itself, never for a stretch of wall-clock time.
 *
 * A test on a busy machine (two cores shared by several runs) cannot assume anything happens
 * within N ms, so it polls for the state it needs (`waitFor`) or awaits the event
 * (`waitForEvent`). The timeout only bounds a hang: keep it generous (tens of seconds) — a test
 * that passes never waits for it, and a slow machine must not turn into a failure.
 */
import type { EventEmitter } from 'node:events';
import { inspect } from 'node:util';

/** Thrown from a `waitFor` check: stop waiting now, the condition can no longer be met. */
export class Hopeless extends Error {}

export interface WaitOptions {
  /** Gives up after this long; it only bounds a hang (default 20 s, under vitest's 30 s). */
  timeoutMs?: number;
  /** Pause between two checks (default 20 ms). */
  everyMs?: number;
}

/** What a check may answer: a value ends the wait, `false`/`null`/`undefined` means "not yet". */
export type Check<T> = () => T | false | null | undefined | Promise<T | false | null | undefined>;

const DEFAULT_TIMEOUT_MS = 20_000;

function describe(value: unknown): string {
  return value instanceof Error ? value.message : inspect(value, { depth: 3, breakLength: 120 });
}

/**
 * Polls `check` until it answers a value other than `false`, `null` or `undefined`, and resolves
 * with that value. A check that throws counts as "not yet" (the service may still be starting),
 * except `Hopeless`, which is rethrown at once. On timeout it throws naming `what` and the last
 * answer or error, so a failure says what never happened and what was seen instead.
 * `options` may be just the timeout in ms.
 */
export async function waitFor<T>(
  what: string,
  check: Check<T>,
  options: WaitOptions | number = {},
): Promise<T> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, everyMs = 20 } =
    typeof options === 'number' ? { timeoutMs: options } : options;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const value = await check();
      if (value !== false && value !== null && value !== undefined) return value;
      last = `last answer: ${describe(value)}`;
    } catch (error) {
      if (error instanceof Hopeless) throw error;
      last = `last error: ${describe(error)}`;
    }
    if (Date.now() >= deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${last})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Resolves with the arguments of the first `event` on `emitter` for which `accept` holds (every
 * one by default). Rejects on the emitter's `error` event, or after `timeoutMs` naming `what`.
 * Subscribe before doing what triggers the event, so the event cannot be missed.
 */
export function waitForEvent<A extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  what: string,
  options: { timeoutMs?: number; accept?: (...args: A) => boolean } = {},
): Promise<A> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<A>((resolve, reject) => {
    const finish = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== 'error') emitter.off('error', onError);
    };
    const onEvent = (...args: unknown[]) => {
      if (options.accept && !options.accept(...(args as A))) return;
      finish();
      resolve(args as A);
    };
    const onError = (error: unknown) => {
      finish();
      reject(error);
    };
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (event '${event}')`));
    }, timeoutMs);
    emitter.on(event, onEvent);
    if (event !== 'error') emitter.on('error', onError);
  });
}
