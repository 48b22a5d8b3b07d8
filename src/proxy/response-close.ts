// When a client response is over (finished or cut short), two parts of the proxy must know: the
// connection's ledger of owed responses (client-connection.ts) and the attempt piping an upstream
// answer into it (forward.ts), which stops the upstream exchange if the client left first. Each
// keeps a slot on the response; one shared 'close' listener per response serves both, ledger
// first. Two listeners per response made Node's emitter keep them in an array, which it copies
// on every emit.

import type { ServerResponse } from 'node:http';

/** What a slot holds: told once the response has closed. */
export interface ResponseCloseWatcher {
  responseClosed(res: ServerResponse): void;
}

const LEDGER = Symbol('turnout.closeLedger');
const ATTEMPT = Symbol('turnout.closeAttempt');

/** The two slots, called in this order. */
export type CloseSlot = typeof LEDGER | typeof ATTEMPT;
export const CLOSE_SLOTS = { ledger: LEDGER, attempt: ATTEMPT } as const;

type Watched = ServerResponse & {
  [LEDGER]?: ResponseCloseWatcher | null;
  [ATTEMPT]?: ResponseCloseWatcher | null;
};

/** The response's one 'close' listener (the emitter is `this`): each slot's watcher, once. */
function closed(this: Watched): void {
  const ledger = this[LEDGER];
  if (ledger != null) {
    this[LEDGER] = null;
    ledger.responseClosed(this);
  }
  const attempt = this[ATTEMPT];
  if (attempt != null) {
    this[ATTEMPT] = null;
    attempt.responseClosed(this);
  }
}

/**
 * Puts `watcher` in the response's `slot` (null empties it). The first slot ever set on a response
 * adds its listener; a slot left as null costs nothing more.
 */
export function watchClose(
  res: ServerResponse,
  slot: CloseSlot,
  watcher: ResponseCloseWatcher | null,
): void {
  const w = res as Watched;
  if (w[LEDGER] === undefined && w[ATTEMPT] === undefined) {
    w[LEDGER] = null;
    w[ATTEMPT] = null;
    res.on('close', closed);
  }
  w[slot] = watcher;
}

/** The watcher in `slot`, if any. */
export function closeWatcher(res: ServerResponse, slot: CloseSlot): ResponseCloseWatcher | null {
  return (res as Watched)[slot] ?? null;
}
