// `turnout host list | describe | cordon | drain | uncordon`: the fleet's hosts through /v1/hosts
// (registered by their agents), as tables with ages like `get`, or JSON with --json.

import { type Command, Option } from 'commander';
import type { HostAction, HostRecord } from '../client/api-client.js';
import { createApiClient, HOST_ACTIONS, HOST_STATES, hostCalls } from '../client/api-client.js';
import { fieldLines } from './describe-view.js';
import { type ApiFlags, apiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import { age, formatTable } from './table.js';

/** What each action leaves, said after it. */
const DONE: Record<HostAction, string> = {
  cordon: 'cordoned: no new instances are placed on it; the ones there run on',
  drain:
    'draining: no new instances are placed on it, and its instances are to move elsewhere (docs/fleet.md)',
  uncordon: 'ready: it takes new instances again',
};

const DESCRIPTION: Record<HostAction, string> = {
  cordon: 'keep new instances off a host (its instances run on)',
  drain: 'mark a host draining: no new instances go to it, and its instances are to move elsewhere',
  uncordon: 'let a cordoned or draining host take new instances again',
};

/** `expires in 8s`, `expired 3m ago`, or `none` before the first heartbeat. */
export function leaseText(leaseExpiresAt: string | null, now: number): string {
  if (leaseExpiresAt === null) return 'none';
  const until = Date.parse(leaseExpiresAt);
  if (Number.isNaN(until)) return leaseExpiresAt;
  return until > now
    ? `expires in ${age(new Date(now).toISOString(), until)}`
    : `expired ${age(leaseExpiresAt, now)} ago`;
}

export function labelsText(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return pairs.length === 0 ? '-' : pairs.join(',');
}

/** One row of `host list`. */
export function hostRow(h: HostRecord, instances: number, now: number): Record<string, unknown> {
  return {
    name: h.name,
    address: h.address,
    state: h.state,
    labels: labelsText(h.labels),
    instances: h.capacity === null ? `${instances}` : `${instances}/${h.capacity}`,
    lease: leaseText(h.leaseExpiresAt, now),
    createdAt: h.createdAt,
  };
}

const LIST_COLUMNS = ['name', 'address', 'state', 'labels', 'instances', 'lease', 'createdAt'];
const INSTANCE_COLUMNS = ['id', 'module', 'version', 'address', 'state', 'health', 'serving'];

function countByHost(instances: readonly Record<string, unknown>[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of instances) {
    if (i.state === 'stopped' || typeof i.host !== 'string') continue;
    counts.set(i.host, (counts.get(i.host) ?? 0) + 1);
  }
  return counts;
}

/** `describe`'s text: the host's fields, then the instances on it. */
export function describeHostText(
  h: HostRecord,
  instances: readonly Record<string, unknown>[],
  now: number,
): string {
  const live = countByHost(instances).get(h.name) ?? 0;
  const lease =
    h.leaseExpiresAt === null
      ? 'none (no heartbeat yet)'
      : `${leaseText(h.leaseExpiresAt, now)} (${h.leaseExpiresAt})`;
  return [
    ...fieldLines([
      ['Host', h.name],
      ['Address', h.address],
      ['State', h.state],
      ['Labels', labelsText(h.labels) === '-' ? '(none)' : labelsText(h.labels)],
      [
        'Capacity',
        h.capacity === null
          ? `no limit (${live} placed)`
          : `${h.capacity} instances (${live} placed)`,
      ],
      ['Lease', lease],
      [
        'Agent',
        h.registeredBy ? `token ${h.registeredBy}` : '(no agent token: registered by an admin)',
      ],
      ['Registered', `${age(h.createdAt, now)} ago`],
      ['Updated', `${age(h.updatedAt, now)} ago`],
    ]),
    '',
    `Instances (${instances.length}):`,
    ...(instances.length === 0
      ? ['  (none)']
      : formatTable(INSTANCE_COLUMNS, instances, now)
          .split('\n')
          .map((l) => `  ${l}`)),
  ].join('\n');
}

export function registerHostCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const host = program
    .command('host')
    .description(
      "the fleet's hosts (registered by `turnout agent`): list, describe, cordon, drain, uncordon",
    );
  const client = (flags: ApiFlags) =>
    hostCalls(createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca }));

  apiFlags(
    host
      .command('list')
      .description('every host with its state, labels, instances (/capacity) and lease')
      .addOption(new Option('--state <state>', 'only hosts in this state').choices(HOST_STATES)),
  ).action(async (flags: ApiFlags & { state?: string }) => {
    const calls = client(flags);
    const hosts = await calls.list(flags.state);
    const json = flags.json === true;
    // The instance counts cost one more read: tables only (JSON is /v1/hosts as it is).
    const counts = json ? new Map<string, number>() : countByHost(await calls.instances());
    const now = Date.now();
    emit(io, json, hosts, () =>
      formatTable(
        LIST_COLUMNS,
        hosts.map((h) => hostRow(h, counts.get(h.name) ?? 0, now)),
        now,
      ),
    );
    setExit(0);
  });

  apiFlags(
    host
      .command('describe')
      .description('one host: address, labels, capacity, lease and the instances on it')
      .argument('<name>', 'the host'),
  ).action(async (name: string, flags: ApiFlags) => {
    const calls = client(flags);
    const h = await calls.get(name);
    const instances = await calls.instances(name);
    emit(io, flags.json === true, { ...h, instances }, () =>
      describeHostText(h, instances, Date.now()),
    );
    setExit(0);
  });

  for (const action of HOST_ACTIONS) {
    apiFlags(
      host
        .command(action)
        .description(`${DESCRIPTION[action]} (needs an admin token)`)
        .argument('<name>', 'the host'),
    ).action(async (name: string, flags: ApiFlags) => {
      const h = await client(flags).act(name, action);
      emit(io, flags.json === true, h, () => `host ${h.name} ${DONE[action]}`);
      setExit(0);
    });
  }
}
