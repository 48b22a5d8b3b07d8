// A module's placement constraint (`placement: { labels }`) on a real SQLite store: absent means
// none, it is kept through create, update and read, and a bad one is refused naming the field,
// changing nothing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

const ACTOR = 'test';
const RUN = { process: { command: 'node' } };

describe('module placement constraint', () => {
  let dir = '';
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-placement-'));
    store = await openSqliteStore(join(dir, 'turnout.db'));
    await store.createOrg({ name: 'acme' }, ACTOR);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('defaults to none', async () => {
    await store.createModule({ name: 'orders', org: 'acme', run: RUN }, ACTOR);
    const m = await store.getModule('orders');
    expect(m?.placement).toBeNull();
    expect(m?.run).toEqual({ process: { command: 'node', args: [], cwd: null, env: {} } });
  });

  it('is kept through create, update and list', async () => {
    const placement = { labels: { gpu: 'yes', zone: 'a' } };
    await store.createModule({ name: 'orders', org: 'acme', run: RUN, placement }, ACTOR);
    expect((await store.getModule('orders'))?.placement).toEqual(placement);
    await store.updateModule(
      { name: 'orders', org: 'acme', run: RUN, placement: { labels: { gpu: 'no' } } },
      ACTOR,
    );
    const [listed] = (await store.listModules()).items;
    expect(listed?.placement).toEqual({ labels: { gpu: 'no' } });
    expect(listed?.run).toEqual({ process: { command: 'node', args: [], cwd: null, env: {} } });
    await store.updateModule({ name: 'orders', org: 'acme', run: RUN, placement: null }, ACTOR);
    expect((await store.getModule('orders'))?.placement).toBeNull();
  });

  it.each([
    [{ labels: {} }, 'placement.labels: name at least one label'],
    [{ labels: { 'Bad Key': 'x' } }, 'placement.labels.Bad Key: a label key is'],
    [{ labels: { zone: 'a b' } }, 'placement.labels.zone: a label value is'],
    [{ labels: { zone: 'a' }, spread: 'zone' }, 'placement'],
  ])('refuses %j naming the field, writing nothing', async (placement, message) => {
    const before = await store.changeVersion();
    await expect(
      store.createModule({ name: 'orders', org: 'acme', run: RUN, placement } as never, ACTOR),
    ).rejects.toThrow(message);
    expect(await store.getModule('orders')).toBeNull();
    expect(await store.changeVersion()).toBe(before);
  });
});
