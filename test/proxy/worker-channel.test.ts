// The primary's sends to a worker that is exiting (src/proxy/worker-channel.ts), with real forked
// children: one that has exited while this process has not yet seen it (its end of the channel is
// closed, `connected` still true) is made deterministically by waiting, without yielding to the
// event loop, until the child is a zombie — as a busy primary sees a worker exiting after a failed
// start. And a child's last message read before we call it closed.

import type { ChildProcess, Serializable } from 'node:child_process';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { closed, sendToWorker } from '../../src/proxy/worker-channel.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill();
});

function child(code: string): ChildProcess {
  const c = spawn(process.execPath, ['-e', code], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(c);
  return c;
}

/**
 * Blocks (no event loop turn) until `pid` has exited and is not yet reaped, with its files closed:
 * the leader shows state Z as soon as it exits, but the process's files (its end of the channel)
 * are released only with its last thread, so also wait until /proc lists no thread but the leader.
 */
function waitUntilZombie(pid: number): void {
  const pause = new Int32Array(new SharedArrayBuffer(4));
  // A bound for a broken machine only; the child exits at once.
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) STATE …: the comm may hold spaces, so read after its closing parenthesis.
    const zombie = stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
    if (zombie && readdirSync(`/proc/${pid}/task`).length === 1) return;
    Atomics.wait(pause, 0, 0, 5);
  }
  throw new Error(`child ${pid} did not exit`);
}

/** A child that has exited, unseen by this process: its channel looks open and writes fail. */
function exitedUnseen(): ChildProcess {
  const c = child('process.exit(0)');
  waitUntilZombie(c.pid ?? 0);
  expect(c.connected).toBe(true);
  return c;
}

/** The 'close' of `c` and the errors it emitted meanwhile. */
async function errorsUntilClosed(c: ChildProcess): Promise<Error[]> {
  const errors: Error[] = [];
  c.on('error', (e) => errors.push(e));
  await closed(c);
  return errors;
}

describe('sendToWorker', () => {
  it('a plain send to such a child emits an error event (the hazard: with no listener, a crash)', async () => {
    const c = exitedUnseen();
    c.send({ turnout: 'drain', deadlineMs: 0 });
    const errors = await errorsUntilClosed(c);
    expect(errors.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EPIPE']);
  });

  it('hands the failure to onError and emits no error event', async () => {
    const c = exitedUnseen();
    const failed: Error[] = [];
    sendToWorker(
      { isConnected: () => c.connected, send: c.send.bind(c) },
      { turnout: 'drain', deadlineMs: 0 },
      (e) => failed.push(e),
    );
    const errors = await errorsUntilClosed(c);
    expect(errors).toEqual([]);
    expect(failed.map((e) => (e as NodeJS.ErrnoException).code)).toEqual(['EPIPE']);
  });

  it('sends nothing once the channel is seen closed', async () => {
    const c = child('process.exit(0)');
    await closed(c);
    const failed: Error[] = [];
    let sent = 0;
    sendToWorker(
      {
        isConnected: () => c.connected,
        send: (message, handle, options, callback) => {
          sent++;
          return c.send(message as Serializable, handle, options, callback);
        },
      },
      { turnout: 'drain', deadlineMs: 0 },
      (e) => failed.push(e),
    );
    expect({ sent, failed }).toEqual({ sent: 0, failed: [] });
  });

  it('delivers to a live child', async () => {
    const c = child("process.once('message', (m) => process.send(m, () => process.exit(0)))");
    const echoed = new Promise((resolve) => c.once('message', resolve));
    const failed: Error[] = [];
    sendToWorker(
      { isConnected: () => c.connected, send: c.send.bind(c) },
      { turnout: 'stats', id: 7 },
      (e) => failed.push(e),
    );
    expect(await echoed).toEqual({ turnout: 'stats', id: 7 });
    await closed(c);
    expect(failed).toEqual([]);
  });
});

describe('closed', () => {
  it("resolves only after the child's last message, which it wrote just before exiting", async () => {
    // Large enough to take several reads: its end arrives well after the child has exited.
    const c = child("process.send('x'.repeat(4_000_000), () => process.exit(1))");
    let got = 0;
    c.on('message', (m: string) => {
      got = m.length;
    });
    await closed(c);
    expect(got).toBe(4_000_000);
  });
});
