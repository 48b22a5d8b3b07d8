/**
 * Hosts as Linux network namespaces, for fleet tests (issue 13, "Tested on real hosts").
 *
 * `createFleetNet({ prefix, hosts: n })` builds, in the root namespace, a bridge `<prefix>-br`
 * with the address 10.<x>.0.1/24, and n namespaces `<prefix>-h1`…`<prefix>-h<n>`, each joined to
 * the bridge by a veth pair (`<prefix>-v<i>` in the root namespace, `eth0` inside) with the
 * address 10.<x>.0.<10+i>/24, `lo` up and a default route via the bridge. A server in the root
 * namespace listening on 0.0.0.0 (or the bridge address) is what every host reaches; the root
 * namespace reaches each host at its address. x derives from the prefix (and skips subnets
 * already on the machine), so test files running in parallel with different prefixes never clash.
 *
 * Clean-up: `destroy()` kills what still runs inside the namespaces (`ip netns pids`) and removes
 * the namespaces, the veths and the bridge. It is registered on process exit, and every
 * `createFleetNet` first sweeps leftovers with the same prefix, so a run killed with -9 is
 * cleaned by the next one. Everything here is synchronous (`execFileSync`) so that the exit
 * handler can do it too.
 *
 * Needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2's `ip`. See docs/testing-fleet.md.
 */
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/** Prefixes are short: Linux interface names hold 15 characters (`<prefix>-v12`). */
const PREFIX = /^[a-z][a-z0-9]{0,9}$/;
/** The hosts' subnets: 10.30.0.0/24 … 10.229.0.0/24. */
const FIRST_NET = 30;
const NETS = 200;
const MAX_HOSTS = 99;

export interface FleetHost {
  /** 1-based: host i is `<prefix>-h<i>`. */
  readonly index: number;
  /** The namespace's name. */
  readonly ns: string;
  /** Its address on the bridge (10.<x>.0.<10+i>). */
  readonly address: string;
  /** The root namespace's end of its veth pair (what partition takes down). */
  readonly veth: string;
}

export interface ExecResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface FleetNet {
  readonly prefix: string;
  readonly bridge: string;
  /** The root namespace's address on the bridge: what the hosts reach the server at. */
  readonly bridgeAddress: string;
  /** 10.<x>.0.0/24. */
  readonly subnet: string;
  readonly hosts: readonly FleetHost[];
  /** Host by 1-based index or namespace name. */
  host(which: number | string): FleetHost;
  /** Starts `command args` inside the host's namespace: a real ChildProcess (`ip netns exec`). */
  spawn(
    host: FleetHost | number,
    command: string,
    args?: readonly string[],
    options?: SpawnOptions,
  ): ChildProcess;
  /** Runs `command args` inside the host's namespace to its end. Never rejects on a non-zero exit. */
  exec(host: FleetHost | number, command: string, args?: readonly string[]): Promise<ExecResult>;
  /** Cuts the host off the bridge (its veth down); its own loopback keeps working. */
  partition(host: FleetHost | number): void;
  /** Puts the host back on the bridge. */
  heal(host: FleetHost | number): void;
  /** Kills what runs inside, removes namespaces, veths and bridge. Idempotent. */
  destroy(): void;
}

export interface Availability {
  readonly ok: boolean;
  /** Why namespaces cannot be made (empty when ok). */
  readonly reason: string;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip …` whose failure is expected and harmless (deleting what may already be gone). */
function ipQuiet(args: readonly string[]): void {
  try {
    ip(args);
  } catch {
    // already gone
  }
}

function errorText(error: unknown): string {
  const e = error as { stderr?: unknown; message?: unknown };
  const stderr = typeof e.stderr === 'string' ? e.stderr.trim() : '';
  return stderr !== '' ? stderr : String(e.message ?? error);
}

let availability: Availability | null = null;

/**
 * Whether this process can create network namespaces and veth pairs: tried once for real (a
 * throwaway namespace and veth pair), because being root is not enough in every container.
 */
export function netnsAvailable(): Availability {
  if (availability !== null) return availability;
  if (process.platform !== 'linux') {
    availability = {
      ok: false,
      reason: `network namespaces need Linux (this is ${process.platform})`,
    };
    return availability;
  }
  const ns = `tnprobe-${process.pid}`;
  const veth = `tnpr${process.pid % 100_000}`;
  try {
    ip(['-V']);
  } catch (error) {
    availability = { ok: false, reason: `iproute2's ip is missing: ${errorText(error)}` };
    return availability;
  }
  sweepProbes();
  try {
    ip(['netns', 'add', ns]);
    ip(['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`, 'netns', ns]);
    availability = { ok: true, reason: '' };
  } catch (error) {
    availability = {
      ok: false,
      reason: `cannot create a network namespace and a veth pair: ${errorText(error)}`,
    };
  } finally {
    ipQuiet(['link', 'del', veth]);
    ipQuiet(['netns', 'del', ns]);
  }
  return availability;
}

/** Probe namespaces of processes that died mid-probe (their veth went with the namespace). */
function sweepProbes(): void {
  for (const ns of namespacesOf('tnprobe')) {
    const pid = Number(ns.slice('tnprobe-'.length));
    if (!Number.isInteger(pid) || existsSync(`/proc/${pid}`)) continue;
    ipQuiet(['netns', 'del', ns]);
  }
}

/**
 * For a test file's `describe.skipIf(gate.skip)`: where namespaces cannot be made the tests skip
 * and the reason is printed — except under CI=true, where they run and fail (createFleetNet throws
 * the reason), because CI must prove the fleet works.
 */
export function netnsGate(what: string): { readonly skip: boolean; readonly reason: string } {
  const gate = gateFor(netnsAvailable(), process.env.CI === 'true');
  if (gate.skip)
    console.warn(`skipping ${what}: ${gate.reason} (under CI=true this fails instead)`);
  return gate;
}

/** The rule of netnsGate, apart from the machine: skip only outside CI, and say why. */
export function gateFor(
  a: Availability,
  ci: boolean,
): { readonly skip: boolean; readonly reason: string } {
  return { skip: !a.ok && !ci, reason: a.reason };
}

/** 32-bit FNV-1a: a stable spread of prefixes over the subnets. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The first 10.<x>.0.0/24 from the prefix's hash on that no interface of this machine uses. */
export function pickSubnet(prefix: string, inUse: readonly string[]): number {
  const start = hash(prefix) % NETS;
  for (let k = 0; k < NETS; k++) {
    const x = FIRST_NET + ((start + k) % NETS);
    if (!inUse.some((a) => a.startsWith(`10.${x}.`))) return x;
  }
  throw new Error(`no free 10.x.0.0/24 subnet left for prefix ${prefix}`);
}

/** IPv4 addresses on the root namespace's interfaces. */
function rootAddresses(): string[] {
  return ip(['-4', '-o', 'addr', 'show'])
    .split('\n')
    .map((line) => /\sinet\s(\d+\.\d+\.\d+\.\d+)\//.exec(line)?.[1])
    .filter((a): a is string => a !== undefined);
}

function namespacesOf(prefix: string): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(`${prefix}-`));
}

function linksOf(prefix: string): string[] {
  return ip(['-o', 'link', 'show'])
    .split('\n')
    .map((line) => /^\d+:\s([^:@\s]+)/.exec(line)?.[1])
    .filter((name): name is string => name?.startsWith(`${prefix}-`) === true);
}

/** Pids of every process inside the namespace. */
export function pidsIn(ns: string): number[] {
  try {
    return ip(['netns', 'pids', ns])
      .split('\n')
      .filter((s) => /^\d+$/.test(s))
      .map(Number);
  } catch {
    return [];
  }
}

function killAll(ns: string): void {
  for (const pid of pidsIn(ns)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * With br_netfilter loaded and bridge-nf-call-iptables on, bridged IPv4 frames cross iptables'
 * FORWARD chain, whose policy is DROP on machines with Docker: host-to-host traffic would vanish.
 * Then (and only when iptables is installed) one ACCEPT rule for the bridge, tagged with the
 * prefix so the sweep finds it. Without iptables nothing can have put rules there to drop.
 */
function bridgeFilterOn(): boolean {
  const path = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  return existsSync(path) && readFileSync(path, 'utf8').trim() === '1';
}

function iptables(args: readonly string[]): boolean {
  try {
    execFileSync('iptables', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function forwardRule(bridge: string, prefix: string): string[] {
  return [
    'FORWARD',
    '-i',
    bridge,
    '-o',
    bridge,
    '-j',
    'ACCEPT',
    '-m',
    'comment',
    '--comment',
    `turnout-netns:${prefix}`,
  ];
}

/** Removes everything named `<prefix>-…`: namespaces (and what runs in them), links, the rule. */
export function sweepFleetNet(prefix: string): void {
  checkPrefix(prefix);
  for (const ns of namespacesOf(prefix)) {
    killAll(ns);
    ipQuiet(['netns', 'del', ns]);
  }
  // Deleting one end of a veth deletes the other; the bridge goes last.
  for (const link of linksOf(prefix)) if (link !== `${prefix}-br`) ipQuiet(['link', 'del', link]);
  ipQuiet(['link', 'del', `${prefix}-br`]);
  while (iptables(['-D', ...forwardRule(`${prefix}-br`, prefix)])) {
    // one rule per run that died before removing its own
  }
}

function checkPrefix(prefix: string): void {
  if (!PREFIX.test(prefix))
    throw new Error(
      `prefix "${prefix}": 1–10 of a-z 0-9, starting with a letter (interface names are short)`,
    );
}

export interface FleetNetOptions {
  readonly prefix: string;
  readonly hosts: number;
}

export function createFleetNet(opts: FleetNetOptions): FleetNet {
  const { prefix } = opts;
  checkPrefix(prefix);
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > MAX_HOSTS)
    throw new Error(`hosts ${opts.hosts}: a whole number from 1 to ${MAX_HOSTS}`);
  const available = netnsAvailable();
  if (!available.ok) throw new Error(`network namespaces unavailable: ${available.reason}`);

  sweepFleetNet(prefix); // a previous run of this file that was killed left these
  const x = pickSubnet(prefix, rootAddresses());
  const bridge = `${prefix}-br`;
  const bridgeAddress = `10.${x}.0.1`;
  const hosts: FleetHost[] = [];
  for (let i = 1; i <= opts.hosts; i++)
    hosts.push({
      index: i,
      ns: `${prefix}-h${i}`,
      address: `10.${x}.0.${10 + i}`,
      veth: `${prefix}-v${i}`,
    });

  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.off('exit', destroy);
    sweepFleetNet(prefix);
  };
  process.on('exit', destroy);
  try {
    build(bridge, bridgeAddress, hosts, prefix);
  } catch (error) {
    destroy();
    throw new Error(`creating the fleet network ${prefix}: ${errorText(error)}`);
  }

  const hostOf = (which: FleetHost | number | string): FleetHost => {
    const h =
      typeof which === 'object'
        ? which
        : hosts.find((c) => (typeof which === 'number' ? c.index === which : c.ns === which));
    if (h === undefined) throw new Error(`no host ${String(which)} in fleet ${prefix}`);
    return h;
  };
  return {
    prefix,
    bridge,
    bridgeAddress,
    subnet: `10.${x}.0.0/24`,
    hosts,
    host: hostOf,
    spawn: (host, command, args = [], options = {}) =>
      spawn('ip', ['netns', 'exec', hostOf(host).ns, command, ...args], options),
    exec: (host, command, args = []) => execIn(hostOf(host).ns, command, args),
    partition(host) {
      const h = hostOf(host);
      ip(['link', 'set', h.veth, 'down']);
      forgetNeighbour(hosts, h);
    },
    heal(host) {
      ip(['link', 'set', hostOf(host).veth, 'up']);
    },
    destroy,
  };
}

function build(
  bridge: string,
  bridgeAddress: string,
  hosts: readonly FleetHost[],
  prefix: string,
): void {
  ip(['link', 'add', bridge, 'type', 'bridge']);
  ip(['addr', 'add', `${bridgeAddress}/24`, 'dev', bridge]);
  ip(['link', 'set', bridge, 'up']);
  if (bridgeFilterOn()) iptables(['-I', ...forwardRule(bridge, prefix)]);
  for (const h of hosts) {
    const peer = `${prefix}-n${h.index}`;
    ip(['netns', 'add', h.ns]);
    ip(['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', peer, 'netns', h.ns]);
    ip(['link', 'set', h.veth, 'master', bridge]);
    ip(['link', 'set', h.veth, 'up']);
    const inNs = (args: readonly string[]) => ip(['-n', h.ns, ...args]);
    inNs(['link', 'set', 'lo', 'up']);
    inNs(['link', 'set', peer, 'name', 'eth0']);
    inNs(['addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
    inNs(['link', 'set', 'eth0', 'up']);
    inNs(['route', 'add', 'default', 'via', bridgeAddress]);
  }
}

/**
 * The others forget the partitioned host's link-layer address, so a new connection to it fails
 * with the kernel's own "host unreachable" once address resolution gives up (about 3 s), instead
 * of SYNs sent to a cached address and dropped until TCP's own long timeout.
 */
function forgetNeighbour(hosts: readonly FleetHost[], cut: FleetHost): void {
  ipQuiet(['neigh', 'flush', 'to', cut.address]);
  for (const h of hosts) if (h !== cut) ipQuiet(['-n', h.ns, 'neigh', 'flush', 'to', cut.address]);
}

function execIn(ns: string, command: string, args: readonly string[]): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, command, ...args],
      { encoding: 'utf8' },
      (error, stdout, stderr) => {
        const e = error as (Error & { code?: unknown; signal?: NodeJS.Signals | null }) | null;
        resolve({
          code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}
