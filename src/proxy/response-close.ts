// When a client response is over (finished or cut short), two parts of the proxy must know: the
// connection's ledger of owed responses (client-connection.ts) and the attempt piping an upstream
// answer into it (forward.ts), which stops the upstream exchange if the client left first. Each
// has a slot on the response, and the response tells both as it emits 'close', ledger first.
//
// The traffic listeners create their responses as `ProxyResponse` (node:http's `ServerResponse`
// option, made for extending it): the slots are fields of the class, so no property is added to
// a response object after it is made, and one 'close' listener, added as it is made, serves both.

import type { IncomingMessage } from 'node:http';
import { ServerResponse } from 'node:http';

/** What a slot holds: told once the response has closed. */
export interface ResponseCloseWatcher {
  responseClosed(res: ServerResponse): void;
}

/** The one 'close' listener of every ProxyResponse (shared: the emitter is `this`). */
function tellSlots(this: ProxyResponse): void {
  this.tellSlots();
}

/** A traffic listener's response: node:http's, with the proxy's two close slots. */
export class ProxyResponse<
  Request extends IncomingMessage = IncomingMessage,
> extends ServerResponse<Request> {
  /** The connection's ledger entry for this response (client-connection.ts). */
  closeLedger: ResponseCloseWatcher | null = null;
  /** The attempt piping an upstream answer into this response (forward.ts). */
  closeAttempt: ResponseCloseWatcher | null = null;

  /** As node:http makes it: `(req, { highWaterMark, … })`, every argument passed on. */
  constructor(...args: ConstructorParameters<typeof ServerResponse<Request>>) {
    super(...args);
    this.on('close', tellSlots);
  }

  /** Each slot's watcher, once: the slots are emptied as they are told. */
  tellSlots(): void {
    const ledger = this.closeLedger;
    if (ledger !== null) {
      this.closeLedger = null;
      ledger.responseClosed(this);
    }
    const attempt = this.closeAttempt;
    if (attempt !== null) {
      this.closeAttempt = null;
      attempt.responseClosed(this);
    }
  }
}
