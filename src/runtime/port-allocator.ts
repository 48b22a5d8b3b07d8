// Ports for new instances: the pure choice in ports.ts, plus a bind test (is anything else on the
// port right now?) and the ports of starts still under way, so two concurrent starts never collide.

import { createServer } from 'node:net';
import { TurnoutError } from '../errors.js';
import type { PortRange } from './ports.js';
import { checkPortRange, choosePort } from './ports.js';

export const INSTANCE_HOST = '127.0.0.1';

export function canBind(port: number, host = INSTANCE_HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

export class PortAllocator {
  private readonly reserved = new Set<number>();

  constructor(
    private readonly range: PortRange,
    /** Where in the range the search starts, in [0, 1): spreads runtimes sharing a machine. */
    private readonly random: () => number,
    /** Where instances listen: the address the bind test uses. */
    private readonly host: string = INSTANCE_HOST,
  ) {
    checkPortRange(range);
  }

  /** A port not in `taken`, not reserved, and bindable now; reserved until `release(port)`. */
  async allocate(taken: Iterable<number>): Promise<number> {
    const { first, last } = this.range;
    const start = first + Math.floor(this.random() * (last - first + 1));
    const port = await choosePort(this.range, new Set(taken), start, async (p) => {
      if (this.reserved.has(p)) return false;
      this.reserved.add(p); // before the probe's await, so a concurrent start skips it
      const free = await canBind(p, this.host);
      if (!free) this.reserved.delete(p);
      return free;
    });
    if (port === null) {
      throw new TurnoutError('instance_start_failed', `no free port in ${first}-${last}`, 'port');
    }
    return port;
  }

  release(port: number): void {
    this.reserved.delete(port);
  }
}
