// How many long-lived streams (/v1/stream and /v1/events together) each token holds open. A stream
// costs the server a socket, a subscriber and a keepalive for as long as the client likes, so one
// token (a leaked one, or a client reconnecting in a loop without closing) must not be able to
// open them without end and starve everyone else. The count is per token name, shared by both
// routes; a request with no principal (a plugin registered without the auth hook, as in benches)
// is not counted.

import { TurnoutError } from '../errors.js';

/** Streams one token may hold open by default: a handful of proxies and dashboards, with room. */
export const STREAMS_PER_TOKEN = 32;

export class StreamSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly perToken: number) {
    if (!Number.isInteger(perToken) || perToken < 1) {
      throw new TurnoutError(
        'invalid_argument',
        `streams per token must be a positive integer, not ${perToken}`,
        'streamsPerToken',
      );
    }
  }

  /** Streams `token` holds now. */
  count(token: string): number {
    return this.held.get(token) ?? 0;
  }

  /**
   * Takes a slot for `token` (none: nothing to count) and answers its release, which may be called
   * any number of times; throws `too_many_streams` when the token holds all of its slots.
   */
  acquire(token: string | null, route: string): () => void {
    if (token === null) return () => {};
    const n = this.count(token);
    if (n >= this.perToken) {
      throw new TurnoutError(
        'too_many_streams',
        `token ${token} already has ${n} streams open (/v1/stream and /v1/events count together), the most a token may (${this.perToken}); close one before opening ${route}`,
      );
    }
    this.held.set(token, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.count(token) - 1;
      if (left <= 0) this.held.delete(token);
      else this.held.set(token, left);
    };
  }
}
