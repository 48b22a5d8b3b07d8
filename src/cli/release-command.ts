// `turnout release …`: create and drive release tickets through the API. Commands record intent;
// the engine does the work. `--wait` (and `status --watch`) show a live progress view until the
// ticket gets where it was sent (or fails); `--json` prints the ticket (NDJSON while watching).

import type { Command } from 'commander';
import type { ApiClient } from '../client/api-client.js';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import { TRUST_SOURCES } from '../routing/trust-sources.js';
import { changedLines } from './changed-lines.js';
import type { ApiFlags } from './flags.js';
import { apiFlags, collect } from './flags.js';
import type { Io } from './io.js';
import { newLines } from './log-follow.js';
import type { AssignmentData } from './release-hosts-view.js';
import type { EventData, InstanceData, LaneShare, TicketData } from './release-view.js';
import { prereleaseHeader, renderTicket, settled } from './release-view.js';
import { ticketId } from './ticket-id.js';
import { WATCH_EXIT, watchEnd, watchEndLine } from './watch-end.js';

type Flags = ApiFlags & { wait?: boolean; watch?: boolean; interval?: string };

/** `orders=2.0.0` → item; the error names the flag and the reason. */
export function parseItem(text: string): { module: string; version: string } {
  const at = text.indexOf('=');
  if (at <= 0 || at === text.length - 1) {
    throw new TurnoutError(
      'invalid_argument',
      `--set ${text}: expected module=version, e.g. --set orders=2.0.0`,
      'set',
    );
  }
  return { module: text.slice(0, at), version: text.slice(at + 1) };
}

/** `--replicas 2` → 2; anything but a whole number ≥ 1 names the flag (the API would say plan.replicas). */
export function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 1)
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: a whole number of at least 1`,
      flag.replace(/^--/, ''),
    );
  return n;
}

/** `500ms`, `30s`, `5m`, `1h` → milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (m === null)
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: a duration such as 500ms, 30s, 5m or 1h`,
      flag.replace(/^--/, ''),
    );
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * What to do next after a command without --wait: the ticket may still be on its way to `goal` (a
 * canary asked of an open ticket deploys first), and the hint's step comes once it is there, so
 * how to watch it get there comes first.
 */
export function nextSteps(
  ticket: Pick<TicketData, 'id' | 'state'>,
  goal: string | null,
  hint: readonly string[],
): string[] {
  if (goal === null || ticket.state === goal) return [...hint];
  return [`watch it get there: turnout release status ${ticket.id} --watch`, ...hint];
}

/** Polling the API faster than this only loads it (0s polled without a pause). */
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 3_600_000;

/** `--interval` of --watch and --follow: a duration from 100ms to 1h. */
export function parseInterval(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS)
    throw new TurnoutError(
      'invalid_argument',
      `${flag} ${text}: from ${MIN_INTERVAL_MS}ms to 1h (each round asks the API again)`,
      flag.replace(/^--/, ''),
    );
  return ms;
}

/** `header:x-user-tier=internal`, `cookie:beta=1`, `cidr:10.0.0.0/8`, `query:beta=1` → a lane match. */
export function parseSegment(text: string): Record<string, unknown> {
  const m = /^(header|cookie|query):([^=]+)=(.*)$/.exec(text);
  if (m !== null) return { [m[1] as string]: { name: m[2], equals: m[3] } };
  const c = /^cidr:(.+)$/.exec(text);
  if (c !== null) return { cidr: c[1] };
  throw new TurnoutError(
    'invalid_argument',
    `--segment ${text}: expected header:NAME=VALUE, cookie:NAME=VALUE, query:NAME=VALUE or cidr:PREFIX`,
    'segment',
  );
}

function parseKey(text: string): Record<string, string> {
  const m = /^(header|cookie):(.+)$/.exec(text);
  if (m === null)
    throw new TurnoutError(
      'invalid_argument',
      `--key ${text}: expected header:NAME or cookie:NAME`,
      'key',
    );
  return { [m[1] as string]: m[2] as string };
}

/**
 * `--trust any-client|signed|trusted-hop` onto the segments (not cidr ones) and the key: where the
 * proxy may read their values from (README "The edge's trust rules").
 */
export function withTrust(
  body: { segments: Record<string, unknown>[]; key?: Record<string, string> },
  trust: string,
): void {
  if (!(TRUST_SOURCES as readonly string[]).includes(trust))
    throw new TurnoutError(
      'invalid_argument',
      `--trust ${trust}: expected one of ${TRUST_SOURCES.join(', ')}`,
      'trust',
    );
  body.segments = body.segments.map((s) => {
    const [kind, match] = Object.entries(s)[0] ?? [];
    return kind === undefined || kind === 'cidr' ? s : { [kind]: { ...(match as object), trust } };
  });
  body.key = { ...(body.key ?? { header: 'x-user-id' }), trust };
}

async function snapshot(client: ApiClient, id: number) {
  const ticket = (await client.get(`/v1/tickets/${id}`)) as TicketData;
  const instances = (
    await Promise.all(
      ticket.items.map((i) =>
        client.list(
          `/v1/instances?module=${encodeURIComponent(i.module)}&version=${encodeURIComponent(i.version)}`,
        ),
      ),
    )
  ).flat() as InstanceData[];
  const events = (await client.list(`/v1/tickets/${id}/events`)) as EventData[];
  const share = ['prerelease', 'canary'].includes(ticket.state)
    ? await laneShare(client, ticket)
    : null;
  // Where each host's instance start is (issue 14); a control plane before it has no such list.
  const assignments = (
    (await Promise.all(
      ticket.items.map((i) =>
        client
          .get(
            `/v1/assignments?module=${encodeURIComponent(i.module)}&version=${encodeURIComponent(i.version)}`,
          )
          .then((r) => (r as { assignments: AssignmentData[] }).assignments)
          .catch(() => [] as AssignmentData[]),
      ),
    )) as AssignmentData[][]
  ).flat();
  return { ticket, instances, events, share, assignments };
}

/** The lane's share of the requests entering the product in the last 10 s (null: no stats). */
async function laneShare(client: ApiClient, ticket: TicketData): Promise<LaneShare | null> {
  try {
    const product = (await client.get(`/v1/products/${encodeURIComponent(ticket.product)}`)) as {
      entry: string;
    };
    const q = `product=${encodeURIComponent(ticket.product)}&module=${encodeURIComponent(product.entry)}&windowMs=10000`;
    const t = (await client.get(`/v1/traffic?${q}`)) as {
      total: { requests: number };
      keys: { key: { lane: string }; summary: { requests: number } }[];
    };
    const lane = t.keys
      .filter((k) => k.key.lane === `t-${ticket.id}`)
      .reduce((n, k) => n + k.summary.requests, 0);
    return { entry: product.entry, lane, total: t.total.requests, windowMs: 10_000 };
  } catch {
    return null; // a control plane without traffic stats: the view just leaves the line out
  }
}

/** Redraws the view until `done` says so (or once, without a goal); answers the last ticket. */
async function follow(
  io: Io,
  client: ApiClient,
  id: number,
  flags: Flags,
  goal: string | null,
  until: (t: TicketData) => boolean = () => false,
): Promise<TicketData> {
  const tty = process.stdout.isTTY === true && flags.json !== true;
  const interval = flags.interval === undefined ? 500 : parseInterval(flags.interval, '--interval');
  let last = '';
  for (;;) {
    const s = await snapshot(client, id);
    const text =
      flags.json === true
        ? JSON.stringify(s.ticket)
        : renderTicket(s.ticket, s.instances, s.events, null, s.assignments).join('\n');
    if (text !== last) {
      if (tty) io.out(`\x1b[H\x1b[2J${text}`);
      else if (flags.json === true || last === '') io.out(text);
      else {
        const lines = changedLines(last.split('\n'), text.split('\n'));
        if (lines.length > 0) io.out(lines.join('\n'));
      }
      last = text;
    }
    if (goal === null || settled(s.ticket, goal) || until(s.ticket)) return s.ticket;
    await new Promise((r) => setTimeout(r, interval));
  }
}

function exitFor(ticket: TicketData, goal: string): number {
  if (ticket.state === 'failed') return 1;
  if (ticket.state === 'aborted' && goal !== 'aborted') return 1;
  return 0;
}

export function registerReleaseCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const release = program
    .command('release')
    .description(
      'create and drive release tickets (deploy → prerelease → canary → promote, revert)',
    );
  const client = (f: Flags) => createApiClient({ server: f.server, token: f.token, caFile: f.ca });

  /** Prints the ticket, then follows it to `goal` when --wait. */
  const finish = async (
    f: Flags,
    ticket: TicketData,
    goal: string | null,
    hint?: () => string[] | Promise<string[]>,
  ) => {
    if (f.wait === true && goal !== null) {
      const end = await follow(io, client(f), ticket.id, f, goal);
      setExit(exitFor(end, goal));
      if (hint !== undefined && f.json !== true && end.state === goal)
        io.out((await hint()).join('\n'));
      return;
    }
    io.out(f.json === true ? JSON.stringify(ticket) : renderTicket(ticket, [], []).join('\n'));
    if (hint !== undefined && f.json !== true)
      io.out(nextSteps(ticket, goal, await hint()).join('\n'));
    setExit(0);
  };

  apiFlags(
    release
      .command('create <product>')
      .description('a new ticket: --set module=version for each module it changes')
      .requiredOption('--set <module=version>', 'an item (repeat for each module)', collect, [])
      .option('--replicas <n>', 'instances per version', (v) => parseCount(v, '--replicas'))
      .option('--surge <n>', 'instances started at once per dependency level', (v) =>
        parseCount(v, '--surge'),
      )
      .option('--ready-timeout <duration>', 'how long a level may take to become ready')
      .option('--strategy <name>', 'blue-green (default) or rolling (batches on existing capacity)')
      .option('--max-unavailable <n|n%>', 'rolling: old instances replaced at once (default 25%)'),
  ).action(
    async (
      product: string,
      f: Flags & {
        set: string[];
        replicas?: number;
        surge?: number;
        readyTimeout?: string;
        strategy?: string;
        maxUnavailable?: string;
      },
    ) => {
      const plan: Record<string, unknown> = {};
      // Checked by the API, which names plan.strategy / plan.maxUnavailable and the reason.
      if (f.strategy !== undefined) plan.strategy = f.strategy;
      if (f.maxUnavailable !== undefined)
        plan.maxUnavailable = /^\d+$/.test(f.maxUnavailable)
          ? Number(f.maxUnavailable)
          : f.maxUnavailable;
      if (f.replicas !== undefined) plan.replicas = f.replicas;
      if (f.surge !== undefined) plan.surge = f.surge;
      if (f.readyTimeout !== undefined)
        plan.readyTimeoutMs = parseDuration(f.readyTimeout, '--ready-timeout');
      const ticket = (await client(f).post('/v1/tickets', {
        product,
        items: f.set.map(parseItem),
        plan,
      })) as TicketData;
      await finish(f, ticket, null, () => [
        `next: turnout release deploy ${ticket.id} --wait   (or prerelease ${ticket.id})`,
      ]);
    },
  );

  const simple = (
    name: string,
    goal: string | null,
    describe: string,
    hint?: (t: TicketData, f: Flags) => string[] | Promise<string[]>,
  ) =>
    apiFlags(
      release
        .command(`${name} <ticket>`)
        .description(describe)
        .option('--wait', 'show live progress until done'),
    ).action(async (id: string, f: Flags) => {
      const ticket = (await client(f).post(
        `/v1/tickets/${ticketId(id)}/${name}`,
        {},
      )) as TicketData;
      await finish(f, ticket, goal, hint === undefined ? undefined : () => hint(ticket, f));
    });

  simple('deploy', 'deployed', 'start the ticket’s versions bottom-up, gated on health');
  simple(
    'prerelease',
    'prerelease',
    'make the ticket’s lane reachable by header (deploys first)',
    async (t, f) => prereleaseHint(t, await whereToReach(client(f), t.product)),
  );
  simple('approve', null, 'let a canary go on to its next step');
  apiFlags(
    release
      .command('rotate-header <ticket>')
      .description('give the ticket a new pre-release header value; the old one stops working'),
  ).action(async (id: string, f: Flags) => {
    const ticket = (await client(f).post(
      `/v1/tickets/${ticketId(id)}/rotate-prerelease`,
      {},
    )) as TicketData;
    io.out(f.json === true ? JSON.stringify(ticket) : rotatedHint(ticket).join('\n'));
    setExit(0);
  });
  simple(
    'promote',
    'promoted',
    'make the ticket’s versions stable for the product; the lane retires',
  );
  simple('abort', 'aborted', 'lane traffic to 0 at once; instances stay until reclaim');

  apiFlags(
    release
      .command('canary <ticket>')
      .description('raise the lane’s traffic share step by step, with analysis against stable')
      .requiredOption('--steps <list>', 'shares in %, e.g. 1,10,50')
      .option(
        '--pause <duration>',
        'hold each step this long (default: wait for `release approve`)',
      )
      .option('--manual', 'each step waits for `release approve`')
      .option(
        '--segment <match>',
        'send these users at every step: header:NAME=VALUE, cookie:…, query:…, cidr:…',
        collect,
        [],
      )
      .option(
        '--key <key>',
        'the user key the share is hashed on: header:NAME or cookie:NAME (default header:x-user-id)',
      )
      .option(
        '--trust <source>',
        'where segment and key values may come from: trusted-hop (default: clients in the proxy --trusted-hops), signed, or any-client (client-chosen)',
      )
      .option('--wait', 'show live progress until the canary completes'),
  ).action(
    async (
      id: string,
      f: Flags & {
        steps: string;
        pause?: string;
        manual?: boolean;
        segment: string[];
        key?: string;
        trust?: string;
      },
    ) => {
      if (f.manual === true && f.pause !== undefined)
        throw new TurnoutError(
          'invalid_argument',
          '--manual and --pause exclude each other',
          'pause',
        );
      const steps = f.steps.split(',').map((s) => Number(s.trim()));
      if (steps.some((s) => !Number.isFinite(s)))
        throw new TurnoutError(
          'invalid_argument',
          `--steps ${f.steps}: numbers separated by commas, e.g. 1,10,50`,
          'steps',
        );
      const body: Record<string, unknown> = {
        steps,
        pauseMs: f.pause === undefined ? null : parseDuration(f.pause, '--pause'),
        segments: f.segment.map(parseSegment),
      };
      if (f.key !== undefined) body.key = parseKey(f.key);
      if (f.trust !== undefined) withTrust(body as Parameters<typeof withTrust>[0], f.trust);
      const ticket = (await client(f).post(
        `/v1/tickets/${ticketId(id)}/canary`,
        body,
      )) as TicketData;
      await finish(f, ticket, 'canary', () => [
        `next: turnout release promote ${ticket.id}   (or abort ${ticket.id})`,
      ]);
    },
  );

  apiFlags(
    release
      .command('amend <ticket>')
      .description('replace items’ versions before promotion; verification starts over')
      .requiredOption('--set <module=version>', 'an item (repeat)', collect, [])
      .option('--wait', 'show live progress'),
  ).action(async (id: string, f: Flags & { set: string[] }) => {
    const ticket = (await client(f).post(`/v1/tickets/${ticketId(id)}/amend`, {
      items: f.set.map(parseItem),
    })) as TicketData;
    await finish(f, ticket, ticket.goal);
  });

  apiFlags(
    release
      .command('revert <ticket>')
      .description(
        'a new ticket restoring what was promoted before <ticket>; promoted at once when its instances still run',
      )
      .option('--wait', 'show live progress until promoted'),
  ).action(async (id: string, f: Flags) => {
    const ticket = (await client(f).post(`/v1/tickets/${ticketId(id)}/revert`, {})) as TicketData;
    await finish(f, ticket, 'promoted');
  });

  apiFlags(
    release
      .command('status <ticket>')
      .description('the ticket’s progress: items, instances, canary, analysis, events')
      .option(
        '--watch',
        'keep the view live until the ticket is promoted, failed or aborted, or waits for a person (ready to promote, waiting for approval, a goal reached); the exit code says which (docs/cli-output.md)',
      )
      .option('--interval <duration>', 'refresh interval for --watch', '500ms'),
  ).action(async (id: string, f: Flags) => {
    const n = ticketId(id);
    if (f.watch === true) {
      const t = await follow(io, client(f), n, f, 'promoted', (x) => watchEnd(x) !== null);
      // follow also ends on settled(promoted): a failed ticket an abort is moving on.
      const why = watchEnd(t) ?? (t.state === 'failed' ? 'failed' : 'promoted');
      if (f.json !== true) io.out(watchEndLine(n, why));
      setExit(WATCH_EXIT[why]);
      return;
    }
    const s = await snapshot(client(f), n);
    io.out(
      f.json === true
        ? JSON.stringify({
            ...s.ticket,
            instances: s.instances,
            events: s.events,
            // Per host, where each start is (steps, download queued/bytes, a failure's message).
            assignments: s.assignments,
          })
        : renderTicket(s.ticket, s.instances, s.events, null, s.assignments).join('\n'),
    );
    setExit(0);
  });
}

/**
 * Where testers send requests: the edge (TURNOUT_EDGE when set, the public address in front of it;
 * else the edge the control plane reports) and the product's first host. Null when not known (a
 * control plane started without an edge, a product without hosts).
 */
async function whereToReach(
  client: ApiClient,
  product: string,
): Promise<{ edge: string | null; host: string | null }> {
  const edge =
    process.env.TURNOUT_EDGE ??
    (await client
      .get('/v1/edge')
      .then((e) => (e as { url: string | null }).url)
      .catch(() => null)); // a control plane before GET /v1/edge: the hint says how to set it
  const host = await client
    .get(`/v1/products/${encodeURIComponent(product)}`)
    .then((p) => (p as { hosts: string[] }).hosts[0] ?? null)
    .catch(() => null);
  return { edge: edge?.replace(/\/+$/, '') ?? null, host };
}

/** `'text'` for a POSIX shell: the printed curl pastes as is. */
const shellQuote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function prereleaseHint(
  t: TicketData,
  at: { edge: string | null; host: string | null },
): string[] {
  const header = prereleaseHeader(t);
  const host = at.host ?? `<a ${t.product} host>`;
  const curl = `  curl -H ${shellQuote(`Host: ${host}`)} -H ${shellQuote(header)} ${at.edge ?? '<the edge address>'}/`;
  const unknown = [
    ...(at.edge === null
      ? ['  (the control plane does not know its edge: set TURNOUT_EDGE=http://HOST:PORT)']
      : []),
    ...(at.host === null
      ? [`  (product ${t.product} has no hosts: add one to reach it by edge)`]
      : []),
  ];
  return [
    `pre-release lane t-${t.id} is live for requests carrying the header  ${header}`,
    curl,
    ...unknown,
    `  in a browser: add the request header ${header} with a header extension (e.g. ModHeader)`,
    `  inside the mesh: x-turnout-lane: t-${t.id} (or baggage turnout-lane=t-${t.id})`,
    `  the value is a secret: share it with testers only; a new one: turnout release rotate-header ${t.id}`,
  ];
}

function rotatedHint(t: TicketData): string[] {
  return [
    `new pre-release header for ticket ${t.id}:  ${prereleaseHeader(t)}`,
    '  the old value stops reaching the lane once the proxies have the next snapshot (a moment)',
  ];
}

export function registerLogsCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  apiFlags(
    program
      .command('logs <instance>')
      .description('the tail of an instance’s output')
      .option('--tail <n>', 'lines', '200')
      .option('-f, --follow', 'keep printing new lines until the instance stops (Ctrl-C to leave)')
      .option('--interval <duration>', 'how often --follow asks for new lines', '500ms'),
  ).action(
    async (id: string, f: ApiFlags & { tail: string; follow?: boolean; interval: string }) => {
      // Checked before anything is printed (a bad --interval used to fail after the first tail).
      const every = f.follow === true ? parseInterval(f.interval, '--interval') : 0;
      const api = createApiClient({ server: f.server, token: f.token, caFile: f.ca });
      const path = `/v1/instances/${encodeURIComponent(id)}`;
      const read = async () =>
        (await api.get(`${path}/logs?tail=${encodeURIComponent(f.tail)}`)) as {
          lines: string[];
          from?: string;
        };
      const tail = async () => (await read()).lines;
      const { lines: printed, from } = await read();
      // `from`: the lines are an agent's last report, not the log itself (a fleet); said on stderr
      // so stdout is the log's lines alone, as for an instance of this machine.
      if (f.json === true)
        io.out(JSON.stringify({ id, lines: printed, ...(from === undefined ? {} : { from }) }));
      else {
        if (from !== undefined) io.err(`(${from})`);
        io.out(printed.join('\n'));
      }
      if (f.follow === true) await followLogs(io, f, every, printed, tail, api, path);
      setExit(0);
    },
  );
}

/** Polls the tail until the instance is stopped or gone; prints only lines not printed yet. */
async function followLogs(
  io: Io,
  f: ApiFlags,
  every: number,
  first: string[],
  tail: () => Promise<string[]>,
  api: ApiClient,
  path: string,
): Promise<void> {
  let printed = first;
  for (;;) {
    await new Promise((r) => setTimeout(r, every));
    const state = await api
      .get(path)
      .then((i) => (i as { state: string }).state)
      .catch(() => 'gone');
    const next = await tail().catch(() => printed);
    const fresh = newLines(printed, next);
    if (fresh.gap) io.err('turnout: (some lines came and went between two reads)');
    if (fresh.lines.length > 0)
      io.out(
        f.json === true
          ? JSON.stringify({
              id: decodeURIComponent(path.slice(path.lastIndexOf('/') + 1)),
              lines: fresh.lines,
            })
          : fresh.lines.join('\n'),
      );
    printed = next;
    // The lines it wrote while stopping were read just now: done.
    if (state === 'stopped' || state === 'gone') return;
  }
}
