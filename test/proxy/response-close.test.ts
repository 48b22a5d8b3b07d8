// One 'close' listener per client response serves the connection's ledger and the attempt
// (src/proxy/response-close.ts): each slot's watcher is told once, ledger first, and an emptied
// slot is not told at all.

import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { CloseSlot, ResponseCloseWatcher } from '../../src/proxy/response-close.js';
import { CLOSE_SLOTS, closeWatcher, watchClose } from '../../src/proxy/response-close.js';

/** A real response from a real server on 127.0.0.1, handed to `use`, then finished. */
async function withResponse(use: (res: ServerResponse) => void): Promise<void> {
  let closed!: () => void;
  const done = new Promise<void>((r) => {
    closed = r;
  });
  const server = createServer((_req, res) => {
    use(res);
    res.on('close', closed); // added after the slots' listener: it runs after it
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const reply = await fetch(`http://127.0.0.1:${port}/`);
  await reply.text();
  await done;
  await new Promise<void>((r) => server.close(() => r()));
  server.closeAllConnections();
}

function recorder(name: string, calls: string[]): ResponseCloseWatcher {
  return { responseClosed: () => calls.push(name) };
}

describe('watchClose', () => {
  it.each<[string, [CloseSlot, string | null][], string[]]>([
    [
      'both slots: ledger first',
      [
        [CLOSE_SLOTS.attempt, 'a'],
        [CLOSE_SLOTS.ledger, 'l'],
      ],
      ['l', 'a'],
    ],
    [
      'an emptied slot is not told',
      [
        [CLOSE_SLOTS.ledger, 'l'],
        [CLOSE_SLOTS.attempt, 'a'],
        [CLOSE_SLOTS.attempt, null],
      ],
      ['l'],
    ],
    [
      'a replaced watcher: only the last',
      [
        [CLOSE_SLOTS.attempt, 'a1'],
        [CLOSE_SLOTS.attempt, 'a2'],
      ],
      ['a2'],
    ],
    ['one slot alone', [[CLOSE_SLOTS.attempt, 'a']], ['a']],
  ])('%s', async (_name, puts, expected) => {
    const calls: string[] = [];
    let listeners = -1;
    let after: (ResponseCloseWatcher | null)[] = [];
    await withResponse((res) => {
      for (const [slot, name] of puts)
        watchClose(res, slot, name === null ? null : recorder(name, calls));
      listeners = res.listenerCount('close');
      res.once('close', () => {
        after = [closeWatcher(res, CLOSE_SLOTS.ledger), closeWatcher(res, CLOSE_SLOTS.attempt)];
      });
    });
    expect(calls).toEqual(expected);
    expect(listeners).toBe(1);
    expect(after).toEqual([null, null]); // told once: the slots are emptied as they are told
  });
});
