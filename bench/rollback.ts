// Rollback time (issue 5, issue 12): from sending `revert` to the moment after which every request
// of a steady load client is served by the old versions — after a blue-green promotion (a routing
// switch; goal: under 1 s p99) and, in the same run, after a rolling promotion (a redeploy: the
// revert replaces the instances again, batch by batch).
//
// Set-up: the real `turnout up` (built bin: SQLite, release engine, process runtime, proxy as its
// own process) on free loopback ports with the example services of examples/shop.yaml; shop on
// v1, then a ticket promoting orders and account 2.0.0; then `rounds` reverts, each reverting the
// previous one, so stable flips 2.0.0 → 1.0.0 → 2.0.0 … with every instance still running (a
// routing switch, as designed). Then orders alone is promoted with `strategy: rolling` (3
// replicas, maxUnavailable 1) and reverted `--rolling-rounds` times the same way: each revert
// inherits the rolling plan, so it is a redeploy. A load client (4 connections, bounded) records
// what served each request; its request rate bounds the resolution (printed). The reference
// figure in the same run is the API's own answer time for the revert request.
//
// Run: npm run bench:rollback [-- --rounds 20 --rolling-rounds 3]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureBuilt, ROOT } from '../test/support/build.js';
import { startLoad, startStack, waitFor } from '../test/support/release-stack.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return (at < 0 ? fallback : Number(process.argv[at + 1])) || fallback;
};
const rounds = arg('--rounds', 20);
const rollingRounds = arg('--rolling-rounds', 3);
const ROLLING = { strategy: 'rolling', replicas: 3, maxUnavailable: 1 };

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  await ensureBuilt();
  const stack = await startStack();
  try {
    const documents = parseAllDocuments(
      readFileSync(join(ROOT, 'examples', 'shop.yaml'), 'utf8'),
    ).map((d) => d.toJSON());
    await stack.post('/v1/apply', { documents });
    const promote = async (items: Record<string, string>, plan?: unknown) => {
      const t = await stack.post('/v1/tickets', {
        product: 'shop',
        items: Object.entries(items).map(([module, version]) => ({ module, version })),
        ...(plan === undefined ? {} : { plan }),
      });
      await stack.post(`/v1/tickets/${t.id}/promote`);
      await waitFor(
        `ticket ${t.id}`,
        async () => (await stack.get(`/v1/tickets/${t.id}`)).state === 'promoted',
        180_000,
      );
      return t.id as number;
    };
    await promote({ web: '1.0.0', orders: '1.0.0', account: '1.0.0', catalog: '1.0.0' });
    let last = await promote({ orders: '2.0.0', account: '2.0.0' });
    let current = '2.0.0';
    const load = startLoad({
      edge: stack.edge,
      host: 'shop.localhost',
      product: 'shop',
      users: 100,
      concurrency: 4,
      maxMs: 600_000,
    });
    await waitFor('load', async () => load.results.length > 200);
    /** Reverts `last` `n` times, each the previous revert; the switch time of each. */
    const revertRounds = async (n: number, timeoutMs: number) => {
      const switches: number[] = [];
      const answers: number[] = [];
      for (let i = 0; i < n; i++) {
        const target = current === '2.0.0' ? '1.0.0' : '2.0.0';
        const asked = Date.now();
        const t0 = performance.now();
        const revert = await stack.post(`/v1/tickets/${last}/revert`);
        answers.push(performance.now() - t0);
        await waitFor(
          'the revert',
          async () => (await stack.get(`/v1/tickets/${revert.id}`)).state === 'promoted',
          timeoutMs,
        );
        const promoted = Date.now();
        await waitFor(
          'traffic after the switch',
          async () => load.results.filter((r) => r.at >= promoted + 1500).length > 20,
          10_000,
        );
        const seen = load.results.filter((r) => r.at >= asked);
        const lastOld = seen
          .filter((r) => r.versions.orders !== target)
          .reduce((m, r) => Math.max(m, r.at), asked);
        switches.push(lastOld - asked);
        last = revert.id;
        current = target;
      }
      return { switches, answers };
    };
    const began = Date.now();
    const blueGreen = await revertRounds(rounds, 10_000);
    const rollingFrom = Date.now();
    // Rolling: orders alone moves on to the other version in batches, then is reverted as often.
    const next = current === '2.0.0' ? '1.0.0' : '2.0.0';
    last = await promote({ orders: next }, ROLLING);
    current = next;
    const rolling = await revertRounds(rollingRounds, 300_000);
    const results = await load.stop();
    const span = (results.at(-1)?.at ?? 0) - (results[0]?.at ?? 0);
    const failures = results.filter((r) => r.status !== 200);
    const failed = failures.length;
    // Which part each failure belongs to, and what it said: a figure without its cause is no use.
    for (const f of failures)
      console.log(
        `failed request at +${f.at - began} ms (${f.at < rollingFrom ? 'blue-green' : 'rolling'} part), user ${f.user}, lane ${f.lane}: ${f.status} ${f.error ?? ''}`,
      );
    const s = [...blueGreen.switches].sort((a, b) => a - b);
    const a = [...blueGreen.answers].sort((x, y) => x - y);
    const r = [...rolling.switches].sort((x, y) => x - y);
    console.log(
      `rollback after a blue-green promotion (routing switch), ${rounds} reverts (ms): p50 ${quantile(s, 0.5)}  p99 ${quantile(s, 0.99)}  max ${s.at(-1)}`,
    );
    console.log(
      `rollback after a rolling promotion (redeploy: 3 replicas, maxUnavailable 1), ${rollingRounds} reverts (ms): p50 ${quantile(r, 0.5)}  max ${r.at(-1)}`,
    );
    console.log(
      `revert API answer (ms):                 p50 ${quantile(a, 0.5).toFixed(1)}  p99 ${quantile(a, 0.99).toFixed(1)}`,
    );
    console.log(
      `load: ${results.length} requests in ${(span / 1000).toFixed(1)} s (${((results.length / span) * 1000).toFixed(0)} req/s, resolution ≈ ${((span / results.length) * 4).toFixed(1)} ms per connection), ${failed} failed`,
    );
    console.log(`goal p99 < 1000 ms (blue-green): ${quantile(s, 0.99) < 1000 ? 'met' : 'MISSED'}`);
  } finally {
    await stack.stop();
  }
}

await main();
