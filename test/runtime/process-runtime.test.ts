// The process runtime: the shared runtime contract, then what is particular to local processes —
// pid files, the environment, working directories, ports, and adoption by a later run.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { canBind } from '../../src/runtime/port-allocator.js';
import { readProcStat } from '../../src/runtime/process-identity.js';
import type { ProcessRuntime, ProcessRuntimeOptions } from '../../src/runtime/process-runtime.js';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import type { InstanceExited, RunningInstance } from '../../src/runtime/runtime.js';
import { fixtureSpec, runtimeContract, serviceSpec, TEST_BACKOFF } from './contract.js';
import { alive, FIXTURES, get, killAll, ROOT, tempDir, waitFor } from './support.js';

runtimeContract('process', async () => ({
  runtime: await openProcessRuntime({
    dataDir: tempDir('runtime'),
    backoff: TEST_BACKOFF,
    pollMs: 100,
  }),
}));

describe('process runtime', () => {
  const runtimes: ProcessRuntime[] = [];
  const pids: number[] = [];

  async function open(options: Partial<ProcessRuntimeOptions> & { dataDir?: string } = {}) {
    const runtime = await openProcessRuntime({
      dataDir: tempDir('runtime'),
      backoff: TEST_BACKOFF,
      pollMs: 100,
      ...options,
    });
    runtimes.push(runtime);
    return runtime;
  }

  async function answering(instance: RunningInstance): Promise<RunningInstance> {
    pids.push(instance.pid);
    await waitFor(`${instance.id} to answer`, () =>
      get(instance.address).then(
        () => true,
        () => false,
      ),
    );
    return instance;
  }

  afterEach(async () => {
    for (const r of runtimes.splice(0)) {
      for (const i of r.list()) pids.push(i.pid);
      await r.close();
    }
    killAll(pids); // by pid: every process these tests started, adopted or not
  });

  describe('start', () => {
    it('records pid, port, start time and spec in <dataDir>/instances/<id>.json before resolving', async () => {
      const dataDir = tempDir('runtime');
      const r = await open({ dataDir });
      const spec = serviceSpec('orders-2.0.0');
      const orders = await answering(await r.start(spec));
      const path = join(dataDir, 'instances', 'orders-2.0.0.json');
      const record = JSON.parse(readFileSync(path, 'utf8'));
      expect(record).toMatchObject({
        id: 'orders-2.0.0',
        pid: orders.pid,
        address: orders.address,
        spec,
      });
      expect(record.port).toBe(Number(orders.address.split(':')[1]));
      expect(record.processStart).toBe(readProcStat(orders.pid)?.startTime);
      expect(existsSync(join(dataDir, 'instances', 'orders-2.0.0.log'))).toBe(true);
      await r.stop(orders.id, { deadlineMs: 2000 });
      expect(existsSync(path)).toBe(false);
    });

    it("gives the instance a safe few of the control plane's variables, its spec's, and its identity", async () => {
      const r = await open({
        proxyUrl: 'http://127.0.0.1:4140',
        parentEnv: { PATH: process.env.PATH, NODE_OPTIONS: '--inspect', TURNOUT_TOKEN: 'secret' },
      });
      const spec = fixtureSpec('envy', { GREETING: 'hello', PORT: '1' });
      const envy = await answering(await r.start(spec));
      const env = (await get(envy.address, '/env')).json();
      expect(env).toMatchObject({
        PATH: process.env.PATH,
        GREETING: 'hello',
        PORT: envy.address.split(':')[1], // the runtime's port wins over the spec's
        TURNOUT_INSTANCE_ID: 'envy',
        TURNOUT_MODULE: 'fixture',
        TURNOUT_VERSION: '1.0.0',
        http_proxy: 'http://127.0.0.1:4140',
      });
      expect(env.NODE_OPTIONS).toBeUndefined();
      expect(env.TURNOUT_TOKEN).toBeUndefined();
    });

    it('resolves a relative working directory against baseDir', async () => {
      const r = await open({ baseDir: ROOT });
      const spec = fixtureSpec('relative');
      spec.run = { ...spec.run, args: ['instance.mjs'], cwd: 'test/runtime/fixtures' };
      await answering(await r.start(spec));
      spec.run = { ...spec.run, cwd: 'no/such/dir' };
      await expect(r.start({ ...spec, id: 'lost' })).rejects.toMatchObject({
        code: 'instance_start_failed',
        message: `working directory ${join(ROOT, 'no/such/dir')} does not exist`,
      });
    });

    it('rejects an id that cannot be a file name', async () => {
      const r = await open();
      await expect(r.start(fixtureSpec('../escape'))).rejects.toMatchObject({
        code: 'invalid_argument',
      });
    });
  });

  describe('ports', () => {
    it('skips a port something else has bound', async () => {
      const [first] = await freePorts(2);
      const squatter = net.createServer();
      await new Promise<void>((done) => squatter.listen(first, '127.0.0.1', done));
      try {
        const r = await open({ portRange: { first: first!, last: first! + 1 }, random: () => 0 });
        const instance = await answering(await r.start(fixtureSpec('skips')));
        expect(instance.address).toBe(`127.0.0.1:${first! + 1}`);
      } finally {
        squatter.close();
      }
    });

    it('skips ports recorded by an earlier run on the same data dir', async () => {
      const [first] = await freePorts(2);
      const dataDir = tempDir('runtime');
      const portRange = { first: first!, last: first! + 1 };
      const earlier = await open({ dataDir, portRange, random: () => 0 });
      const a = await answering(await earlier.start(fixtureSpec('a')));
      await earlier.close(); // a keeps running, unsupervised, its port in its pid file
      const later = await open({ dataDir, portRange, random: () => 0 });
      const b = await answering(await later.start(fixtureSpec('b')));
      expect(a.address).toBe(`127.0.0.1:${first}`);
      expect(b.address).toBe(`127.0.0.1:${first! + 1}`);
      await expect(later.start(fixtureSpec('c'))).rejects.toMatchObject({
        code: 'instance_start_failed',
        message: `no free port in ${first}-${first! + 1}`,
      });
    });
  });

  describe('bind address', () => {
    it('binds instances to the host option: env HOST, its address, and port probing there', async () => {
      const host = '127.0.0.2';
      const [first] = await freePorts(2, host);
      // Taken on 127.0.0.2 only: the probe must look there (127.0.0.1 would call it free).
      const squatter = net.createServer();
      await new Promise<void>((done) => squatter.listen(first, host, done));
      try {
        const portRange = { first: first!, last: first! + 1 };
        const r = await open({ host, portRange, random: () => 0 });
        const orders = await answering(await r.start(serviceSpec('orders-2.0.0')));
        expect(orders.address).toBe(`${host}:${first! + 1}`);
        expect((await get(orders.address)).json()).toMatchObject({ service: 'orders' });
        // It listens on HOST, not on 127.0.0.1.
        await expect(get(`127.0.0.1:${first! + 1}`)).rejects.toMatchObject({
          code: 'ECONNREFUSED',
        });
      } finally {
        squatter.close();
      }
    });

    it('passes HOST to the instance (default 127.0.0.1)', async () => {
      const r = await open();
      const envy = await answering(await r.start(fixtureSpec('envy-host', { HOST: '0.0.0.0' })));
      expect((await get(envy.address, '/env')).json()).toMatchObject({ HOST: '127.0.0.1' });
      expect(envy.address).toMatch(/^127\.0\.0\.1:\d+$/);
    });
  });

  describe('adopt', () => {
    it('takes over the instances of a closed runtime: same pids, still answering, stoppable', async () => {
      const dataDir = tempDir('runtime');
      const earlier = await open({ dataDir });
      const orders = await answering(await earlier.start(serviceSpec('orders-2.0.0')));
      const account = await answering(await earlier.start(serviceSpec('account-1.4.0')));
      await earlier.close();
      expect(alive(orders.pid) && alive(account.pid)).toBe(true);

      const later = await open({ dataDir });
      const { adopted, dead } = await later.adopt();
      expect(dead).toEqual([]);
      expect(adopted.map((i) => [i.id, i.pid, i.address]).sort()).toEqual(
        [orders, account].map((i) => [i.id, i.pid, i.address]).sort(),
      );
      expect((await get(orders.address)).json()).toMatchObject({ service: 'orders' });
      expect(later.list()).toHaveLength(2);
      expect(await later.start(serviceSpec('orders-2.0.0'))).toEqual(
        adopted.find((i) => i.id === orders.id),
      );

      await later.stop(orders.id, { deadlineMs: 2000 });
      expect(alive(orders.pid)).toBe(false);
      expect(existsSync(join(dataDir, 'instances', 'orders-2.0.0.json'))).toBe(false);
    });

    it('finds its instances still running after the control plane was killed with SIGKILL', async () => {
      const dataDir = tempDir('runtime');
      const controlPlane = spawn(
        process.execPath,
        ['--import', 'tsx', join(FIXTURES, 'control-plane.ts'), dataDir],
        { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      pids.push(controlPlane.pid!);
      const line = await new Promise<string>((resolve) => {
        let out = '';
        controlPlane.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
      });
      const orders = await answering(JSON.parse(line) as RunningInstance);
      const gone = new Promise((done) => controlPlane.on('exit', done));
      controlPlane.kill('SIGKILL');
      await gone;

      expect((await get(orders.address)).json()).toMatchObject({ service: 'orders' });
      const later = await open({ dataDir });
      const { adopted } = await later.adopt();
      expect(adopted.map((i) => [i.id, i.pid])).toEqual([['orders-2.0.0', orders.pid]]);
      await later.stop(orders.id, { deadlineMs: 2000 });
      expect(alive(orders.pid)).toBe(false);
    });

    it('restarts an adopted instance that dies, on its port', async () => {
      const dataDir = tempDir('runtime');
      const earlier = await open({ dataDir });
      const first = await answering(await earlier.start(fixtureSpec('adoptee')));
      await earlier.close();
      const later = await open({ dataDir });
      const restarted: RunningInstance[] = [];
      const exited: InstanceExited[] = [];
      later.on('restarted', (i) => restarted.push(i));
      later.on('exited', (e) => exited.push(e));
      await later.adopt();
      process.kill(first.pid, 'SIGKILL');
      await waitFor('the restart', () => restarted.length === 1);
      const again = await answering(restarted[0]!);
      expect(exited[0]).toMatchObject({ id: 'adoptee', pid: first.pid, code: null, signal: null });
      expect(again).toMatchObject({ address: first.address, restarts: 1 });
      expect((await get(again.address)).json().pid).toBe(again.pid);
    });

    it('answers an instance of an earlier run that is still up when started again, never a second one', async () => {
      const dataDir = tempDir('runtime');
      const earlier = await open({ dataDir });
      const first = await answering(await earlier.start(fixtureSpec('once')));
      await earlier.close();
      const later = await open({ dataDir }); // no adopt() call
      expect((await later.start(fixtureSpec('once'))).pid).toBe(first.pid);
    });

    it('reports a pid file whose process died as dead and removes it', async () => {
      const dataDir = tempDir('runtime');
      const earlier = await open({ dataDir });
      const gone = await answering(await earlier.start(fixtureSpec('gone')));
      await earlier.close();
      process.kill(gone.pid, 'SIGKILL');
      await waitFor('the process to end', () => {
        const stat = readProcStat(gone.pid);
        return stat === null || stat.state === 'Z';
      });
      const later = await open({ dataDir });
      expect(await later.adopt()).toEqual({ adopted: [], dead: ['gone'] });
      expect(existsSync(join(dataDir, 'instances', 'gone.json'))).toBe(false);
      expect(await later.logs('gone')).toContain('fixture pid'); // the log stays for a post-mortem
    });

    it('does not adopt a live process whose start time differs from the record (a reused pid)', async () => {
      const dataDir = tempDir('runtime');
      const r = await open({ dataDir });
      const imposter = await answering(await r.start(fixtureSpec('imposter')));
      await r.stop(imposter.id, { deadlineMs: 2000 });
      const recordOf = (pid: number, processStart: number) => ({
        ...fixtureSpec('reused'),
        spec: fixtureSpec('reused'),
        address: '127.0.0.1:1',
        port: 1,
        pid,
        processStart,
        startedAt: new Date().toISOString(),
        restarts: 0,
      });
      const own = readProcStat(process.pid)!.startTime;
      const path = join(dataDir, 'instances', 'reused.json');
      writeFileSync(path, JSON.stringify(recordOf(process.pid, own + 1)));
      writeFileSync(join(dataDir, 'instances', 'garbled.json'), '{"id": ');
      const later = await open({ dataDir });
      const { adopted, dead } = await later.adopt();
      expect(adopted).toEqual([]);
      expect(dead.sort()).toEqual(['garbled', 'reused']);
      expect(existsSync(path)).toBe(false);
      await later.stop('reused'); // nothing to stop; above all, not this process
      expect(alive(process.pid)).toBe(true);
    });
  });
});

/** Two consecutive ports that bind now, away from the default instance range. */
async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const first = 40_000 + Math.floor(Math.random() * 10_000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    if ((await Promise.all(ports.map((p) => canBind(p, host)))).every(Boolean)) return ports;
  }
  throw new Error('no free consecutive ports');
}
