// Upgrade requests: WebSocket is routed like any request, then the two sockets are joined;
// `Upgrade: h2c` is refused (a cleartext HTTP/2 upgrade through a proxy is a smuggling vector).
// The handshake always settles: 101 (tunnel), any other answer (relayed to the client as is, then
// the connection is closed), an upstream error, or the handshake deadline.

import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { responseHeaders } from './headers.js';
import { endDetached } from './respond-error.js';

export function isWebSocketUpgrade(req: { headers: IncomingHttpHeaders }): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

function headLines(headers: Record<string, string | string[] | number | undefined>): string {
  let head = '';
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`;
  }
  return head;
}

function switchingHead(headers: Record<string, string | string[] | undefined>): string {
  return `HTTP/1.1 101 Switching Protocols\r\n${headLines(headers)}\r\n`;
}

/**
 * The head of a non-101 answer for the raw client socket: the upstream's end-to-end headers,
 * chunked framing when the upstream gave no length, and `connection: close` — the client may
 * already have sent bytes meant for a tunnel; they must never be read as a request.
 */
function answerHead(
  status: number,
  upstream: IncomingHttpHeaders,
  chunked: boolean,
  statusText?: string,
): string {
  const reason = statusText || STATUS_CODES[status] || 'Unknown';
  const headers = {
    ...responseHeaders(upstream),
    ...(chunked ? { 'transfer-encoding': 'chunked' } : {}),
    connection: 'close',
  };
  return `HTTP/1.1 ${status} ${reason}\r\n${headLines(headers)}\r\n`;
}

/** Whether a relayed answer needs chunked framing: it has a body but no stated length. */
function needsChunking(status: number, headers: IncomingHttpHeaders): boolean {
  return headers['content-length'] === undefined && status !== 204 && status !== 304;
}

export type TunnelResult =
  /** 101: the sockets are joined; `closed` resolves when the tunnel has ended. */
  | { readonly kind: 'upgraded'; readonly closed: Promise<void> }
  /** Any other answer, relayed to the client, which is then closed. */
  | { readonly kind: 'answered'; readonly status: number }
  /** A 503 not relayed (`holdBack503`): nothing was written to the client, a retry may follow. */
  | { readonly kind: 'held-503' }
  /** Nothing usable came back (nothing was written to the client). */
  | { readonly kind: 'failed'; readonly error: Error; readonly timeout: boolean };

/** Joins two sockets; resolves once both are closed. */
function join(upstream: Duplex, client: Duplex): Promise<void> {
  return new Promise((closed) => {
    upstream.pipe(client).pipe(upstream);
    const closeBoth = () => {
      upstream.destroy();
      client.destroy();
      closed();
    };
    upstream.on('error', closeBoth);
    client.on('error', closeBoth);
    upstream.on('close', closeBoth);
    client.on('close', closeBoth);
  });
}

/** The dispatch handler of one handshake; `settle` is called exactly once. */
class Handshake implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private settled = false;
  private relaying = false;
  private chunked = false;
  private status = 0;
  private readonly deadline: NodeJS.Timeout;
  private readonly onClientGone = () => this.controller?.abort(new Error('client went away'));

  constructor(
    private readonly client: Duplex,
    private readonly clientHead: Buffer,
    private readonly settle: (r: TunnelResult) => void,
    timeoutMs: number,
    private readonly holdBack503 = false,
  ) {
    // A native timer, as in forward.ts: undici's headersTimeout ticks too coarsely.
    this.deadline = setTimeout(() => {
      const error = new Error(`no answer to the upgrade within ${timeoutMs} ms`);
      this.finish({ kind: 'failed', error, timeout: true });
      this.controller?.abort(error);
    }, timeoutMs);
    client.once('close', this.onClientGone);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.settled) controller.abort(new Error('upgrade handshake abandoned'));
  }

  onRequestUpgrade(
    _controller: Dispatcher.DispatchController,
    _status: number,
    headers: IncomingHttpHeaders,
    upstream: Duplex,
  ): void {
    if (this.settled) {
      upstream.destroy();
      return;
    }
    this.client.write(switchingHead(headers as Record<string, string | string[]>));
    if (this.clientHead.length > 0) upstream.write(this.clientHead);
    this.finish({ kind: 'upgraded', closed: join(upstream, this.client) });
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
    statusText?: string,
  ): void {
    this.controller = controller;
    if (status < 200 || this.settled) return; // interim answers are not relayed
    clearTimeout(this.deadline);
    if (status === 503 && this.holdBack503) {
      this.finish({ kind: 'held-503' });
      controller.abort(new Error('503 held back for a retry')); // its body is not wanted
      return;
    }
    this.relaying = true;
    this.status = status;
    this.chunked = needsChunking(status, headers);
    this.client.write(answerHead(status, headers, this.chunked, statusText));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.relaying || chunk.length === 0) return;
    if (this.chunked) this.client.write(`${chunk.length.toString(16)}\r\n`);
    const more = this.client.write(chunk);
    if (this.chunked) this.client.write('\r\n');
    if (!more) {
      controller.pause();
      this.client.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController): void {
    if (!this.relaying) return;
    endDetached(this.client, this.chunked ? '0\r\n\r\n' : undefined);
    this.finish({ kind: 'answered', status: this.status });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.relaying) {
      this.client.destroy(); // the status line is out: all we can do is cut it short
      this.finish({ kind: 'answered', status: this.status });
      return;
    }
    this.finish({ kind: 'failed', error, timeout: false });
  }

  finish(r: TunnelResult): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.client.off('close', this.onClientGone);
    this.settle(r);
  }
}

export interface TunnelOptions {
  readonly path: string;
  readonly headers: string[];
  /** How long the upstream has to answer the handshake. */
  readonly timeoutMs: number;
  /** When true, a 503 answer is not relayed to the client: the caller may retry instead. */
  readonly holdBack503?: boolean;
}

/** Opens the upstream upgrade and joins it to the client socket; never rejects. */
export function tunnelWebSocket(
  pool: Dispatcher,
  clientSocket: Duplex,
  clientHead: Buffer,
  opts: TunnelOptions,
): Promise<TunnelResult> {
  return new Promise((resolve) => {
    // undici takes a handler for its new API only when it has onRequestStart (this one has).
    const handshake = new Handshake(
      clientSocket,
      clientHead,
      resolve,
      opts.timeoutMs,
      opts.holdBack503,
    );
    try {
      pool.dispatch(
        {
          path: opts.path,
          method: 'GET',
          headers: opts.headers,
          upgrade: 'websocket',
          headersTimeout: opts.timeoutMs,
          bodyTimeout: opts.timeoutMs,
        },
        handshake,
      );
    } catch (error) {
      // A request undici refuses to send (it throws): a failed upgrade, not an unhandled
      // rejection that would take the whole proxy down.
      handshake.finish({ kind: 'failed', error: error as Error, timeout: false });
    }
  });
}
