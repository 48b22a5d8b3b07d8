// The traffic listeners' responses tell the connection's ledger and the attempt when they close
// (src/proxy/response-close.ts): each slot's watcher once, ledger first; an emptied slot is not
// told; and a ProxyResponse is made as node:http makes any response (its options passed on).

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { ResponseCloseWatcher } from '../../src/proxy/response-close.js';
import { ProxyResponse } from '../../src/proxy/response-close.js';

/** A real response of a real server on 127.0.0.1, handed to `use`, then finished. */
async function withResponse(use: (res: ProxyResponse) => void): Promise<void> {
  let closed!: () => void;
  const done = new Promise<void>((r) => {
    closed = r;
  });
  const server = createServer({ ServerResponse: ProxyResponse }, (_req, res) => {
    use(res);
    res.on('close', closed); // added after the response's own listener: it runs after it
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const reply = await fetch(`http://127.0.0.1:${port}/`);
  await reply.text();
  await done;
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

function recorder(name: string, calls: string[]): ResponseCloseWatcher {
  return { responseClosed: () => calls.push(name) };
}

type Slot = 'closeLedger' | 'closeAttempt';

describe('ProxyResponse', () => {
  it.each<[string, [Slot, string | null][], string[]]>([
    [
      'both slots: ledger first',
      [
        ['closeAttempt', 'a'],
        ['closeLedger', 'l'],
      ],
      ['l', 'a'],
    ],
    [
      'an emptied slot is not told',
      [
        ['closeLedger', 'l'],
        ['closeAttempt', 'a'],
        ['closeAttempt', null],
      ],
      ['l'],
    ],
    [
      'a replaced watcher: only the last',
      [
        ['closeAttempt', 'a1'],
        ['closeAttempt', 'a2'],
      ],
      ['a2'],
    ],
    ['one slot alone', [['closeAttempt', 'a']], ['a']],
    ['no slot', [], []],
  ])('%s', async (_name, puts, expected) => {
    const calls: string[] = [];
    let after: (ResponseCloseWatcher | null)[] = [];
    await withResponse((res) => {
      for (const [slot, name] of puts) res[slot] = name === null ? null : recorder(name, calls);
      res.once('close', () => {
        after = [res.closeLedger, res.closeAttempt];
      });
    });
    expect(calls).toEqual(expected);
    expect(after).toEqual([null, null]); // told once: the slots are emptied as they are told
  });

  it("is made with node:http's options: a server's rejectNonStandardBodyWrites reaches it", async () => {
    let refused = 'not asked';
    let listeners = -1;
    const server = createServer(
      { ServerResponse: ProxyResponse, rejectNonStandardBodyWrites: true },
      (_req, res) => {
        listeners = res.listenerCount('close');
        try {
          res.write('x'); // a body for a HEAD request: refused only if the option reached res
          refused = 'no';
        } catch (error) {
          refused = (error as NodeJS.ErrnoException).code ?? 'unknown';
        }
        res.end();
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const reply = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
    expect(reply.status).toBe(200);
    expect(refused).toBe('ERR_HTTP_BODY_NOT_ALLOWED');
    expect(listeners).toBe(1); // its own, one per response
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
