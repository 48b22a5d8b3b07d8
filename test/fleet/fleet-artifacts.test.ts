// Artifacts across the fleet hosts (issue 14, "a push and deploy across the test hosts"): a real
// `turnout server` with --max-concurrent-downloads K (1) in the root namespace and three hosts as
// network namespaces, each with a real `turnout agent`. Each module's new version is a build
// pushed with the real `turnout push` bin: the example service, a start file that says the
// version, and some MiB of random filler (it does not compress, so downloads last long enough to
// overlap if the throttle let them). The release puts instances on every host and completes, the
// edge answers the new version, every host downloaded — and the server's own log (one line when an
// artifact GET starts, one when it ends: one process, so their order is exact) never shows more
// than K downloads in flight. Then: a host waiting its turn says so (queued, its position) in
// `release status --json`, seen while the first download is held open by this test's own server;
// and a url artifact whose bytes hash otherwise fails on every host, naming the artifact, both
// hashes and the host, leaving nothing in the host's cache; and the agents' --max-unpacked-files
// (a flag of the real bin) refuses a build with more entries at the unpack step.
//
// K comes from TURNOUT_TEST_DOWNLOADS (default 1): run it by hand with 3 to see that without the
// throttle the downloads do overlap (the measured overlap is printed), so the K = 1 run proves
// something.

import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { readReply } from '../../src/demo/load-summary.js';
import { packDir, sha256Of } from '../agent/tarballs.js';
import { ensureBuilt, ROOT } from '../support/build.js';
import { netnsGate } from '../support/netns.js';
import type { Fleet } from './fleet-stack.js';
import { MODULES, startFleet, waitFor } from './fleet-stack.js';

const gate = netnsGate('the fleet artifact test on network namespaces');
const HOSTS = 3;
const K = Number(process.env.TURNOUT_TEST_DOWNLOADS ?? '1');
const FILLER_BYTES = 6 * 1024 * 1024;
/**
 * One instance per host (the placement spreads a version's replicas over the hosts), all of a
 * dependency level started at once (surge) so that nothing but the throttle keeps their downloads
 * apart, and time for the held download below.
 */
/** The agents' --max-unpacked-files: far above a build's few entries, far below the default. */
const MAX_FILES = 40;
const PLAN = { replicas: HOSTS, surge: HOSTS, readyTimeoutMs: 300_000 };

interface DownloadLine {
  event: 'artifact_download_started' | 'artifact_download_ended';
  sha256: string;
  peer: string;
  bytes: number;
  complete?: boolean;
}

/** The server's download lines, in the order it wrote them. */
function downloadLines(stderr: string): DownloadLine[] {
  const out: DownloadLine[] = [];
  for (const line of stderr.split('\n')) {
    if (!line.includes('"artifact_download_')) continue;
    out.push(JSON.parse(line) as DownloadLine);
  }
  return out;
}

/** The most downloads in flight at once, and the most hosts (peers) with one in flight. */
function overlap(lines: readonly DownloadLine[]): { downloads: number; hosts: number } {
  const active = new Map<string, number>();
  let n = 0;
  let downloads = 0;
  let hosts = 0;
  for (const l of lines) {
    const d = l.event === 'artifact_download_started' ? 1 : -1;
    n += d;
    active.set(l.peer, (active.get(l.peer) ?? 0) + d);
    downloads = Math.max(downloads, n);
    hosts = Math.max(hosts, [...active.values()].filter((v) => v > 0).length);
  }
  return { downloads, hosts };
}

/** A build of `module`: the example service, a start file naming `version`, random filler. */
function build(dir: string, version: string, filler: number): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(ROOT, 'examples', 'services', 'service.mjs'), join(dir, 'service.mjs'));
  writeFileSync(
    join(dir, 'start.mjs'),
    `process.env.SERVICE_VERSION = ${JSON.stringify(version)};\nawait import('./service.mjs');\n`,
  );
  writeFileSync(join(dir, 'filler.bin'), randomBytes(filler));
  return dir;
}

/**
 * This test's own artifact server in the root namespace (the hosts reach it at the bridge
 * address): `/held.tgz` sends its first bytes and then one byte every 2 s (the agent gives up after
 * 30 s of silence) until release(); `/<name>.tgz` in `plain` sends its bytes at once.
 */
interface FileServer {
  readonly server: Server;
  url(path: string): string;
  held: Buffer;
  /** Served whole at once, by path. */
  plain: Map<string, Buffer>;
  release(): void;
  /** Requests by path: how many came, how many at once at most. */
  seen: Map<string, { total: number; active: number; max: number }>;
}

async function fileServer(address: string): Promise<FileServer> {
  let release = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const fs: FileServer = {
    server: createServer(),
    url: (path) => `http://${address}:${(fs.server.address() as AddressInfo).port}${path}`,
    held: Buffer.alloc(0),
    plain: new Map(),
    release: () => release(),
    seen: new Map(),
  };
  const count = (path: string, res: ServerResponse) => {
    const s = fs.seen.get(path) ?? { total: 0, active: 0, max: 0 };
    s.total += 1;
    s.active += 1;
    s.max = Math.max(s.max, s.active);
    fs.seen.set(path, s);
    res.once('close', () => {
      s.active -= 1;
    });
  };
  fs.server.on('request', (req, res) => {
    const path = req.url ?? '';
    count(path, res);
    const plain = fs.plain.get(path);
    if (plain !== undefined) {
      res.writeHead(200, { 'content-length': plain.length }).end(plain);
      return;
    }
    if (path !== '/held.tgz') {
      res.writeHead(404).end();
      return;
    }
    const body = fs.held;
    res.writeHead(200, { 'content-length': body.length });
    let at = 64 * 1024;
    res.write(body.subarray(0, at));
    const trickle = setInterval(() => {
      if (at < body.length - 1) res.write(body.subarray(at, ++at));
    }, 2000);
    res.once('close', () => clearInterval(trickle));
    void released.then(() => {
      clearInterval(trickle);
      res.end(body.subarray(at));
    });
  });
  await new Promise<void>((r) => fs.server.listen(0, address, r));
  return fs;
}

/** What the assignments of a status say, for a wait's message. */
const brief = (s: any) =>
  (s.assignments as any[])
    .map(
      (a) =>
        `${a.host} ${a.module}@${a.version} ${a.desired} ${a.status.phase} ${a.status.step} ${JSON.stringify(a.status.download)} ${a.status.error ?? ''}`,
    )
    .join('; ');

/** `release status <id> --json` through the real bin. */
function status(fleet: Fleet, id: number): any {
  const r = fleet.cli(['release', 'status', String(id), '--json']);
  if (r.code !== 0) throw new Error(`release status ${id}: ${r.code} ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every module of a request through host i's edge answered from `version`. */
async function answersFrom(fleet: Fleet, i: number, version: string): Promise<boolean> {
  const res = await request(`${fleet.edge(i)}/`, {
    headers: { host: 'shop.localhost', 'x-user-id': 'probe' },
  });
  const { versions } = readReply(await res.body.text());
  const all = Object.values(versions);
  return res.statusCode === 200 && all.length === MODULES.length && all.every((v) => v === version);
}

describe.skipIf(gate.skip)('artifacts across three hosts (network namespaces)', () => {
  let fleet: Fleet;
  let files: FileServer;
  let hostOfPeer: Map<string, string>;

  beforeAll(async () => {
    await ensureBuilt();
    fleet = await startFleet({
      prefix: 'tfart',
      serverArgs: ['--max-concurrent-downloads', String(K)],
      agentArgs: ['--max-unpacked-files', String(MAX_FILES), '--artifact-cache-bytes', '1GiB'],
    });
    hostOfPeer = new Map(fleet.net.hosts.map((h) => [h.address, `h${h.index}`]));
    files = await fileServer(fleet.net.bridgeAddress);
    // v1 of every module on every host: a command on the host, no artifact yet.
    await fleet.setUp(HOSTS);
  }, 240_000);

  afterAll(async () => {
    files?.release();
    files?.server.closeAllConnections();
    await new Promise((r) => files?.server.close(r));
    await fleet?.destroy();
  }, 60_000);

  it(`pushed builds are released to every host, never more than ${K} download(s) at once`, async () => {
    const pushed = new Map<string, string>();
    for (const m of MODULES) {
      const dir = build(join(fleet.dataDir, 'builds', `${m}-3`), '3.0.0', FILLER_BYTES);
      const r = fleet.cli([
        'push',
        m,
        '3.0.0',
        dir,
        '--command',
        'node',
        '--arg',
        'start.mjs',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.result).toBe('created');
      expect(out.artifact.size).toBeGreaterThan(FILLER_BYTES);
      pushed.set(m, out.artifact.sha256);
    }
    const before = downloadLines(fleet.server().stderr()).length;
    const id = await fleet.createTicket({ web: '3.0.0', orders: '3.0.0', account: '3.0.0' }, PLAN);
    await fleet.post(`/v1/tickets/${id}/promote`);
    await fleet.untilTicket(id, (t) => t.state === 'promoted', 240_000);
    for (let i = 1; i <= HOSTS; i++)
      await waitFor(`host h${i}'s edge answering 3.0.0 end to end`, () =>
        answersFrom(fleet, i, '3.0.0'),
      );

    // Every host runs 3.0.0 of each module, and downloaded exactly what it runs, whole.
    const live = (await fleet.instances()).filter(
      (i) => i.version === '3.0.0' && i.state === 'ready',
    );
    const lines = downloadLines(fleet.server().stderr()).slice(before);
    const got = new Map<string, Set<string>>();
    for (const l of lines) {
      if (l.event !== 'artifact_download_ended') continue;
      expect(l.complete, JSON.stringify(l)).toBe(true);
      const host = hostOfPeer.get(l.peer) ?? `unknown peer ${l.peer}`;
      got.set(host, new Set([...(got.get(host) ?? []), l.sha256]));
    }
    for (let i = 1; i <= HOSTS; i++) {
      const runs = new Set(live.filter((x) => x.host === `h${i}`).map((x) => pushed.get(x.module)));
      expect(runs.size, `h${i} runs every module`).toBe(MODULES.length);
      expect(got.get(`h${i}`), `what h${i} downloaded`).toEqual(runs);
    }
    const measured = overlap(lines);
    console.log(
      `K = ${K}: ${lines.length / 2} downloads, at most ${measured.downloads} in flight at once (${measured.hosts} hosts)`,
    );
    expect(lines.filter((l) => l.event === 'artifact_download_started').length).toBe(
      HOSTS * MODULES.length,
    );
    expect(measured.downloads).toBeLessThanOrEqual(K);
    expect(measured.hosts).toBeLessThanOrEqual(K);
  }, 300_000);

  it.runIf(K < HOSTS)(
    'a host waiting its turn says so in release status, with its place in line',
    async () => {
      files.held = await packDir(build(join(fleet.dataDir, 'builds', 'web-4'), '4.0.0', 64 * 1024));
      const sha = sha256Of(files.held);
      const applied = await fleet.call('POST', '/v1/apply', {
        documents: [
          {
            kind: 'Version',
            module: 'web',
            version: '4.0.0',
            artifact: { url: files.url('/held.tgz'), sha256: sha, size: files.held.length },
            run: { process: { command: 'node', args: ['start.mjs'] } },
          },
        ],
      });
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      const id = await fleet.createTicket({ web: '4.0.0' }, PLAN);
      await fleet.post(`/v1/tickets/${id}/promote`);
      // One host holds the only permit (its download held open here); the others wait in line.
      const history = new Set<string>();
      // Let go whatever happens: a download held for ever would block the tests after this one.
      onTestFinished(() => files.release());
      const seen = await waitFor('two hosts queued for web@4.0.0 in release status', () => {
        const s = status(fleet, id);
        const queued = (s.assignments as any[]).filter(
          (a) => a.status.download?.state === 'queued' && a.status.download.position !== null,
        );
        // …and the permit's holder is downloading (its request here, held).
        const holding = files.seen.get('/held.tgz')?.active ?? 0;
        if (queued.length === HOSTS - K && holding === K) return queued;
        history.add(`${s.state} (${s.progress?.message}): ${brief(s)}`);
        throw new Error([...history].join('\n'));
      });
      expect(seen.map((a) => a.status.download.position).sort()).toEqual(
        Array.from({ length: HOSTS - K }, (_, n) => n + 1),
      );
      for (const a of seen) {
        expect(a.status.step).toBe('download');
        expect(a.status.download.total).toBe(files.held.length);
      }
      const text = fleet.cli(['release', 'status', String(id)]);
      expect(text.stdout).toContain('queued (#1 in line)');
      files.release();
      await fleet.untilTicket(id, (t) => t.state === 'promoted', 240_000);
      expect(files.seen.get('/held.tgz')).toMatchObject({ total: HOSTS, max: K });
    },
    300_000,
  );

  /**
   * web@`version` (a url artifact) fails on every host at `step`, each host's error containing
   * `says(host)`, in `release status --json` and in its text; the ticket fails; then nothing of the
   * artifact is in any host's cache, and no temporary file.
   */
  async function failsEverywhere(
    version: string,
    artifact: { url: string; sha256: string; size: number | null },
    step: string,
    says: (host: string) => string,
  ): Promise<void> {
    const applied = await fleet.call('POST', '/v1/apply', {
      documents: [
        {
          kind: 'Version',
          module: 'web',
          version,
          artifact,
          run: { process: { command: 'node', args: ['start.mjs'] } },
        },
      ],
    });
    expect(applied.status, JSON.stringify(applied.body)).toBe(200);
    const id = await fleet.createTicket({ web: version }, PLAN);
    await fleet.post(`/v1/tickets/${id}/deploy`);
    const hosts = Array.from({ length: HOSTS }, (_, n) => `h${n + 1}`);
    // A failed start is tried again after a backoff: both views are read in one moment of failure.
    const failed = await waitFor(`web@${version} failed on every host`, () => {
      const s = status(fleet, id);
      const all = (s.assignments as any[]).filter((a) => a.status.phase === 'failed');
      if (new Set(all.map((a) => a.host)).size !== HOSTS)
        throw new Error(`${s.state}: ${brief(s)}`);
      const text = fleet.cli(['release', 'status', String(id)]).stdout;
      const lines = hosts.map((h) =>
        text.split('\n').find((l) => l.includes(`${h} `) && l.includes(`failed at ${step}: `)),
      );
      if (lines.some((l) => l === undefined)) throw new Error(`text: ${text}`);
      return { all, lines: lines as string[] };
    });
    for (const a of failed.all) {
      expect(a.status.step).toBe(step);
      expect(a.status.error).toContain(says(a.host));
    }
    hosts.forEach((h, n) => {
      expect(failed.lines[n]).toContain(`web@${version}`);
      expect(failed.lines[n]).toContain(says(h));
    });
    await fleet.untilTicket(id, (t) => t.state === 'failed', 120_000);
    for (let i = 1; i <= HOSTS; i++) {
      const cache = join(fleet.dataDir, `agent-h${i}`, 'artifact-cache');
      const left = await waitFor(`h${i}'s cache without web@${version}`, () => {
        const names = readdirSync(cache);
        return names.some((n) => n.startsWith('.') || n.startsWith(artifact.sha256)) ? null : names;
      });
      // What is there: complete artifacts (those it runs) and their notes.
      for (const n of left) expect(n).toMatch(/^[0-9a-f]{64}(\.json)?$/);
    }
  }

  it('a url artifact whose bytes hash otherwise fails on each host, naming it, leaving nothing', async () => {
    const bad = await packDir(build(join(fleet.dataDir, 'builds', 'web-5'), '5.0.0', 1024));
    files.plain.set('/bad.tgz', bad);
    const actual = sha256Of(bad);
    const expected = sha256Of(Buffer.from('not these bytes'));
    const url = files.url('/bad.tgz');
    await failsEverywhere(
      '5.0.0',
      { url, sha256: expected, size: null },
      'download',
      (host) =>
        `artifact ${expected} on host ${host} from ${url}: sha256 mismatch, expected ${expected}, got ${actual}`,
    );
  }, 300_000);

  it("the agents' --max-unpacked-files refuses a build with more entries, at the unpack step", async () => {
    const dir = build(join(fleet.dataDir, 'builds', 'web-6'), '6.0.0', 1024);
    for (let n = 0; n < MAX_FILES; n++) writeFileSync(join(dir, `extra-${n}.txt`), `${n}\n`);
    const many = await packDir(dir);
    files.plain.set('/many.tgz', many);
    const sha = sha256Of(many);
    await failsEverywhere(
      '6.0.0',
      { url: files.url('/many.tgz'), sha256: sha, size: many.length },
      'unpack',
      (host) =>
        `artifact ${sha} on host ${host}: refused to unpack: more than ${MAX_FILES} entries (the file cap)`,
    );
  }, 300_000);
});
