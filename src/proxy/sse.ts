// A small Server-Sent Events parser after the WHATWG "event stream interpretation" rules: fields
// data/event/id/retry, multi-line data, CR/LF/CRLF line ends (also split across chunks), comments.

export interface SseEvent {
  /** The `event:` field, or `message` when the event had none. */
  readonly type: string;
  /** The `data:` lines joined with `\n` (the last line's newline removed). */
  readonly data: string;
  /** The last event id seen on this stream (it persists across events), or `''`. */
  readonly id: string;
}

export interface SseHandlers {
  onEvent(event: SseEvent): void;
  /** A comment line (`: keepalive`), without the colon and the one leading space. */
  onComment?(text: string): void;
  /** A valid `retry:` field (reconnection time in ms). */
  onRetry?(ms: number): void;
}

export interface SseParserOptions {
  /** Largest line or event (in UTF-16 code units) before `push` throws; default 64 Mi. */
  readonly maxSize?: number;
}

const LF = 10;
const CR = 13;

/** Thrown by `push` when a line or an event outgrows `maxSize`: the stream should be dropped. */
export class SseOverflowError extends Error {
  constructor(limit: number) {
    super(`server-sent event larger than ${limit} characters`);
    this.name = 'SseOverflowError';
  }
}

export class SseParser {
  private readonly handlers: SseHandlers;
  private readonly maxSize: number;
  private readonly decoder = new TextDecoder('utf-8');
  private started = false;
  /** The incomplete line so far. */
  private partial = '';
  /** The previous chunk ended in CR: an LF starting the next chunk belongs to it. */
  private afterCR = false;
  private data: string[] = [];
  private dataSize = 0;
  private type = '';
  private lastId = '';

  constructor(handlers: SseHandlers, options: SseParserOptions = {}) {
    this.handlers = handlers;
    this.maxSize = options.maxSize ?? 64 * 1024 * 1024;
  }

  /** The id a reconnecting client sends as `Last-Event-ID`. */
  get lastEventId(): string {
    return this.lastId;
  }

  /** Feeds bytes (decoded as UTF-8, also across chunk boundaries) or already-decoded text. */
  push(chunk: Uint8Array | string): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (text.length === 0) return;
    let start = 0;
    if (this.afterCR) {
      this.afterCR = false;
      if (text.charCodeAt(0) === LF) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      const line = this.partial === '' ? text.slice(start, i) : this.partial + text.slice(start, i);
      this.partial = '';
      if (c === CR) {
        if (i + 1 === text.length) this.afterCR = true;
        else if (text.charCodeAt(i + 1) === LF) i++;
      }
      start = i + 1;
      this.line(line);
    }
    if (start < text.length) {
      this.partial += text.slice(start);
      if (this.partial.length > this.maxSize) throw new SseOverflowError(this.maxSize);
    }
  }

  /** End of stream: an event without its terminating blank line is discarded, as the spec says. */
  end(): void {
    this.partial = '';
    this.afterCR = false;
    this.data = [];
    this.dataSize = 0;
    this.type = '';
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) {
      this.handlers.onComment?.(line.charCodeAt(1) === 32 ? line.slice(2) : line.slice(1));
      return;
    }
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case 'event':
        this.type = value;
        break;
      case 'data':
        this.dataSize += value.length + 1;
        if (this.dataSize > this.maxSize) throw new SseOverflowError(this.maxSize);
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(): void {
    const hasData = this.data.length > 0;
    const event: SseEvent = {
      type: this.type === '' ? 'message' : this.type,
      data: this.data.join('\n'),
      id: this.lastId,
    };
    this.data = [];
    this.dataSize = 0;
    this.type = '';
    if (hasData) this.handlers.onEvent(event);
  }
}
