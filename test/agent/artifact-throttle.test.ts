// Artifacts end to end on 127.0.0.x (not the netns test hosts: see the report): a real control
// plane API (SQLite, the data-dir artifact store) with --max-concurrent-downloads 1, three real
// agents (HostAgent with the process runtime, one per loopback address 127.0.0.1-3, each its own
// data dir and host name). A real tarball is pushed to the store and each host is assigned the
// version: every agent asks for a permit, waits its turn (reporting queued with its position),
// downloads, verifies, unpacks and starts the instance inside the unpacked artifact — and the
// server never serves more than one download at once. A url artifact whose bytes hash to something
// else fails at the download step, naming the artifact, both hashes and the host, leaving nothing.

import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostAgent } from '../../src/agent/agent.js';
import type { StatusReport } from '../../src/agent/assignment.js';
import { createServerLink } from '../../src/agent/server-link.js';
import { createApiServer } from '../../src/api/server.js';
import type { ArtifactStore } from '../../src/artifacts/artifact-store.js';
import { DirArtifactStore } from '../../src/artifacts/dir-store.js';
import { artifactOf } from '../../src/release/fleet-runtime.js';
import type { AssignmentInput } from '../../src/store/assignment-model.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { TEST_AUTH, TOKENS } from '../api/harness.js';
import { get } from '../runtime/support.js';
import { waitFor } from '../support/wait.js';
import { loopbackAgent } from './loopback-agent.js';
import { packDir, sha256Of } from './tarballs.js';

const HOSTS = ['h1', 'h2', 'h3'] as const;

/** An assignment of app 1.0.0 on `host`, run from `artifact` (`node server.mjs`). */
function appOnHost(
  id: string,
  host: string,
  artifact: AssignmentInput['artifact'],
): AssignmentInput {
  return {
    id,
    host,
    module: 'app',
    version: '1.0.0',
    run: { command: process.execPath, args: ['server.mjs'], cwd: null, env: {} },
    artifact,
  };
}
const LONG = { timeoutMs: 90_000, everyMs: 50 };

let dir: string;
let store: Store;
let app: FastifyInstance;
let url: string;
let tgz: Buffer;
let sha: string;
let plain: Server;
let artifacts: ArtifactStore;
const agents: HostAgent[] = [];
const reports = new Map<string, StatusReport[]>();
/** Downloads the server is serving now, and the most at once. */
const served = { active: 0, max: 0, total: 0 };

/** The data-dir store, its reads counted while they stream (and paced, so downloads overlap). */
function counted(inner: ArtifactStore): ArtifactStore {
  return {
    put: (e, b, o) => inner.put(e, b, o),
    head: (s) => inner.head(s),
    delete: (s) => inner.delete(s),
    list: () => inner.list(),
    close: () => inner.close(),
    async read(s, range) {
      const stream = await inner.read(s, range);
      if (stream === null) return null;
      served.active += 1;
      served.total += 1;
      served.max = Math.max(served.max, served.active);
      let done = false;
      const end = () => {
        if (!done) served.active -= 1;
        done = true;
      };
      // A pause per chunk makes a download last long enough for others to overlap it if the
      // throttle let them; the assertion is on the count, never on the time.
      const pace = new Transform({
        transform(chunk, _e, cb) {
          setTimeout(() => cb(null, chunk), 5);
        },
      });
      pace.on('close', end);
      pace.on('end', end);
      return stream.pipe(pace) as unknown as Readable;
    },
  };
}

/** The service: answers /healthz, and / with its working directory. */
const SERVER_MJS = [
  "import { createServer } from 'node:http';",
  "createServer((req, res) => res.end(req.url === '/healthz' ? 'ok' : process.cwd()))",
  '  .listen(Number(process.env.PORT), process.env.HOST);',
  '',
].join('\n');

async function startAgent(i: number): Promise<HostAgent> {
  const name = HOSTS[i] as string;
  const address = `127.0.0.${i + 1}`;
  const link = createServerLink({ server: url, token: TOKENS.agent });
  const recording = {
    ...link,
    async report(host: string, id: string, status: StatusReport) {
      await link.report(host, id, status);
      reports.set(id, [...(reports.get(id) ?? []), status]);
    },
  };
  const agent = await loopbackAgent(dir, name, address, recording);
  agents.push(agent);
  await agent.start();
  return agent;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'turnout-throttle-'));
  // The service: answers /healthz, and / with its working directory.
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'server.mjs'), SERVER_MJS);
  // Random bytes do not compress: the download has some length to it.
  writeFileSync(join(src, 'padding.bin'), randomBytes(1024 * 1024));
  tgz = await packDir(src);
  sha = sha256Of(tgz);

  artifacts = counted(await DirArtifactStore.open(join(dir, 'artifacts')));
  store = await openSqliteStore(join(dir, 'turnout.db'), { artifacts });
  await artifacts.put(sha, Readable.from([tgz]), { maxBytes: 10 * 1024 * 1024 });
  app = await createApiServer({
    store,
    auth: TEST_AUTH,
    artifacts,
    downloads: { maxConcurrent: 1 },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  // A plain server for url artifacts.
  plain = createServer((_req, res) => res.end(tgz));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));

  await store.createOrg({ name: 'acme' }, 'ada');
  await store.createModule(
    {
      name: 'app',
      org: 'acme',
      run: { process: { command: process.execPath, args: ['server.mjs'] } },
      health: { path: '/healthz', intervalMs: 200 },
    },
    'ada',
  );
  await store.createVersion(
    { module: 'app', version: '1.0.0', artifact: { sha256: sha, size: tgz.length } },
    'ada',
  );
  for (let i = 0; i < HOSTS.length; i++) await startAgent(i);
}, 120_000);

afterAll(async () => {
  for (const a of agents) await a.stop({ stopInstances: true }).catch(() => {});
  await app?.close();
  plain?.closeAllConnections();
  await new Promise((r) => plain?.close(r));
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('artifact downloads across three agents', () => {
  it('with K = 1 no two hosts download at once, some wait their turn, and all run', async () => {
    const version = await store.getVersion('app', '1.0.0');
    const artifact = artifactOf(version);
    expect(artifact).toEqual({ sha256: sha, size: tgz.length, url: null });
    for (const host of HOSTS) {
      await store.createAssignment(
        {
          ...appOnHost(`app-${host}`, host, artifact),
          health: { path: '/healthz', intervalMs: 200 },
        },
        'engine',
      );
    }
    const running = await waitFor(
      'every host running its instance, healthy, in routing',
      async () => {
        const all = await store.listAssignments();
        const ok = all.filter((a) => a.status.phase === 'running' && a.status.step === 'routing');
        // The recorder notes a report once its answer came: wait for that too.
        const told = HOSTS.every((h) => reports.get(`app-${h}`)?.some((r) => r.step === 'routing'));
        return ok.length === HOSTS.length && told ? all : null;
      },
      LONG,
    );
    expect(served.max).toBe(1);
    expect(served.total).toBe(HOSTS.length);
    // At least one host said it waited, with its place in line.
    const queued = [...reports.values()]
      .flat()
      .filter((s) => s.step === 'download' && s.download?.state === 'queued');
    expect(queued.length).toBeGreaterThan(0);
    expect(queued[0]?.download?.position).toBeGreaterThanOrEqual(1);
    // Each walked its steps: check → download (verified) → unpack → start → health/routing.
    for (const host of HOSTS) {
      const steps = (reports.get(`app-${host}`) ?? []).map((s) => s.step);
      for (const step of ['check', 'download', 'unpack', 'start', 'routing'])
        expect(steps, `${host}'s steps`).toContain(step);
      const verified = (reports.get(`app-${host}`) ?? []).find(
        (s) => s.download?.state === 'verified',
      );
      expect(verified?.download?.bytes).toBe(tgz.length);
    }
    // The process runs inside the unpacked artifact.
    for (const a of running) {
      const body = await get(a.status.address ?? '');
      expect(body.body).toBe(join(dir, `agent-${a.host}`, 'artifact-cache', sha));
    }
  });

  it('a url artifact whose bytes hash otherwise fails at the download step, leaving nothing', async () => {
    const wrong = 'c'.repeat(64);
    const port = (plain.address() as AddressInfo).port;
    const bad = { sha256: wrong, size: null, url: `http://127.0.0.1:${port}/app.tgz` };
    await store.createAssignment(appOnHost('bad-h1', 'h1', bad), 'engine');
    const failed = await waitFor(
      'bad-h1 failed',
      async () => {
        const a = await store.getAssignment('bad-h1');
        return a?.status.phase === 'failed' ? a : null;
      },
      LONG,
    );
    expect(failed.status.step).toBe('download');
    expect(failed.status.error).toContain(
      `artifact ${wrong} on host h1 from http://127.0.0.1:${port}/app.tgz: sha256 mismatch, expected ${wrong}, got ${sha}`,
    );
    // Only the good artifact is in h1's cache: no partial download, no temp directory.
    expect(readdirSync(join(dir, 'agent-h1', 'artifact-cache')).sort()).toEqual(
      [sha, `${sha}.json`].sort(),
    );
  });

  it('one host starting two artifacts at once downloads them one after the other', async () => {
    // Two new artifacts (nothing cached), both assigned to h2 in one transaction: one list.
    const both: { sha256: string; size: number; url: null }[] = [];
    for (const n of [1, 2]) {
      const src = join(dir, `src-two-${n}`);
      mkdirSync(src);
      writeFileSync(join(src, 'server.mjs'), SERVER_MJS);
      writeFileSync(join(src, 'padding.bin'), randomBytes(1024 * 1024));
      const t = await packDir(src);
      await artifacts.put(sha256Of(t), Readable.from([t]), { maxBytes: 10 * 1024 * 1024 });
      both.push({ sha256: sha256Of(t), size: t.length, url: null });
    }
    expect(served.active).toBe(0);
    served.max = 0;
    served.total = 0;
    await store.transaction(async (tx) => {
      for (const [n, artifact] of both.entries())
        await tx.createAssignment(
          {
            ...appOnHost(`two-${n}-h2`, 'h2', artifact),
            health: { path: '/healthz', intervalMs: 200 },
          },
          'engine',
        );
    });
    await waitFor(
      'both running on h2',
      async () => {
        const all = await store.listAssignments();
        const two = all.filter((a) => a.id.startsWith('two-') && a.status.phase === 'running');
        return two.length === 2 ? two : null;
      },
      LONG,
    );
    // Both came from the store, never together: one permit, one download at a time.
    expect(served.total).toBe(2);
    expect(served.max).toBe(1);
  });
});
