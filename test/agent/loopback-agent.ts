// A real host agent in this process for the artifact tests: host `name` on its own loopback
// address (127.0.0.N), instances as real processes under `dir/agent-<name>`, no proxy, quiet,
// ticking every 50 ms. Used by artifact-throttle.test.ts and the dashboard's host-steps test.

import { join } from 'node:path';
import type { AgentLog } from '../../src/agent/agent.js';
import { HostAgent } from '../../src/agent/agent.js';
import type { ServerLink } from '../../src/agent/server-link.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';

const silent: AgentLog = { info() {}, warn() {}, error() {} };

/** Host `name` advertising `address`, talking to the API through `link`; not started yet. */
export async function loopbackAgent(
  dir: string,
  name: string,
  address: string,
  link: ServerLink,
): Promise<HostAgent> {
  const data = join(dir, `agent-${name}`);
  return new HostAgent({
    name,
    advertise: address,
    labels: {},
    capacity: null,
    ttlMs: 3000,
    dataDir: data,
    link,
    runtime: await openProcessRuntime({ dataDir: data, host: address }),
    startProxy: null,
    proxyAdminUrl: null,
    log: silent,
    tickMs: 50,
  });
}
