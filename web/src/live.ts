// The live event stream (GET /v1/events, Server-Sent Events) read with fetch() and a stream
// reader, so the bearer token stays in the Authorization header and never in a URL. One
// connection for the whole app; it reconnects with exponential backoff. Pages refetch what they
// show when a `change` or `traffic` event arrives: the dashboard never polls.

import { useEffect, useRef, useState } from 'react';
import { authHeaders } from './api';

export type LiveKind = 'change' | 'traffic';
export type LiveStatus = 'connecting' | 'live' | 'down';

type Listener = (kind: LiveKind, data: unknown) => void;

const listeners = new Set<Listener>();
const statusListeners = new Set<(s: LiveStatus) => void>();
let status: LiveStatus = 'connecting';
let controller: AbortController | null = null;

function setStatus(s: LiveStatus): void {
  status = s;
  for (const l of statusListeners) l(s);
}

/** Splits an SSE byte stream into events; answers the unparsed rest. */
export function parseFrames(buffer: string, emit: (event: string, data: string) => void): string {
  let rest = buffer;
  for (;;) {
    const end = rest.search(/\r?\n\r?\n/);
    if (end < 0) return rest;
    const frame = rest.slice(0, end);
    rest = rest.slice(end).replace(/^\r?\n\r?\n/, '');
    let event = 'message';
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith(':')) continue; // keepalive comment
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) emit(event, data.join('\n'));
  }
}

async function readStream(signal: AbortSignal): Promise<void> {
  const res = await fetch('/v1/events', {
    headers: { accept: 'text/event-stream', ...authHeaders() },
    signal,
  });
  if (!res.ok || res.body === null) throw new Error(`events: ${res.status}`);
  setStatus('live');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer = parseFrames(buffer + value, (event, data) => {
      if (event !== 'change' && event !== 'traffic') return;
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(data);
      } catch {
        // a frame we cannot read still means "something changed"
      }
      for (const l of listeners) l(event, parsed);
    });
  }
}

/** Connects (again) with the current token; reconnects with backoff until disconnect(). */
export function connect(): void {
  disconnect();
  const own = new AbortController();
  controller = own;
  void (async () => {
    let delay = 500;
    while (!own.signal.aborted) {
      setStatus('connecting');
      const started = Date.now();
      try {
        await readStream(own.signal);
      } catch {
        // reconnect below
      }
      if (own.signal.aborted) return;
      setStatus('down');
      if (Date.now() - started > 10_000) delay = 500; // it was up a while: start over
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 15_000);
      // Whatever changed while down: let every page refetch once.
      for (const l of listeners) l('change', null);
    }
  })();
}

export function disconnect(): void {
  controller?.abort();
  controller = null;
}

/** Calls `onEvent` for each live event of the given kinds (the latest callback is used). */
export function useLive(kinds: readonly LiveKind[], onEvent: () => void): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const key = kinds.join(',');
  useEffect(() => {
    const wanted = new Set(key.split(','));
    const l: Listener = (kind) => {
      if (wanted.has(kind)) ref.current();
    };
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, [key]);
}

export function useLiveStatus(): LiveStatus {
  const [s, set] = useState(status);
  useEffect(() => {
    statusListeners.add(set);
    return () => {
      statusListeners.delete(set);
    };
  }, []);
  return s;
}
