// `up` as a fleet of one: the control plane's release engine runs instances through the fleet
// runtime (assignments), and one agent in this process — the same HostAgent `turnout agent` runs —
// follows them on this machine with the process runtime, reports their health and supervises the
// proxy. The agent registers over the loopback API like any other host, so what `up` runs goes
// through the same code path as a fleet's hosts.

import type { Logger } from 'pino';
import type { AgentLog } from '../agent/agent.js';
import { HostAgent } from '../agent/agent.js';
import { createServerLink } from '../agent/server-link.js';
import { TurnoutError } from '../errors.js';
import { FleetRuntime } from '../release/fleet-runtime.js';
import type { ProcessRuntime } from '../runtime/process-runtime.js';
import type { Store } from '../store/store.js';
import { defaultHostName } from './agent-command.js';
import type { ProxySupervisor } from './up-proxy.js';
import { hostProxyOf } from './up-proxy.js';

/**
 * The local agent's host name: the machine's (as `turnout agent` defaults to), never `local` —
 * that stays the control plane's own host, where instances registered by hand are probed by its
 * health checker as before (an agent's hosts are probed by their agent).
 */
export function localHostName(): string {
  const name = defaultHostName();
  return NAME.test(name) && name !== 'local' ? name : 'this-host';
}
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
/** The local agent's lease (as `turnout agent`'s default): heartbeats every ttl/3. */
const LOCAL_TTL_MS = 10_000;

/**
 * The fleet runtime with one difference: logs come from this machine's process runtime, which
 * keeps every line (an agent elsewhere reports only a tail on exit or failure).
 */
export class LocalFleetRuntime extends FleetRuntime {
  constructor(
    store: Store,
    private readonly local: ProcessRuntime,
  ) {
    super({ store });
  }

  override async logs(id: string, options?: { tailLines?: number }): Promise<string> {
    const own = await this.ownLogs(id, options);
    return own ?? super.logs(id, options);
  }

  override async logOrigin(id: string): Promise<string | null> {
    return (await this.ownLogs(id, { tailLines: 1 })) === null ? super.logOrigin(id) : null;
  }

  /** This machine's log of `id`; null when it has none (then the agent's report is all there is). */
  private async ownLogs(id: string, options?: { tailLines?: number }): Promise<string | null> {
    try {
      return await this.local.logs(id, options);
    } catch (error) {
      if (error instanceof TurnoutError && error.code === 'not_found') return null;
      throw error;
    }
  }
}

/** The agent's sentences are for `turnout agent`'s own output; here only problems are logged. */
function localAgentLog(logger: Logger): AgentLog {
  return {
    info: () => {},
    warn: (event, fields, text) => logger.warn({ event, ...fields }, text),
    error: (event, fields, text) => logger.error({ event, ...fields }, text),
  };
}

export interface LocalAgentOptions {
  readonly name: string;
  readonly apiUrl: string;
  /** The agent's bearer token (the generated join token); '' in insecure-local mode. */
  readonly token: string;
  /** The CA file an https API's certificate is checked against. */
  readonly caFile?: string | undefined;
  readonly ca?: string | undefined;
  readonly dataDir: string;
  readonly runtime: ProcessRuntime;
  readonly startProxy: () => Promise<ProxySupervisor>;
  readonly proxyAdminUrl: string | null;
  readonly logger: Logger;
}

/** Starts the local agent: adopts, starts the proxy, registers over the API, follows. */
export async function startLocalAgent(o: LocalAgentOptions): Promise<HostAgent> {
  const agent = new HostAgent({
    name: o.name,
    advertise: '127.0.0.1',
    labels: {},
    capacity: null,
    ttlMs: LOCAL_TTL_MS,
    dataDir: o.dataDir,
    link: createServerLink({ server: o.apiUrl, token: o.token, caFile: o.caFile }),
    ca: o.ca,
    runtime: o.runtime,
    startProxy: async () => {
      return hostProxyOf(await o.startProxy());
    },
    proxyAdminUrl: o.proxyAdminUrl,
    log: localAgentLog(o.logger),
  });
  try {
    await agent.start();
  } catch (error) {
    await agent.stop().catch(() => {});
    throw error;
  }
  return agent;
}
