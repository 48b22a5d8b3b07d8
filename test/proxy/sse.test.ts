// Tests for the Server-Sent Events parser: fields, multi-line data, line ends split across chunks,
// comments, ids that persist, UTF-8 split across chunks, and the size limit.

import { describe, expect, it } from 'vitest';
import type { SseEvent } from '../../src/proxy/sse.js';
import { SseOverflowError, SseParser } from '../../src/proxy/sse.js';

function collect(options?: { maxSize?: number }) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = new SseParser(
    {
      onEvent: (e) => events.push(e),
      onComment: (c) => comments.push(c),
      onRetry: (ms) => retries.push(ms),
    },
    options,
  );
  return { parser, events, comments, retries };
}

function parseAll(text: string) {
  const c = collect();
  c.parser.push(text);
  return c;
}

describe('SseParser', () => {
  it('parses event, id and data fields', () => {
    const { events } = parseAll('event: snapshot\nid: 7\ndata: {"version":7}\n\n');
    expect(events).toEqual([{ type: 'snapshot', id: '7', data: '{"version":7}' }]);
  });

  it('defaults the type to message and joins multi-line data with LF', () => {
    const { events } = parseAll('data: a\ndata:b\ndata:  c\n\n');
    expect(events).toEqual([{ type: 'message', id: '', data: 'a\nb\n c' }]);
  });

  it('accepts LF, CRLF and CR line ends, mixed', () => {
    const { events } = parseAll('data: 1\r\n\r\ndata: 2\r\rdata: 3\n\ndata: 4\r\n\n');
    expect(events.map((e) => e.data)).toEqual(['1', '2', '3', '4']);
  });

  it('handles a CRLF split across chunks as one line end', () => {
    const c = collect();
    c.parser.push('data: x\r');
    c.parser.push('\ndata: y\r');
    c.parser.push('\n\r');
    c.parser.push('\n');
    expect(c.events).toEqual([{ type: 'message', id: '', data: 'x\ny' }]);
  });

  it('reassembles lines and events split at every byte', () => {
    const text = 'event: snapshot\r\nid: 12\r\ndata: {"a":"é€😀"}\r\n\r\n: keepalive\n';
    const bytes = new TextEncoder().encode(text);
    const c = collect();
    for (const b of bytes) c.parser.push(Uint8Array.of(b));
    expect(c.events).toEqual([{ type: 'snapshot', id: '12', data: '{"a":"é€😀"}' }]);
    expect(c.comments).toEqual(['keepalive']);
  });

  it('reports comments and does not dispatch them as events', () => {
    const { events, comments } = parseAll(': keepalive\n:raw\n\n');
    expect(events).toEqual([]);
    expect(comments).toEqual(['keepalive', 'raw']);
  });

  it('does not dispatch an event without data, and resets its type', () => {
    const { events } = parseAll('event: snapshot\n\ndata: d\n\n');
    expect(events).toEqual([{ type: 'message', id: '', data: 'd' }]);
  });

  it('dispatches an empty data field as an empty string', () => {
    const { events } = parseAll('data\n\ndata:\n\n');
    expect(events.map((e) => e.data)).toEqual(['', '']);
  });

  it('keeps the last id across events and ignores ids containing NUL', () => {
    const c = parseAll('id: 1\ndata: a\n\ndata: b\n\nid: 2\0\ndata: c\n\nid\ndata: d\n\n');
    expect(c.events.map((e) => e.id)).toEqual(['1', '1', '1', '']);
    expect(c.parser.lastEventId).toBe('');
  });

  it('reads retry only when it is all digits, ignores unknown fields', () => {
    const { events, retries } = parseAll('retry: 3000\nretry: 5s\nfoo: bar\ndata: x\n\n');
    expect(retries).toEqual([3000]);
    expect(events).toEqual([{ type: 'message', id: '', data: 'x' }]);
  });

  it('removes only one leading space from a value', () => {
    const { events } = parseAll('data:   two spaces\n\n');
    expect(events[0]!.data).toBe('  two spaces');
  });

  it('strips a leading byte order mark once', () => {
    const { events } = parseAll('\ufeffdata: a\n\n');
    expect(events).toEqual([{ type: 'message', id: '', data: 'a' }]);
  });

  it('discards an event left incomplete at the end of the stream', () => {
    const c = collect();
    c.parser.push('data: partial\n');
    c.parser.end();
    c.parser.push('data: next\n\n');
    expect(c.events).toEqual([{ type: 'message', id: '', data: 'next' }]);
  });

  it('throws when a line or an event outgrows the limit', () => {
    const line = collect({ maxSize: 10 });
    expect(() => line.parser.push('data: 0123456789abcdef')).toThrow(SseOverflowError);
    const event = collect({ maxSize: 10 });
    expect(() => event.parser.push('data: 1234\ndata: 5678\ndata: 9\n')).toThrow(SseOverflowError);
  });

  it('parses a large one-line event pushed in many chunks', () => {
    const data = JSON.stringify({ items: Array.from({ length: 20_000 }, (_, i) => `item-${i}`) });
    const text = `event: snapshot\nid: 1\ndata: ${data}\n\n`;
    const c = collect();
    for (let i = 0; i < text.length; i += 1000) c.parser.push(text.slice(i, i + 1000));
    expect(c.events).toHaveLength(1);
    expect(c.events[0]!.data).toBe(data);
  });
});
