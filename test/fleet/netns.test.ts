// The fleet test harness itself (test/support/netns.ts): three hosts as network namespaces on one
// bridge, reached from the root namespace and from each other; a partition cuts a host off the
// others but not off itself; heal restores it; destroy and the crash sweep leave nothing behind.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetNet } from '../support/netns.js';
import {
  createFleetNet,
  gateFor,
  netnsGate,
  pickSubnet,
  pidsIn,
  sweepFleetNet,
} from '../support/netns.js';
import { waitFor, waitForEvent } from '../support/wait.js';

const gate = netnsGate('the fleet network harness test');
const PORT = 8000;

/** Answers its namespace's name: who answered is what the test checks. */
const SERVER = `
const name = process.argv[1];
require('node:http')
  .createServer((req, res) => res.end(name))
  .listen(${PORT}, '0.0.0.0', () => console.log('listening'));
`;

/**
 * One GET, printing the body or `ERR <code>`. No timeout of its own: a cut-off host fails with
 * the kernel's EHOSTUNREACH once address resolution gives up, which is the event waited for.
 */
const CLIENT = `
require('node:http')
  .get(process.argv[1], (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => console.log(body));
  })
  .on('error', (e) => console.log('ERR ' + e.code));
`;

/** A new connection each time: a kept-alive one would outlive a partition and hang. */
function getFromRoot(url: string): Promise<string> {
  return new Promise((resolve) => {
    request(url, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve(body));
    })
      .on('error', (e: NodeJS.ErrnoException) => resolve(`ERR ${e.code}`))
      .end();
  });
}

function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  return waitForEvent<[string]>(lines, 'line', 'the first line of a child').then(([line]) => {
    lines.close();
    return line;
  });
}

/** Alive and not a zombie (an orphan killed in a container may wait long for a reaper). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const state = /\)\s(\S)/.exec(readFileSync(stat, 'utf8'))?.[1];
  return state !== 'Z' && state !== 'X';
}

async function ipList(prefix: string): Promise<{ namespaces: string[]; links: string[] }> {
  const out = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const c = spawn('ip', args);
      let text = '';
      c.stdout.on('data', (d: Buffer) => {
        text += d.toString();
      });
      c.on('error', reject);
      c.on('close', () => resolve(text));
    });
  const namespaces = (await out(['netns', 'list']))
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  const links = (await out(['-o', 'link', 'show']))
    .split('\n')
    .map((l) => /^\d+:\s([^:@\s]+)/.exec(l)?.[1] ?? '')
    .filter((n) => n.startsWith(`${prefix}-`));
  return { namespaces, links };
}

describe.skipIf(gate.skip)('fleet network harness (namespaces on a bridge)', () => {
  let net: FleetNet;
  let server: ChildProcess;

  beforeAll(async () => {
    net = createFleetNet({ prefix: 'tnself', hosts: 3 });
    server = net.spawn(1, process.execPath, ['-e', SERVER, net.host(1).ns], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    expect(await firstLine(server)).toBe('listening');
  });

  afterAll(() => {
    net?.destroy();
  });

  const fromHost = async (host: number, url: string) =>
    (await net.exec(host, process.execPath, ['-e', CLIENT, url])).stdout.trim();

  it('gives every host its own address, lo up and a default route via the bridge', async () => {
    expect(net.hosts.map((h) => h.ns)).toEqual(['tnself-h1', 'tnself-h2', 'tnself-h3']);
    const x = net.bridgeAddress.split('.')[1];
    expect(net.bridgeAddress).toBe(`10.${x}.0.1`);
    expect(net.hosts.map((h) => h.address)).toEqual([
      `10.${x}.0.11`,
      `10.${x}.0.12`,
      `10.${x}.0.13`,
    ]);
    const addr = await net.exec(2, 'ip', ['-4', '-o', 'addr', 'show']);
    expect(addr.stdout).toContain(`inet ${net.host(2).address}/24`);
    expect(addr.stdout).toContain('inet 127.0.0.1/8');
    const route = await net.exec(2, 'ip', ['route', 'show', 'default']);
    expect(route.stdout).toContain(`default via ${net.bridgeAddress}`);
  });

  it('a server inside h1 is reached from the root namespace and from h2', async () => {
    const url = `http://${net.host(1).address}:${PORT}/`;
    expect(await getFromRoot(url)).toBe('tnself-h1');
    expect(await fromHost(2, url)).toBe('tnself-h1');
  });

  it('hosts reach the root namespace at the bridge address', async () => {
    const { createServer } = await import('node:http');
    const root = createServer((_req, res) => res.end('root'));
    await new Promise<void>((r) => root.listen(0, net.bridgeAddress, r));
    const port = (root.address() as { port: number }).port;
    try {
      expect(await fromHost(3, `http://${net.bridgeAddress}:${port}/`)).toBe('root');
    } finally {
      root.close();
    }
  });

  it('partition(h1) cuts it off h2 and the root namespace, not off its own loopback; heal restores', async () => {
    const url = `http://${net.host(1).address}:${PORT}/`;
    net.partition(1);
    expect(await fromHost(2, url)).toBe('ERR EHOSTUNREACH');
    expect(await getFromRoot(url)).toBe('ERR EHOSTUNREACH');
    expect(await fromHost(1, `http://127.0.0.1:${PORT}/`)).toBe('tnself-h1');
    expect(await fromHost(1, url)).toBe('tnself-h1'); // its own address is local to it
    net.heal(1);
    // The link comes up (carrier, the bridge port forwarding) on its own schedule: wait for it.
    await waitFor('h2 to reach h1 again', async () => (await fromHost(2, url)) === 'tnself-h1');
    expect(await getFromRoot(url)).toBe('tnself-h1');
  });

  it('destroy kills what runs inside and leaves no namespace, veth or bridge', async () => {
    const exited = waitForEvent(server, 'exit', 'the server inside h1 to be killed');
    const before = await ipList('tnself');
    expect(before.namespaces.sort()).toEqual(['tnself-h1', 'tnself-h2', 'tnself-h3']);
    expect(before.links.sort()).toEqual(['tnself-br', 'tnself-v1', 'tnself-v2', 'tnself-v3']);
    net.destroy();
    const [code, signal] = await exited;
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await ipList('tnself')).toEqual({ namespaces: [], links: [] });
  });

  it('the sweep removes what a run killed with -9 left, processes inside included', async () => {
    // node itself with tsx's loader, not the tsx bin, which would run it in a grandchild that
    // a kill -9 of the bin leaves running.
    const file = join(import.meta.dirname, 'netns-crash-child.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', file, 'tncrash'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const { pid } = JSON.parse(await firstLine(child)) as { pid: number };
    const gone = waitForEvent(child, 'exit', 'the crash child to die');
    child.kill('SIGKILL');
    await gone;
    const left = await ipList('tncrash');
    expect(left.namespaces.sort()).toEqual(['tncrash-h1', 'tncrash-h2']);
    expect(left.links.sort()).toEqual(['tncrash-br', 'tncrash-v1', 'tncrash-v2']);
    expect(pidsIn('tncrash-h1')).toContain(pid);
    expect(alive(pid)).toBe(true);

    // What the next run does first: createFleetNet sweeps its prefix.
    const again = createFleetNet({ prefix: 'tncrash', hosts: 1 });
    await waitFor('the orphan inside to be killed', () => !alive(pid));
    expect((await ipList('tncrash')).namespaces).toEqual(['tncrash-h1']);
    again.destroy();
    sweepFleetNet('tncrash'); // idempotent
    expect(await ipList('tncrash')).toEqual({ namespaces: [], links: [] });
  });
});

describe('harness rules', () => {
  it('picks the subnet from the prefix, skipping one already on the machine', () => {
    const x = pickSubnet('tnself', []);
    expect(x).toBeGreaterThanOrEqual(30);
    expect(x).toBeLessThanOrEqual(229);
    expect(pickSubnet('tnself', [])).toBe(x); // stable: the same prefix, the same subnet
    const next = pickSubnet('tnself', [`10.${x}.0.1`, '192.0.2.2']);
    expect(next).not.toBe(x);
    expect(next).toBe(x === 229 ? 30 : x + 1);
  });

  it('skips with the reason where namespaces are unavailable, but not under CI (the test fails there)', () => {
    const none = {
      ok: false,
      reason: 'cannot create a network namespace: Operation not permitted',
    };
    expect(gateFor(none, false)).toEqual({ skip: true, reason: none.reason });
    expect(gateFor(none, true)).toEqual({ skip: false, reason: none.reason });
    expect(gateFor({ ok: true, reason: '' }, false)).toEqual({ skip: false, reason: '' });
  });

  it('createFleetNet refuses a prefix that would not fit an interface name, creating nothing', () => {
    expect(() => createFleetNet({ prefix: 'much-too-long-prefix', hosts: 1 })).toThrow(
      /prefix "much-too-long-prefix": 1–10 of a-z 0-9/,
    );
    expect(() => createFleetNet({ prefix: 'ok', hosts: 0 })).toThrow(
      /hosts 0: a whole number from 1 to 99/,
    );
  });
});
