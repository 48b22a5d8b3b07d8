// The process runtime's options and their defaults.

import type { BackoffPolicy } from './backoff.js';
import type { PortRange } from './ports.js';

export interface ProcessRuntimeOptions {
  /** Instances' logs and records go in `<dataDir>/instances/`. */
  dataDir: string;
  /** What a relative `run.cwd` is resolved against, and the cwd when it is null. Default: cwd. */
  baseDir?: string;
  /** The outbound proxy given to instances as http_proxy, e.g. http://127.0.0.1:4140. */
  proxyUrl?: string | null;
  /**
   * The address instances listen on (given as env HOST; their address is `<host>:<port>`, and
   * ports are probed there). Default 127.0.0.1; an agent passes its --advertise address.
   */
  host?: string;
  portRange?: PortRange;
  maxConcurrentStarts?: number;
  backoff?: BackoffPolicy;
  /** How long stop() waits after SIGTERM before SIGKILL, unless the call says. */
  stopDeadlineMs?: number;
  /** How often an adopted instance (not our child) is checked for life. */
  pollMs?: number;
  /** The control plane's environment, of which a safe few variables pass to instances. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
  now?: () => number;
  /** Picks where in the port range the search starts, in [0, 1). */
  random?: () => number;
}

export const DEFAULTS = {
  maxConcurrentStarts: 4,
  stopDeadlineMs: 10_000,
  pollMs: 1000,
  tailLines: 200,
};
