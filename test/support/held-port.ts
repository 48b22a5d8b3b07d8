// A port on 127.0.0.1 held by a real listening socket, so a command told to listen there finds
// it in use (EADDRINUSE), as it would another program's.

import type { Server } from 'node:net';
import { createServer } from 'node:net';

export interface HeldPort {
  /** `127.0.0.1:<port>`, as a listen flag takes it. */
  readonly address: string;
  close(): Promise<void>;
}

export async function holdPort(): Promise<HeldPort> {
  const holder: Server = createServer();
  await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
  const at = holder.address();
  if (at === null || typeof at !== 'object') throw new Error('no TCP address');
  return {
    address: `127.0.0.1:${at.port}`,
    close: () => new Promise<void>((done) => holder.close(() => done())),
  };
}
