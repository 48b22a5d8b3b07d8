// The agent routes whose writes share a transaction (heartbeat + instance leases, status report +
// instance health) on Postgres, where the writer lock and row locks are real (SQLite serializes
// whole transactions).

import { afterEach, expect, it } from 'vitest';
import { createAgentClient } from '../../src/client/agent-client.js';
import { withTestPostgres } from '../support/postgres.js';
import type { Api } from './harness.js';
import { postgresOpener, seedCatalog, startApi, TOKENS } from './harness.js';

const H1 = 'h1.example';

withTestPostgres('agent routes (postgres)', (pgTest) => {
  let api: Api | undefined;
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it('heartbeats renew instance leases; a healthy report readies the instance; the stream answers', async () => {
    api = await startApi({ open: postgresOpener(pgTest, 'turnout_assign') });
    const s = api.store;
    await seedCatalog(api);
    const agent = createAgentClient({ server: api.url, token: TOKENS.agent });
    await agent.register(H1, { address: '10.0.0.11' });
    await s.createAssignment(
      { id: 'w1', host: H1, module: 'web', version: '1.0.0', run: { command: 'node' } },
      'engine',
    );
    await s.createInstance(
      { id: 'w1', module: 'web', version: '1.0.0', host: H1, address: '10.0.0.11:4000' },
      'engine',
    );
    const beat = await agent.heartbeat(H1, 10_000);
    expect((await s.getInstance('w1'))?.leaseExpiresAt).toBe(beat.leaseExpiresAt);
    // Reports race with the engine's writes on the same rows: all must land, none deadlock.
    await Promise.all([
      agent.report(H1, 'w1', { phase: 'running', address: '10.0.0.11:4000', health: 'healthy' }),
      s.setAssignmentDesired('w1', 'stop', 'engine'),
      agent.report(H1, 'w1', { phase: 'running', address: '10.0.0.11:4000', health: 'healthy' }),
    ]);
    expect(await s.getInstance('w1')).toMatchObject({ state: 'ready', health: 'healthy' });
    expect(await s.getAssignment('w1')).toMatchObject({
      desired: 'stop',
      status: { phase: 'running', health: 'healthy' },
    });
    const stream = agent.stream(H1);
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(first.value?.assignments.map((a) => `${a.id} ${a.desired}`)).toEqual(['w1 stop']);
    await stream.return();
  });
});
