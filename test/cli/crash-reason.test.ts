// Issue 16, through the real bin: `turnout up` (release engine, process runtime, SQLite store) runs
// a version that crashes on start (prints a line, exits 3) and a slow one (exits twice, then
// serves after a pause). The crashing deploy fails as soon as its instance has exited 3 times —
// the event says so, not the 60 s readiness timeout — and its message names the exit code, the
// log line and `turnout logs <id>`, which `release status` shows; the slow one is deployed.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.js';
import type { RunningUp } from '../support/turnout-up.js';
import { runTurnout, startUp } from '../support/turnout-up.js';
import { Hopeless, waitFor } from '../support/wait.js';

const CRASH = `console.log('crashy: cannot reach the database at db:5432');
process.exit(3);
`;

/** Exits 3 on its first two runs (a counter file), then serves /healthz after a pause. */
const SLOW = `import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
const file = process.env.COUNTER_FILE;
let runs = 0;
try { runs = Number(readFileSync(file, 'utf8')); } catch {}
writeFileSync(file, String(runs + 1));
console.log('slowpoke: run ' + runs);
if (runs < 2) process.exit(3);
setTimeout(() => {
  http.createServer((req, res) => res.end('ok')).listen(Number(process.env.PORT), '127.0.0.1');
}, 1000);
`;

function module(name: string, script: string, env: Record<string, string> = {}): string {
  return `kind: Module
name: ${name}
org: acme
health: { path: /healthz, intervalMs: 200 }
run:
  process:
    command: ${JSON.stringify(process.execPath)}
    args: [${JSON.stringify(script)}]
    env: ${JSON.stringify(env)}
---
kind: Version
module: ${name}
version: 1.0.0
---
kind: Product
name: ${name}-app
org: acme
entry: ${name}
`;
}

describe('a deploy that fails says why (issue 16)', () => {
  let up: RunningUp;
  let dir: string;
  const cli = (...args: string[]) => runTurnout([...args, '--server', up.server]);
  const post = async (path: string, body: unknown = {}) => {
    const res = await request(`${up.server}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.body.json()) as Record<string, unknown>;
    if (res.statusCode >= 300) throw new Error(`POST ${path}: ${JSON.stringify(json)}`);
    return json;
  };
  const deploy = async (product: string, module: string) => {
    const t = await post('/v1/tickets', { product, items: [{ module, version: '1.0.0' }] });
    await post(`/v1/tickets/${t.id}/deploy`);
    return t.id as number;
  };
  /** The ticket once it left deploying (failed or deployed). */
  const settled = (id: number) =>
    waitFor(
      `ticket ${id} deployed or failed`,
      async () => {
        const t = (await up.get(`/v1/tickets/${id}`)) as { state: string };
        return t.state === 'failed' || t.state === 'deployed' ? t : null;
      },
      { timeoutMs: 90_000, everyMs: 100 },
    );

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'turnout-crash-reason-'));
    const crash = join(dir, 'crash.mjs');
    const slow = join(dir, 'slow.mjs');
    writeFileSync(crash, CRASH);
    writeFileSync(slow, SLOW);
    const yaml = join(dir, 'apps.yaml');
    writeFileSync(
      yaml,
      [
        'kind: Org\nname: acme\n',
        module('crashy', crash),
        module('slowpoke', slow, { COUNTER_FILE: join(dir, 'slow-runs') }),
      ].join('---\n'),
    );
    up = await startUp({ insecure: true });
    const applied = await cli('apply', '-f', yaml);
    if (applied.code !== 0) throw new Error(applied.stderr);
  }, 180_000);

  afterAll(async () => {
    await up?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  let crashed = 0;

  it('a version that crashes on start fails after 3 exits, naming the code, the log and the command', async () => {
    crashed = await deploy('crashy-app', 'crashy');
    const t = (await settled(crashed)) as { state: string; progress: { message: string } };
    expect(t.state).toBe('failed');
    const events = (await up.get(`/v1/tickets/${crashed}/events?limit=100`)) as {
      items: { type: string; data: Record<string, unknown> }[];
    };
    const failed = events.items.filter((e) => e.type === 'deploy.failed');
    expect(failed).toHaveLength(1);
    const data = failed[0]?.data as {
      message: string;
      crashLoop: boolean;
      instances: { id: string; exits: number; lastExit: string; log: string[]; logs: string }[];
    };
    // Failed fast: on the crash loop, not on the readiness timeout.
    expect(data.crashLoop).toBe(true);
    expect(data.message).toMatch(/^deploy failed: every instance of level 0 keeps crashing/);
    expect(data.message).not.toContain('after 60 s');
    const [one] = data.instances;
    expect(one?.id).toBe('crashy-1.0.0-0');
    expect(one?.exits).toBeGreaterThanOrEqual(3);
    expect(one?.lastExit).toBe('code 3');
    expect(one?.log).toContain('"crashy: cannot reach the database at db:5432"');
    expect(data.message).toContain(`crashy-1.0.0-0 exited ${one?.exits} times, last with code 3`);
    expect(data.message).toContain('"crashy: cannot reach the database at db:5432"');
    expect(data.message).toContain('see `turnout logs crashy-1.0.0-0`');
    expect(t.progress.message).toBe(data.message);
  }, 120_000);

  it('`release status` shows the failure with its reason, and the logs command it names works', async () => {
    const run = await cli('release', 'status', String(crashed));
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(`ticket ${crashed}  product crashy-app  state failed`);
    expect(run.stdout).toContain('keeps crashing');
    expect(run.stdout).toContain('last with code 3');
    expect(run.stdout).toContain('"crashy: cannot reach the database at db:5432"');
    expect(run.stdout).toContain('see `turnout logs crashy-1.0.0-0`');
    const logs = await cli('logs', 'crashy-1.0.0-0');
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('crashy: cannot reach the database at db:5432');
  }, 60_000);

  it('a slow starter that exits twice, then serves, is deployed, not failed fast', async () => {
    const id = await deploy('slowpoke-app', 'slowpoke');
    const t = (await settled(id)) as { state: string; progress: { message?: string } };
    if (t.state !== 'deployed') throw new Hopeless(`ticket ${id}: ${t.progress.message}`);
    expect(t.state).toBe('deployed');
    const events = (await up.get(`/v1/tickets/${id}/events?limit=100`)) as {
      items: { type: string }[];
    };
    expect(events.items.map((e) => e.type)).not.toContain('deploy.failed');
    const logs = await cli('logs', 'slowpoke-1.0.0-0');
    expect(logs.stdout).toContain('slowpoke: run 2'); // it did exit twice before serving
  }, 120_000);
});
