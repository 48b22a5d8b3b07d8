// `turnout demo --tour`: the whole release story, unattended and narrated, under a steady load on
// the edge: pre-release by header, a canary with its live share, a faulty canary aborted by
// analysis, promote, a revert in under a second, reclaim. Each step prints the command a user
// would type (the tour does the same through the API) and checks what it claims; the caller exits
// 0 only if every check held.

import type { ApiClient } from '../client/api-client.js';
import type { Load, Served } from './load.js';
import { startLoad } from './load.js';
import type { Narrator } from './narrator.js';
import type { TicketView } from './setup.js';
import { items, V1, waitTicket } from './setup.js';

export interface TourOptions {
  readonly client: ApiClient;
  /** The edge listener's base URL, e.g. http://127.0.0.1:8080. */
  readonly edge: string;
  readonly narrator: Narrator;
  /** Hold time of each canary step (short: it is a demo). */
  readonly pauseMs?: number;
  /** Aborted when the demo is stopped midway: the tour's own load stops at once. */
  readonly signal?: AbortSignal;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const since = (load: Load, t: number) => load.results.filter((r) => r.at >= t);
const failed = (rs: readonly Served[]) => rs.filter((r) => r.status !== 200);
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

export async function runTour(o: TourOptions): Promise<void> {
  const { client, narrator: n } = o;
  const pause = o.pauseMs ?? 5000;
  const create = async (map: Record<string, string>) =>
    ((await client.post('/v1/tickets', { product: 'shop', items: items(map) })) as TicketView).id;
  await resetShop(o);

  n.section('Traffic');
  n.say('a load client sends requests to shop (1000 users, x-user-id) and admin through the edge');
  const shop = startLoad({
    edge: o.edge,
    host: 'shop.localhost',
    product: 'shop',
    // 1000, not 100: the share in the lane follows the step only with many users. Ticket ids
    // repeat from run to run, and so does the hash: with 100, 6 of them land in t-3 at 10 %, and
    // a machine too busy for 11 requests/s never gets that step the 20 lane requests it needs.
    users: 1000,
    concurrency: 3,
    maxMs: 600_000,
  });
  const admin = startLoad({
    edge: o.edge,
    host: 'admin.localhost',
    product: 'admin',
    users: 10,
    concurrency: 1,
    maxMs: 600_000,
  });
  const began = Date.now();
  const stopLoads = () => {
    void shop.stop();
    void admin.stop();
  };
  o.signal?.addEventListener('abort', stopLoads, { once: true });
  try {
    await sleep(1000);
    const t = await prerelease(o, shop, admin, create);
    await canary(o, shop, t, pause);
    const faultyLane = await faultyCanary(o, shop, create);
    await promoteAndRevert(o, shop, admin, t);
    await reclaim(o);
    n.section('Summary');
    const all = await shop.stop();
    const adminAll = await admin.stop();
    const outside = all.filter((r) => r.lane !== faultyLane);
    n.check(
      'no request outside the faulty canary failed, for shop or admin',
      failed(outside).length === 0 && failed(adminAll).length === 0,
      `${all.length + adminAll.length} requests in ${((Date.now() - began) / 1000).toFixed(0)} s, ${failed(outside).length + failed(adminAll).length} failed outside the faulty lane, ${failed(all).length - failed(outside).length} inside it`,
    );
  } finally {
    o.signal?.removeEventListener('abort', stopLoads);
    await shop.stop();
    await admin.stop();
  }
}

/** The story starts from shop on v1 with no ticket active: whatever an earlier run left is ended. */
async function resetShop(o: TourOptions): Promise<void> {
  const { client, narrator: n } = o;
  n.section('Starting point: shop and admin on v1');
  for (const t of (await client.list('/v1/tickets?product=shop')) as TicketView[]) {
    if (['promoted', 'aborted'].includes(t.state)) continue;
    n.command(`turnout release abort ${t.id}`);
    await client.post(`/v1/tickets/${t.id}/abort`, {});
    await waitTicket(client, t.id, (x) => x.state === 'aborted');
  }
  const product = (await client.get('/v1/products/shop')) as { baseDtab: string };
  const onV1 = Object.entries(V1.shop ?? {}).every(
    ([m, v]) =>
      product.baseDtab.includes(`/v/${m}/${v};`) || product.baseDtab.endsWith(`/v/${m}/${v}`),
  );
  if (!onV1) {
    const id = (
      (await client.post('/v1/tickets', {
        product: 'shop',
        items: items(V1.shop ?? {}),
      })) as TicketView
    ).id;
    n.command(
      `turnout release create shop ${Object.entries(V1.shop ?? {})
        .map(([m, v]) => `--set ${m}=${v}`)
        .join(' ')} && turnout release promote ${id}`,
    );
    await client.post(`/v1/tickets/${id}/promote`, {});
    await waitTicket(client, id, (x) => x.state === 'promoted');
  }
  n.say(
    'shop: web 1.0.0 → orders 1.0.0 → account 1.0.0, catalog 1.0.0;  admin: console 1.0.0 → account 1.0.0',
  );
}

async function prerelease(
  o: TourOptions,
  shop: Load,
  admin: Load,
  create: (m: Record<string, string>) => Promise<number>,
): Promise<number> {
  const { client, narrator: n } = o;
  n.section('A ticket for shop changing orders and account; pre-release by header');
  const t = await create({ orders: '2.0.0', account: '2.0.0' });
  n.command(`turnout release create shop --set orders=2.0.0 --set account=2.0.0   # ticket ${t}`);
  n.command(`turnout release prerelease ${t} --wait`);
  await client.post(`/v1/tickets/${t}/prerelease`, {});
  const ticket = await waitTicket(client, t, (x) => x.state === 'prerelease');
  const live = Date.now();
  const header = `x-prerelease: ${ticket.prereleaseSecret}`;
  n.say(
    `deployed bottom-up (account 2.0.0, then orders 2.0.0); lane t-${t} is live for the header ${header} (a random value per ticket, printed by release prerelease/status)`,
  );
  n.command(`curl -H 'Host: shop.localhost' -H '${header}' ${o.edge}/`);
  const tester = startLoad({
    edge: o.edge,
    host: 'shop.localhost',
    product: 'shop',
    users: 3,
    userPrefix: 'qa',
    concurrency: 1,
    maxRequests: 10,
    headers: { 'x-prerelease': ticket.prereleaseSecret },
  });
  while (tester.results.length < 10) await sleep(50);
  const tested = await tester.stop();
  n.check(
    'a request with the header sees orders 2.0.0 and account 2.0.0 (web and catalog stay 1.0.0)',
    tested.every(
      (r) =>
        r.status === 200 &&
        r.versions.orders === '2.0.0' &&
        r.versions.account === '2.0.0' &&
        r.versions.web === '1.0.0',
    ),
  );
  // Ticket ids are sequential: a guess of the lane's name must not get in.
  const guesser = startLoad({
    edge: o.edge,
    host: 'shop.localhost',
    product: 'shop',
    users: 1,
    userPrefix: 'guess',
    concurrency: 1,
    maxRequests: 3,
    headers: { 'x-prerelease': `t-${t}` },
  });
  while (guesser.results.length < 3) await sleep(50);
  const guessed = await guesser.stop();
  n.check(
    `a request guessing x-prerelease: t-${t} stays on stable`,
    guessed.every((r) => r.status === 200 && r.lane === null && r.versions.orders === '1.0.0'),
  );
  await sleep(1000);
  const plain = since(shop, live);
  n.check(
    'requests without it still see orders 1.0.0',
    plain.length > 0 && plain.every((r) => r.versions.orders === '1.0.0'),
    `${plain.length} requests`,
  );
  const adminSeen = since(admin, live);
  n.check(
    'admin keeps account 1.0.0 (its own stable)',
    adminSeen.length > 0 && adminSeen.every((r) => r.versions.account === '1.0.0'),
    `${adminSeen.length} requests`,
  );
  return t;
}

async function canary(o: TourOptions, shop: Load, t: number, pause: number): Promise<void> {
  const { client, narrator: n } = o;
  n.section('Canary: 10 % of users, then 50 %, with analysis against stable');
  n.command(`turnout release canary ${t} --steps 10,50 --pause ${pause / 1000}s --wait`);
  await client.post(`/v1/tickets/${t}/canary`, { steps: [10, 50], pauseMs: pause });
  const shares: Record<number, { inLane: Set<string>; users: Set<string> }> = {};
  let step = -1;
  let stepStart = Date.now();
  let said = '';
  for (;;) {
    const x = (await client.get(`/v1/tickets/${t}`)) as TicketView;
    if (x.state !== 'canary' && x.state !== 'prerelease')
      throw new Error(`ticket ${t} is ${x.state}: ${x.progress.message ?? ''}`);
    const now = Date.now();
    if (x.progress.canaryStep !== undefined && x.progress.canaryStep !== step) {
      step = x.progress.canaryStep;
      stepStart = now;
    }
    if (step >= 0) {
      // Users seen since the step began (after a moment for every proxy to have the rules).
      const rs = shop.results.filter((r) => r.at >= stepStart + 500);
      const s = {
        inLane: new Set(rs.filter((r) => r.lane === `t-${t}`).map((r) => r.user)),
        users: new Set(rs.map((r) => r.user)),
      };
      shares[step] = s;
      const line = `step ${step + 1}: ${pct(s.inLane.size / s.users.size)} of ${s.users.size} users in lane t-${t}  (${x.progress.message ?? ''})`;
      if (s.users.size > 0 && line !== said) n.say(line);
      said = line;
    }
    if (x.progress.canaryDone === true) break;
    await sleep(1000);
  }
  const within = (s: { inLane: Set<string>; users: Set<string> } | undefined, p: number) =>
    s !== undefined &&
    s.users.size >= 50 &&
    Math.abs(s.inLane.size - s.users.size * p) <= 3 * Math.sqrt(s.users.size * p * (1 - p));
  n.check(
    'the share of users in the lane was about 10 %, then about 50 % (within 3σ)',
    within(shares[0], 0.1) && within(shares[1], 0.5),
    `${shares[0]?.inLane.size ?? 0}/${shares[0]?.users.size ?? 0}, then ${shares[1]?.inLane.size ?? 0}/${shares[1]?.users.size ?? 0} users`,
  );
  const sticky = [...(shares[0]?.inLane ?? [])].every(
    (u) => !shares[1]?.users.has(u) || shares[1]?.inLane.has(u),
  );
  n.check('users are sticky: everyone in the lane at 10 % stayed in it at 50 %', sticky);
}

async function faultyCanary(
  o: TourOptions,
  shop: Load,
  create: (m: Record<string, string>) => Promise<number>,
): Promise<string> {
  const { client, narrator: n } = o;
  n.section('A faulty build: orders 2.1.0 answers 500 half the time');
  const f = await create({ orders: '2.1.0' });
  n.command(`turnout release create shop --set orders=2.1.0   # ticket ${f}`);
  n.command(`turnout release canary ${f} --steps 20,50 --pause 60s --wait`);
  const start = Date.now();
  await client.post(`/v1/tickets/${f}/canary`, { steps: [20, 50], pauseMs: 60_000 });
  const end = await waitTicket(client, f, (x) => x.state === 'aborted', 120_000).catch(
    (e: Error) => ({ state: 'error', goal: null, id: f, progress: { message: e.message } }),
  );
  n.say(`${end.progress.message ?? ''}`);
  n.check(
    'analysis aborted the canary by itself',
    end.state === 'aborted' && /^analysis failed/.test(end.progress.message ?? ''),
    `after ${((Date.now() - start) / 1000).toFixed(1)} s`,
  );
  await sleep(1000);
  const during = shop.results.filter((r) => r.at >= start);
  const lane = `t-${f}`;
  n.check(
    'no request outside its lane failed while it ran',
    failed(during.filter((r) => r.lane !== lane)).length === 0,
    `${failed(during.filter((r) => r.lane === lane)).length} failed inside lane ${lane}, as the fault says`,
  );
  const after = since(shop, Date.now() - 500);
  n.check(
    'its lane has no traffic any more',
    after.every((r) => r.lane !== lane),
  );
  return lane;
}

async function promoteAndRevert(o: TourOptions, shop: Load, admin: Load, t: number): Promise<void> {
  const { client, narrator: n } = o;
  n.section('Promote, then roll back');
  n.command(`turnout release promote ${t} --wait`);
  await client.post(`/v1/tickets/${t}/promote`, {});
  await waitTicket(client, t, (x) => x.state === 'promoted');
  const promoted = Date.now();
  await sleep(1500);
  const after = since(shop, promoted + 500);
  n.check(
    'every shop request now sees orders 2.0.0 and account 2.0.0',
    after.length > 0 &&
      after.every((r) => r.versions.orders === '2.0.0' && r.versions.account === '2.0.0'),
    `${after.length} requests`,
  );
  const adminAfter = since(admin, promoted);
  n.check(
    'admin still sees account 1.0.0',
    adminAfter.length > 0 && adminAfter.every((r) => r.versions.account === '1.0.0'),
  );

  n.command(`turnout release revert ${t} --wait`);
  const asked = Date.now();
  const revert = (await client.post(`/v1/tickets/${t}/revert`, {})) as TicketView;
  await waitTicket(client, revert.id, (x) => x.state === 'promoted', 10_000);
  await sleep(1500);
  const seen = since(shop, asked);
  const lastNew = seen
    .filter((r) => r.versions.orders !== '1.0.0')
    .reduce((m, r) => Math.max(m, r.at), asked);
  n.say(
    `ticket ${revert.id} reverts ticket ${t}: its versions still run, so it is a routing switch`,
  );
  n.check(
    'within a second every request is back on orders 1.0.0 and account 1.0.0',
    lastNew - asked < 1000 && since(shop, lastNew + 1).every((r) => r.versions.orders === '1.0.0'),
    lastNew === asked
      ? 'no request sent after the revert was served by 2.0.0'
      : `the last request served by 2.0.0 was sent ${lastNew - asked} ms after the revert`,
  );
}

async function reclaim(o: TourOptions): Promise<void> {
  const { client, narrator: n } = o;
  n.section('Reclaim');
  n.say(
    'shop keeps the versions of its last 2 promoted tickets; nothing names orders 2.1.0 any more',
  );
  n.command('turnout get instances');
  const state = async (id: string) =>
    ((await client.get(`/v1/instances/${encodeURIComponent(id)}`)) as { state: string }).state;
  const deadline = Date.now() + 45_000;
  let faulty = await state('orders-2.1.0-0');
  while (faulty !== 'stopped' && Date.now() < deadline) {
    await sleep(500);
    faulty = await state('orders-2.1.0-0');
  }
  n.check('orders 2.1.0 was drained and stopped', faulty === 'stopped');
  const kept = await Promise.all(
    ['orders-2.0.0-0', 'account-2.0.0-0', 'account-1.0.0-0'].map(state),
  );
  n.check(
    'orders and account 2.0.0 (one revert away) and account 1.0.0 (stable for both) still run',
    kept.every((s) => s === 'ready'),
    kept.join(', '),
  );
}
