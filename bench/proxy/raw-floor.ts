// The floor for a Node proxy that skips node:http's server, for `npm run bench:proxy` (issue 15,
// "Beyond the floor"): node-floor.ts's forwarder (the same undici Pool raw dispatch() upstream,
// the same hop-by-hop filtering) but its client side is a net.Server fed to Node's own llhttp
// parser — the HTTPParser node:http uses internally, reading straight from the socket's handle
// (`parser.consume`, as node:http does) — and each response is written as status line, headers
// and body in ONE socket write. No IncomingMessage, no ServerResponse, no streams per request.
//
// It is the upper bound of what a raw-socket server path could win for Turnout: raw-floor's CPU
// per request against node-floor's, from the same interleaved rounds, is the most such a path
// could take off Turnout's. It is a measurement, not a server: keep-alive, Content-Length and
// chunked request bodies (forwarded whole), pipelined requests answered in order, strict parsing
// (no lenient flags); no upgrades, no header or body limits beyond llhttp's, no timeouts.
//
// Usage: node bench/proxy/raw-floor.mjs LISTEN_PORT UPSTREAM_HOST:PORT (compiled by the bench)

import type { IncomingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { createServer } from 'node:net';
import type { Dispatcher } from 'undici';
import { Pool } from 'undici';

/** Node's internal llhttp binding, as node:http uses it (Node 20 loads it without a warning). */
interface Parser {
  [callback: number]: unknown;
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(data: Buffer): unknown;
  finish(): unknown;
  consume(handle: object): void;
  unconsume(): void;
  close(): void;
}
interface ParserClass {
  new (): Parser;
  readonly REQUEST: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
  readonly kOnExecute: number;
  readonly kLenientNone: number;
}
const common = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: ParserClass;
  methods: string[];
};
const { HTTPParser, methods } = common;

const port = Number(process.argv[2]);
const upstream = process.argv[3];
const pool = new Pool(`http://${upstream}`, { connections: 256, pipelining: 1 });
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding']);
const MAX_HEADER_BYTES = 16 * 1024;
/** A response body up to this size goes out in the same write as its head. */
const SMALL_BODY = 64 * 1024;

/** One request's response, in the connection's order (pipelining answers in order). */
interface Exchange {
  head: string | null;
  chunks: Buffer[];
  bytes: number;
  /** Head and first chunks were written: what follows streams (a large or unknown body). */
  streaming: boolean;
  chunked: boolean;
  done: boolean;
  keepAlive: boolean;
}

interface Connection {
  readonly socket: Socket;
  readonly queue: Exchange[];
  /** The request being parsed. */
  method: string;
  url: string;
  headers: string[];
  body: Buffer[] | null;
  keepAlive: boolean;
  closed: boolean;
  /** The client half-closed: end once every queued response is written. */
  ended: boolean;
  /** A parse error: answer 400 and close once every queued response is written. */
  failed: boolean;
  /** A request without keep-alive was read: nothing after it is read or answered. */
  last: boolean;
}

function responseHead(status: number, h: IncomingHttpHeaders, ex: Exchange): string {
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  let length = false;
  for (const name in h) {
    if (HOP.has(name)) continue;
    if (name === 'content-length') length = true;
    const v = h[name];
    if (Array.isArray(v)) for (const one of v) head += `${name}: ${one}\r\n`;
    else if (v !== undefined) head += `${name}: ${v}\r\n`;
  }
  // No length from upstream: chunked, unless the whole body is known by the time of writing.
  ex.chunked = !length && status !== 204 && status !== 304;
  return ex.keepAlive ? head : `${head}connection: close\r\n`;
}

/** Writes what the exchange at the head of the queue has, in order, one write per exchange. */
function flush(conn: Connection): void {
  while (conn.queue.length > 0 && !conn.closed) {
    const ex = conn.queue[0]!;
    if (ex.head === null && !ex.streaming) return; // no response head yet
    if (!ex.done && !ex.streaming && ex.bytes <= SMALL_BODY) return; // wait: one write
    writeExchange(conn, ex);
    if (!ex.done) return;
    conn.queue.shift();
    if (!ex.keepAlive) end(conn);
  }
  if (conn.queue.length === 0 && conn.failed) end(conn, BAD_REQUEST);
  else if (conn.queue.length === 0 && conn.ended) end(conn);
}

const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

function end(conn: Connection, last?: string): void {
  if (conn.closed) return;
  conn.closed = true;
  if (last === undefined) conn.socket.end();
  else conn.socket.end(last, 'latin1');
}

function writeExchange(conn: Connection, ex: Exchange): void {
  let out = '';
  if (ex.head !== null) {
    out = ex.head;
    if (ex.chunked && ex.done) out += `content-length: ${ex.bytes}\r\n\r\n`;
    else out += ex.chunked ? 'transfer-encoding: chunked\r\n\r\n' : '\r\n';
    if (ex.done) ex.chunked = false;
    ex.head = null;
  }
  const parts: Buffer[] = [];
  for (const c of ex.chunks) {
    if (ex.chunked) parts.push(Buffer.from(`${c.length.toString(16)}\r\n`, 'latin1'), c, CRLF);
    else parts.push(c);
  }
  if (ex.chunked && ex.done) parts.push(LAST_CHUNK);
  ex.chunks = [];
  ex.streaming = !ex.done;
  if (parts.length === 0) conn.socket.write(out, 'latin1');
  else if (out === '') conn.socket.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  else {
    const headLen = Buffer.byteLength(out, 'latin1');
    let total = headLen;
    for (const p of parts) total += p.length;
    const buf = Buffer.allocUnsafe(total);
    buf.write(out, 0, 'latin1');
    let at = headLen;
    for (const p of parts) at += p.copy(buf, at);
    conn.socket.write(buf);
  }
}

const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

function dispatch(conn: Connection): void {
  const raw = conn.headers;
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (!HOP.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!);
  const url = conn.url;
  const path = url.startsWith('/') ? url : url.slice(url.indexOf('/', 7)) || '/';
  const body = conn.body === null ? null : Buffer.concat(conn.body);
  const ex: Exchange = {
    head: null,
    chunks: [],
    bytes: 0,
    streaming: false,
    chunked: false,
    done: false,
    keepAlive: conn.keepAlive,
  };
  conn.queue.push(ex);
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {},
    onResponseStart(_c, status, h: IncomingHttpHeaders) {
      ex.head = responseHead(status, h, ex);
    },
    onResponseData(_c, chunk: Buffer) {
      ex.chunks.push(chunk);
      ex.bytes += chunk.length;
      if (ex.streaming || ex.bytes > SMALL_BODY) flush(conn);
    },
    onResponseEnd() {
      ex.done = true;
      flush(conn);
    },
    onResponseError() {
      if (ex.head === null && !ex.streaming) {
        ex.head = 'HTTP/1.1 502 Bad Gateway\r\n';
        ex.chunks = [];
        ex.bytes = 0;
        ex.chunked = true;
        ex.done = true;
        flush(conn);
      } else {
        conn.closed = true;
        conn.socket.destroy();
      }
    },
  };
  pool.dispatch({ method: conn.method, path, headers, body }, handler);
}

/** A parse error: 400 and close, after the responses already queued (as node:http does). */
function badRequest(conn: Connection): void {
  if (conn.last || conn.failed) return; // bytes after a `Connection: close` request: ignored
  conn.failed = true;
  flush(conn);
}

// Half-open, as node:http: a client may send its requests and shut its side before the answers.
const server = createServer({ allowHalfOpen: true }, (socket) => {
  socket.setNoDelay(true);
  const conn: Connection = {
    socket,
    queue: [],
    method: '',
    url: '',
    headers: [],
    body: null,
    keepAlive: true,
    closed: false,
    ended: false,
    failed: false,
    last: false,
  };
  const parser = new HTTPParser();
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEADER_BYTES, HTTPParser.kLenientNone);
  // Headers longer than llhttp's 32-pair batch arrive in parts before headers-complete.
  parser[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    for (const h of headers) conn.headers.push(h);
    conn.url += url;
  };
  parser[HTTPParser.kOnHeadersComplete] = (
    _major: number,
    _minor: number,
    headers: string[] | undefined,
    method: number,
    url: string | undefined,
    _status: number,
    _message: string,
    upgrade: boolean,
    keepAlive: boolean,
  ) => {
    if (headers !== undefined) {
      if (conn.headers.length === 0) conn.headers = headers;
      else for (const h of headers) conn.headers.push(h);
    }
    if (url !== undefined) conn.url += url;
    conn.method = methods[method]!;
    conn.keepAlive = keepAlive && !upgrade;
    return 0;
  };
  parser[HTTPParser.kOnBody] = (b: Buffer) => {
    conn.body ??= [];
    conn.body.push(Buffer.from(b)); // the parser's buffer is reused: copy
  };
  parser[HTTPParser.kOnMessageComplete] = () => {
    if (conn.closed || conn.last || conn.failed) return;
    conn.last = !conn.keepAlive;
    dispatch(conn);
    conn.url = '';
    conn.headers = [];
    conn.body = null;
  };
  const handle = (socket as unknown as { _handle?: { isStreamBase?: boolean } })._handle;
  const onResult = (ret: unknown) => {
    if (ret instanceof Error) badRequest(conn);
  };
  if (handle?.isStreamBase) {
    // As node:http: llhttp reads straight from the handle; the socket emits no 'data'.
    parser.consume(handle);
    parser[HTTPParser.kOnExecute] = onResult;
  } else socket.on('data', (d: Buffer) => onResult(parser.execute(d)));
  socket.on('end', () => {
    conn.ended = true;
    onResult(parser.finish());
    flush(conn);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    conn.closed = true;
    if (handle?.isStreamBase) parser.unconsume();
    parser.close();
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`listening ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
