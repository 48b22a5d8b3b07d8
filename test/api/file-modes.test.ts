// The files that hold run specs, env, tokens and logs are owner-only: the SQLite store (with its
// -wal and -shm) and the process runtime's records and logs 0600, their directories 0700, and a
// store file left 0644 by an older version is tightened when opened.

import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openProcessRuntime } from '../../src/runtime/process-runtime.js';
import { openSqliteStore } from '../../src/store/sqlite.js';

const modeOf = (path: string) => statSync(path).mode & 0o777;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempRoot(): string {
  const d = mkdtempSync(join(tmpdir(), 'turnout-modes-'));
  dirs.push(d);
  return d;
}

describe('file modes', () => {
  it('the SQLite store, its -wal and -shm are 0600 and a directory it creates 0700', async () => {
    const data = join(tempRoot(), 'data', 'nested');
    const path = join(data, 'turnout.db');
    const store = await openSqliteStore(path);
    try {
      await store.createOrg({ name: 'acme' }, 'ada'); // the WAL has something in it
      expect(modeOf(data).toString(8)).toBe('700');
      expect(modeOf(join(data, '..')).toString(8)).toBe('700');
      for (const f of [path, `${path}-wal`, `${path}-shm`]) {
        expect(modeOf(f).toString(8), f).toBe('600');
      }
    } finally {
      await store.close();
    }
  });

  it('a store file left readable by others is tightened when opened', async () => {
    const path = join(tempRoot(), 'turnout.db');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const store = await openSqliteStore(path);
    try {
      expect(modeOf(path).toString(8)).toBe('600');
      expect(modeOf(`${path}-wal`).toString(8)).toBe('600');
    } finally {
      await store.close();
    }
  });

  it("the process runtime's instances directory is 0700, each record and log 0600", async () => {
    const dataDir = join(tempRoot(), 'data');
    const runtime = await openProcessRuntime({ dataDir });
    try {
      const running = await runtime.start({
        id: 'sleeper-1',
        module: 'sleeper',
        version: '1.0.0',
        run: {
          command: process.execPath,
          args: ['-e', 'setInterval(() => {}, 1000)'],
          cwd: null,
          env: { SECRET: 'hunter2' },
        },
      });
      expect(running.pid).toBeGreaterThan(0);
      expect(modeOf(dataDir).toString(8)).toBe('700');
      expect(modeOf(join(dataDir, 'instances')).toString(8)).toBe('700');
      expect(modeOf(join(dataDir, 'instances', 'sleeper-1.json')).toString(8)).toBe('600');
      expect(modeOf(join(dataDir, 'instances', 'sleeper-1.log')).toString(8)).toBe('600');
      await runtime.stop('sleeper-1', { deadlineMs: 5000 });
    } finally {
      await runtime.close();
    }
  });
});
