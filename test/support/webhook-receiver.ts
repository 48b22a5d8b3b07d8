// A real webhook receiver on 127.0.0.1 for notification tests: it records every request, verifies
// Turnout's signature the way a user's receiver would (its own HMAC, not Turnout's code), answers
// what the test asks for (a status, or never), and lets tests wait for the next request.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:http';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The signature checked out (with the receiver's secret, a fresh timestamp); null: no secret. */
  verified: boolean | null;
}

/** A status to answer, or 'hang': never answer (until the receiver closes). */
export type Answer = number | 'hang';

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests not answered yet ('hang'). */
  hanging(): number;
  /** The next request (or one already received beyond `seen`). */
  request(seen: number): Promise<Received>;
  close(): Promise<void>;
}

/** HMAC-SHA256 over `<timestamp>.<raw body>`, timestamp within 5 minutes: the README recipe. */
export function verifySignature(
  secret: string,
  headers: IncomingHttpHeaders,
  rawBody: string,
  nowSec = Math.floor(Date.now() / 1000),
): boolean {
  const ts = Number(headers['x-turnout-timestamp']);
  const given = String(headers['x-turnout-signature'] ?? '');
  if (!Number.isInteger(ts) || Math.abs(nowSec - ts) > 300) return false;
  const mac = createHmac('sha256', secret).update(`${ts}.${rawBody}`).digest('hex');
  const expected = Buffer.from(`sha256=${mac}`);
  const actual = Buffer.from(given);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

export async function startReceiver(options: {
  secret?: string;
  /** The answer to request number n (0-based). Default: 204 if verified (or unsigned), else 401. */
  answer?: (n: number, r: Received) => Answer;
}): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  const open = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verified =
        options.secret === undefined ? null : verifySignature(options.secret, req.headers, body);
      const r: Received = { headers: req.headers, body, verified };
      const n = received.push(r) - 1;
      for (const wake of waiters.splice(0)) wake();
      const answer = options.answer?.(n, r) ?? (verified === false ? 401 : 204);
      if (answer === 'hang') {
        open.add(res);
        res.on('close', () => open.delete(res));
        return;
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    hanging: () => open.size,
    async request(seen) {
      while (received.length <= seen) await new Promise<void>((r) => waiters.push(r));
      return received[seen] as Received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
