// A rolling release end to end, on real processes with real traffic: `turnout up` (engine, process
// runtime, proxy), the example services of examples/shop.yaml, a steady bounded load on the edge.
//
// Given shop with orders 1.0.0 on 3 instances, under load,
// when a rolling ticket (maxUnavailable 1) for orders 2.0.0 walks a batch by approval and is
// aborted, and then another is promoted,
// then no request fails, the abort brings back 3 old instances and drains every new one, the
// promotion leaves 3 new instances and no old one serving, users move to the lane with the
// batches (sticky), and at every store change the engine makes (sampled on each `change` event of
// /v1/events, not on a timer) orders has at least replicas − maxUnavailable = 2 instances ready.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { Load, Served, Stack } from '../support/release-stack.js';
import { Hopeless, startLoad, startStack, waitFor } from '../support/release-stack.js';

const REPLICAS = 3;
const MAX_UNAVAILABLE = 1;
const PLAN = { strategy: 'rolling', replicas: REPLICAS, maxUnavailable: MAX_UNAVAILABLE };
const failures = (rs: readonly Served[]) => rs.filter((r) => r.status !== 200);

interface Sample {
  readonly version: number;
  /** Ready orders instances by version. */
  readonly ready: Record<string, number>;
}

/**
 * Reads orders' instances after every `change` frame of /v1/events (each engine write moves the
 * store's change counter), one read at a time; a frame that arrives during a read asks for one
 * more read after it. Stopped by stop(), which waits for the read in flight.
 */
async function sampleOnChanges(stack: Stack) {
  const samples: Sample[] = [];
  const abort = new AbortController();
  const res = await fetch(`${stack.api}/v1/events`, { signal: abort.signal });
  if (!res.ok || res.body === null) throw new Error(`/v1/events answered ${res.status}`);
  let reading: Promise<void> | null = null;
  let again = false;
  const read = async (version: number) => {
    const page = await stack.get('/v1/instances?module=orders&limit=500');
    const ready: Record<string, number> = {};
    for (const i of page.items as { version: string; state: string; health: string }[])
      if (i.state === 'ready' && i.health !== 'unhealthy')
        ready[i.version] = (ready[i.version] ?? 0) + 1;
    samples.push({ version, ready });
  };
  const onChange = (version: number) => {
    if (reading !== null) {
      again = true;
      return;
    }
    reading = read(version)
      .catch(() => {}) // the stack stopping under the last read
      .finally(() => {
        reading = null;
        if (again) {
          again = false;
          onChange(version);
        }
      });
  };
  const pump = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf('\n\n');
        while (end >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (/^event: change$/m.test(frame) && data !== undefined)
            onChange((JSON.parse(data) as { version: number }).version);
          end = buffer.indexOf('\n\n');
        }
      }
    } catch {
      // aborted by stop()
    }
  })();
  return {
    samples,
    async stop() {
      abort.abort();
      await pump;
      while (reading !== null) await reading;
    },
  };
}

describe('a rolling release, end to end under load', () => {
  let stack: Stack;
  let load: Load;
  let sampler: Awaited<ReturnType<typeof sampleOnChanges>>;

  const ticket = (id: number) => stack.get(`/v1/tickets/${id}`);
  const since = (t: number) => load.results.filter((r) => r.at >= t);
  const untilState = (id: number, ok: (t: any) => boolean, ms = 120_000) =>
    waitFor(
      `ticket ${id}`,
      async () => {
        const t = await ticket(id);
        if (ok(t)) return t;
        if (['failed', 'aborted', 'promoted'].includes(t.state))
          throw new Hopeless(`ticket ${id} is ${t.state}: ${t.progress?.message}`);
        throw new Error(`last seen ${t.state}: ${t.progress?.message}`);
      },
      ms,
    );
  const create = async (items: Record<string, string>, plan?: unknown) =>
    (
      await stack.post('/v1/tickets', {
        product: 'shop',
        items: Object.entries(items).map(([module, version]) => ({ module, version })),
        ...(plan === undefined ? {} : { plan }),
      })
    ).id as number;
  const readyOf = async (version: string) =>
    (await stack.get(`/v1/instances?module=orders&version=${version}&limit=500`)).items.filter(
      (i: any) => i.state === 'ready',
    ).length;

  beforeAll(async () => {
    await ensureBuilt();
    stack = await startStack();
    const documents = parseAllDocuments(
      readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8'),
    ).map((d) => d.toJSON());
    await stack.post('/v1/apply', { documents });
    // orders on 3 instances (what a rolling release replaces), the rest on one each.
    const o = await create({ orders: '1.0.0' }, { replicas: REPLICAS });
    await stack.post(`/v1/tickets/${o}/promote`);
    await untilState(o, (t) => t.state === 'promoted');
    const s = await create({ web: '1.0.0', account: '1.0.0', catalog: '1.0.0' });
    await stack.post(`/v1/tickets/${s}/promote`);
    await untilState(s, (t) => t.state === 'promoted');
    sampler = await sampleOnChanges(stack);
    load = startLoad({
      edge: stack.edge,
      host: 'shop.localhost',
      product: 'shop',
      users: 100,
      concurrency: 2,
      maxMs: 540_000,
      maxRequests: 60_000,
    });
    await waitFor('load', async () => load.results.length >= 20);
  }, 240_000);

  afterAll(async () => {
    await load?.stop();
    await sampler?.stop();
    await stack?.stop();
  }, 60_000);

  it('refuses a bad strategy or maxUnavailable, or a module another product shares, naming the field; creates nothing', async () => {
    const before = (await stack.get('/v1/tickets?product=shop')).items.length;
    for (const [plan, field] of [
      [{ strategy: 'gray' }, 'plan.strategy'],
      [{ ...PLAN, maxUnavailable: '0%' }, 'plan.maxUnavailable'],
      [{ ...PLAN, maxUnavailable: 3 }, 'plan.maxUnavailable'],
      [{ strategy: 'rolling' }, 'plan.replicas'],
    ] as const) {
      const r = await stack.call('POST', '/v1/tickets', {
        product: 'shop',
        items: [{ module: 'orders', version: '2.0.0' }],
        plan,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(JSON.stringify(r.body)).toContain(field);
    }
    // account 1.0.0 serves shop; once admin routes to it too, draining it would take admin's.
    const admin = await stack.get('/v1/products/admin');
    const { createdAt: _c, updatedAt: _u, name: _n, ...input } = admin;
    const put = await stack.call('PUT', '/v1/products/admin', {
      ...input,
      baseDtab: '/svc/account => /v/account/1.0.0;',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const shared = await stack.call('POST', '/v1/tickets', {
      product: 'shop',
      items: [{ module: 'account', version: '2.0.0' }],
      plan: PLAN,
    });
    expect(shared.status, JSON.stringify(shared.body)).toBe(400);
    expect(JSON.stringify(shared.body)).toContain('plan.strategy');
    expect(JSON.stringify(shared.body)).toContain('account@1.0.0 also serves product admin');
    expect(JSON.stringify(shared.body)).toContain('blue-green');
    expect((await stack.get('/v1/tickets?product=shop')).items.length).toBe(before);
  }, 60_000);

  it('abort: the batch rolled out comes back batch by batch, no request fails', async () => {
    const t = await create({ orders: '2.0.0' }, PLAN);
    const started = Date.now();
    // Each batch waits for approval: batch 1 (1 of 3 new), approve, batch 2 (2 of 3 new).
    await stack.post(`/v1/tickets/${t}/canary`, { steps: [100], pauseMs: null });
    await untilState(t, (x) => x.progress?.message?.includes('batch 1 of 3 at 33.33 %: waiting'));
    const at1 = Date.now();
    await waitFor('traffic at batch 1', async () => since(at1).length >= 60);
    const approved = Date.now();
    await stack.post(`/v1/tickets/${t}/approve`);
    const two = await untilState(t, (x) =>
      x.progress?.message?.includes('batch 2 of 3 at 66.66 %: waiting'),
    );
    const at2 = Date.now();
    expect(two.progress.rollout).toEqual([
      { module: 'orders', version: '2.0.0', from: '1.0.0', old: 1, new: 2 },
    ]);
    await waitFor('traffic at batch 2', async () => since(at2).length >= 60);
    const abortAt = Date.now();
    // The lane answers with 2.0.0, stable with 1.0.0; a user in the lane at batch 1 stays in it.
    const inLane = (rs: readonly Served[]) =>
      new Set(rs.filter((r) => r.lane === `t-${t}`).map((r) => r.user));
    const first = since(at1).filter((r) => r.at < approved);
    const second = since(at2).filter((r) => r.at < abortAt);
    for (const r of [...first, ...second])
      expect(r.versions.orders).toBe(r.lane === `t-${t}` ? '2.0.0' : '1.0.0');
    const a = inLane(first);
    const b = inLane(second);
    expect(a.size).toBeGreaterThan(0);
    expect(b.size).toBeGreaterThan(a.size);
    const secondUsers = new Set(second.map((r) => r.user));
    for (const u of a) if (secondUsers.has(u)) expect(b.has(u)).toBe(true);
    expect(failures(since(started))).toEqual([]);

    await stack.post(`/v1/tickets/${t}/abort`);
    const aborted = await untilState(t, (x) => x.state === 'aborted', 180_000);
    expect(aborted.progress.message).toBe('aborted: the old version serves again at full capacity');
    expect(await readyOf('1.0.0')).toBe(REPLICAS);
    await waitFor('the new version drained', async () => (await readyOf('2.0.0')) === 0);
    const types = (await stack.get(`/v1/tickets/${t}/events`)).items.map((e: any) => e.type);
    expect(types.filter((x: string) => x === 'rolling.batch')).toHaveLength(2);
    expect(types).toContain('instance.drain');
    expect(types.at(-1)).toBe('aborted');
    const ended = Date.now();
    await waitFor('traffic after the abort', async () =>
      load.results.some((r) => r.at > ended + 500),
    );
    for (const r of load.results.filter((x) => x.at > ended + 500))
      expect(r.versions.orders).toBe('1.0.0');
    expect(failures(load.results)).toEqual([]);
  }, 300_000);

  it('promote: every batch rolls with analysis, then stable names 2.0.0; no request fails', async () => {
    const t = await create({ orders: '2.0.0' }, PLAN);
    await stack.post(`/v1/tickets/${t}/promote`);
    const done = await untilState(t, (x) => x.state === 'promoted', 240_000);
    expect(done.progress).toMatchObject({ batch: 3, batches: 3 });
    // The batches went on because the traffic the new instances carried passed the analysis.
    expect(done.progress.analysis.length).toBeGreaterThan(0);
    for (const v of done.progress.analysis) expect(v.verdict).toBe('pass');
    const product = await stack.get('/v1/products/shop');
    expect(product.baseDtab).toContain('/svc/orders => /v/orders/2.0.0;');
    expect(await readyOf('2.0.0')).toBe(REPLICAS);
    await waitFor('the old version drained', async () => (await readyOf('1.0.0')) === 0);
    const events = (await stack.get(`/v1/tickets/${t}/events`)).items;
    const batches = events.filter((e: any) => e.type === 'rolling.batch');
    expect(batches.map((e: any) => e.data.batch)).toEqual([1, 2, 3]);
    const ended = Date.now();
    await waitFor('traffic after the promotion', async () =>
      load.results.some((r) => r.at > ended + 500),
    );
    for (const r of load.results.filter((x) => x.at > ended + 500))
      expect(r.versions.orders).toBe('2.0.0');
    expect(failures(load.results)).toEqual([]);
  }, 300_000);

  it('at every engine write, orders had at least replicas − maxUnavailable ready', async () => {
    await sampler.stop();
    const served = await load.stop();
    const samples = sampler.samples;
    const totals = samples.map((s) => (s.ready['1.0.0'] ?? 0) + (s.ready['2.0.0'] ?? 0));
    console.log(
      `rolling e2e: ${served.length} requests, ${failures(served).length} failed; ${samples.length} samples of orders' ready instances, fewest ${Math.min(...totals)}`,
    );
    expect(samples.length).toBeGreaterThan(20);
    // Both sides were seen, so the samples cover the batches and not just the ends.
    expect(samples.some((s) => (s.ready['2.0.0'] ?? 0) > 0 && (s.ready['1.0.0'] ?? 0) > 0)).toBe(
      true,
    );
    for (const s of samples)
      expect(
        (s.ready['1.0.0'] ?? 0) + (s.ready['2.0.0'] ?? 0),
        `at store version ${s.version}: ${JSON.stringify(s.ready)}`,
      ).toBeGreaterThanOrEqual(REPLICAS - MAX_UNAVAILABLE);
    expect(failures(served)).toEqual([]);
  }, 60_000);
});
