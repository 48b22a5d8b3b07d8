// Notifications survive a kill -9 of the control plane: an event recorded, the control plane
// killed (SIGKILL) while its delivery hangs at the receiver, another event recorded while none
// runs; a new control plane on the same SQLite file delivers each exactly once (one 2xx per
// delivery id), with the same id and body as the attempt that died.

import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { seed } from '../store/fixtures.js';
import { ROOT } from '../support/build.js';
import type { Receiver } from '../support/webhook-receiver.js';
import { startReceiver } from '../support/webhook-receiver.js';

const FIXTURE = join(ROOT, 'test', 'control', 'fixtures', 'notify-control-plane.ts');
const SECRET = 'whsec-durable-0123456789';

interface Line {
  url?: string;
  outcome?: { state: string; delivery: string; status: number | null };
}

/** A control plane process; its stdout lines, to wait on. */
class ControlPlaneProcess {
  readonly lines: Line[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<NodeJS.Signals | null>;
  private stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      this.lines.push(JSON.parse(text) as Line);
      for (const wake of this.waiters.splice(0)) wake();
    });
    child.stderr?.on('data', (b: Buffer) => {
      this.stderr += b.toString();
    });
    this.exited = new Promise((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
    void this.exited.then(() => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static start(db: string): ControlPlaneProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, db, '1000'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ControlPlaneProcess(child);
  }

  /** The first line matching, once it is printed (fails if the process exits first). */
  async line(match: (l: Line) => boolean): Promise<Line> {
    for (;;) {
      const found = this.lines.find(match);
      if (found !== undefined) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`control plane exited: ${this.stderr}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('notification durability across kill -9 of the control plane', () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-notify-durable-'));
  const db = join(dir, 'turnout.db');
  const running: ControlPlaneProcess[] = [];
  let store: Store | undefined;
  let receiver: Receiver | undefined;

  afterAll(async () => {
    for (const cp of running) if (cp.child.exitCode === null) cp.child.kill('SIGKILL');
    await Promise.all(running.map((cp) => cp.exited));
    await receiver?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a delivery in flight at the kill, and one recorded while down: each delivered once', async () => {
    // The first request hangs (the control plane dies waiting); every later one is answered.
    receiver = await startReceiver({
      secret: SECRET,
      answer: (n, r) => (n === 0 ? 'hang' : r.verified ? 204 : 401),
    });
    store = await openSqliteStore(db);
    await store.transaction((tx) => seed(tx));
    await store.createNotifier(
      { name: 'ops', product: 'shop', url: receiver.url, secret: SECRET },
      'ada',
    );

    const first = ControlPlaneProcess.start(db);
    running.push(first);
    await first.line((l) => l.url !== undefined);
    await store.appendTicketEvent(1, { type: 'aborted', data: { message: 'one' } }, 'engine');
    const hung = await receiver.request(0);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(first.lines.filter((l) => l.outcome !== undefined)).toEqual([]); // it never heard back

    await store.appendTicketEvent(1, { type: 'deploy.failed', data: { message: 'two' } }, 'engine');
    const before = (await store.listDeliveries()).items;
    expect(before.map((d) => [d.state, d.attempts])).toEqual([
      ['pending', 1], // claimed by the dead process: due again when its claim lapses
      ['pending', 0],
    ]);

    const second = ControlPlaneProcess.start(db);
    running.push(second);
    const ids = before.map((d) => d.notification.id);
    for (const id of ids) {
      const line = await second.line((l) => l.outcome?.delivery === id);
      expect(line.outcome).toMatchObject({ state: 'delivered', status: 204 });
    }

    const after = (await store.listDeliveries()).items;
    expect(after.map((d) => [d.notification.id, d.state, d.attempts])).toEqual([
      [ids[0], 'delivered', 2],
      [ids[1], 'delivered', 1],
    ]);
    // Exactly once: one request per delivery id was answered 2xx (the hung one never was).
    const answered = receiver.received.slice(1);
    expect(answered.map((r) => r.headers['x-turnout-delivery']).sort()).toEqual([...ids].sort());
    expect(answered.every((r) => r.verified)).toBe(true);
    const retry = answered.find((r) => r.headers['x-turnout-delivery'] === ids[0]);
    expect(retry?.body).toBe(hung.body); // the same notification, the same bytes

    second.child.kill('SIGTERM');
    await second.exited;
    expect(receiver.received).toHaveLength(3);
  }, 120_000);
});
