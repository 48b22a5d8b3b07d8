import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { canBind } from '../../src/runtime/port-allocator.js';
import { checkPortRange, choosePort, portCandidates } from '../../src/runtime/ports.js';

const range = { first: 100, last: 104 };

describe('port choice', () => {
  it('goes up from the start, wraps around, and skips taken ports', () => {
    expect([...portCandidates(range, new Set(), 102)]).toEqual([102, 103, 104, 100, 101]);
    expect([...portCandidates(range, new Set([103, 100]), 102)]).toEqual([102, 104, 101]);
    expect([...portCandidates(range, new Set(), 100)]).toEqual([100, 101, 102, 103, 104]);
  });

  it('treats a start outside the range as an offset into it', () => {
    expect([...portCandidates(range, new Set(), 107)]).toEqual([102, 103, 104, 100, 101]);
    expect([...portCandidates(range, new Set(), 99)]).toEqual([104, 100, 101, 102, 103]);
  });

  it('takes the first candidate the probe accepts, or none', async () => {
    const probed: number[] = [];
    const probe = async (p: number) => {
      probed.push(p);
      return p === 101;
    };
    expect(await choosePort(range, new Set([104]), 103, probe)).toBe(101);
    expect(probed).toEqual([103, 100, 101]);
    expect(await choosePort(range, new Set(), 100, async () => false)).toBeNull();
  });

  it('rejects ranges outside 1-65535 or upside down', () => {
    expect(() => checkPortRange({ first: 0, last: 10 })).toThrow(/not within 1-65535/);
    expect(() => checkPortRange({ first: 20, last: 10 })).toThrow(/first ≤ last/);
    expect(() => checkPortRange({ first: 1, last: 70_000 })).toThrow();
    expect(checkPortRange({ first: 8080, last: 8080 })).toEqual({ first: 8080, last: 8080 });
  });
});

describe('bind probe', () => {
  it('says whether a port on 127.0.0.1 can be bound right now', async () => {
    const server = net.createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as net.AddressInfo;
    expect(await canBind(port)).toBe(false);
    await new Promise((done) => server.close(done));
    expect(await canBind(port)).toBe(true);
  });
});
