// The artifact collector (src/artifacts/collector.ts) on a real SQLite store and data-dir artifact
// store, with an injected clock: an artifact no version names goes once older than the grace, one
// a version names stays, a fresh one stays; each deletion is audited; only the leader collects;
// the control plane runs it on a timer.

import { mkdtempSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArtifactCollector, collectable } from '../../src/artifacts/collector.js';
import { startControlPlane } from '../../src/server/control-plane.js';
import type { StoreWithArtifacts } from '../../src/server/open-store.js';
import { openStoreWithArtifacts } from '../../src/server/open-store.js';
import { expectError } from '../store/fixtures.js';
import { waitFor } from '../support/wait.js';
import { pieces, sha256Of } from './artifact-store.contract.js';

const HOUR = 60 * 60 * 1000;
const ACTOR = 'test';

describe('collectable', () => {
  it('is what no version names and is at least the grace old', () => {
    const at = (iso: string, sha: string) => ({ sha256: sha, size: 1, createdAt: iso });
    const all = [
      at('2026-01-01T00:00:00.000Z', 'a'),
      at('2026-01-01T00:30:00.000Z', 'b'),
      at('2026-01-01T00:00:00.000Z', 'c'),
    ];
    const now = Date.parse('2026-01-01T01:00:00.000Z');
    expect(collectable(all, new Set(['c']), now, HOUR).map((a) => a.sha256)).toEqual(['a']);
    expect(collectable(all, new Set(), now, 30 * 60 * 1000).map((a) => a.sha256)).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
});

describe('artifact collector', () => {
  let dir: string;
  let opened: StoreWithArtifacts;
  const blob = (text: string) => Buffer.from(text);
  const push = async (text: string) => {
    const b = blob(text);
    return opened.artifacts.put(sha256Of(b), pieces(b), { maxBytes: 1000 });
  };
  /** Backdates an artifact's file, as if pushed `ms` ago. */
  const age = (sha: string, ms: number) => {
    const t = new Date(Date.now() - ms);
    utimesSync(join(dir, 'artifacts', sha.slice(0, 2), sha), t, t);
  };

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'turnout-gc-'));
    opened = await openStoreWithArtifacts({ kind: 'sqlite', path: join(dir, 'turnout.db') });
    await opened.store.createOrg({ name: 'acme' }, ACTOR);
    await opened.store.createModule(
      { name: 'web', org: 'acme', run: { process: { command: 'node' } } },
      ACTOR,
    );
  });
  afterEach(async () => {
    await opened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deletes unnamed artifacts older than the grace, audited; keeps named and fresh ones', async () => {
    const named = await push('named');
    const orphan = await push('orphan');
    const fresh = await push('fresh');
    await opened.store.createVersion(
      { module: 'web', version: '1', artifact: { sha256: named.sha256, size: named.size } },
      ACTOR,
    );
    age(named.sha256, 3 * HOUR);
    age(orphan.sha256, 2 * HOUR);
    let now = Date.now() - 2 * HOUR + HOUR - 1000; // the orphan is just under an hour old
    const gc = new ArtifactCollector({
      store: opened.store,
      artifacts: opened.artifacts,
      now: () => now,
    });
    expect(await gc.collect()).toEqual([]);
    now = Date.now();
    expect(await gc.collect()).toEqual([orphan.sha256]);
    expect((await opened.artifacts.list()).map((a) => a.sha256).sort()).toEqual(
      [named.sha256, fresh.sha256].sort(),
    );
    const audit = (await opened.store.listAudit({ limit: 100 })).items.filter(
      (a) => a.action === 'artifact.delete',
    );
    expect(audit).toEqual([
      expect.objectContaining({
        actor: 'artifact-gc',
        target: `artifact/${orphan.sha256}`,
        after: null,
        before: expect.objectContaining({ sha256: orphan.sha256, size: orphan.size }),
      }),
    ]);
    // what is gone cannot be named by a version any more
    await expectError(
      opened.store.createVersion(
        { module: 'web', version: '2', artifact: { sha256: orphan.sha256, size: orphan.size } },
        ACTOR,
      ),
      'bad_request',
      'artifact.sha256',
      /push it first/,
    );
    // a fresh one goes too once its grace has passed, unless a version names it by then
    now = Date.now() + 2 * HOUR;
    await opened.store.createVersion(
      { module: 'web', version: '3', artifact: { sha256: fresh.sha256, size: fresh.size } },
      ACTOR,
    );
    expect(await gc.collect()).toEqual([]);
    await opened.store.deleteVersion('web', '3', ACTOR);
    expect(await gc.collect()).toEqual([fresh.sha256]);
  });

  it('collects on the leader only', async () => {
    const orphan = await push('orphan');
    let leading = false;
    const gc = new ArtifactCollector({
      store: opened.store,
      artifacts: opened.artifacts,
      now: () => Date.now() + 2 * HOUR,
      leading: () => leading,
    });
    expect(await gc.collect()).toEqual([]);
    expect(await opened.artifacts.head(orphan.sha256)).not.toBeNull();
    leading = true;
    expect(await gc.collect()).toEqual([orphan.sha256]);
  });

  it('the control plane runs it on a timer', async () => {
    const orphan = await push('orphan');
    const cp = await startControlPlane({
      store: opened.store,
      auth: { insecureLocal: true },
      listen: { host: '127.0.0.1', port: 0 },
      artifacts: { store: opened.artifacts, intervalMs: 50, now: () => Date.now() + 2 * HOUR },
    });
    try {
      await waitFor(
        'the collector to delete the orphan',
        async () => (await opened.artifacts.head(orphan.sha256)) === null,
      );
      const audit = await opened.store.listAudit({ limit: 100 });
      expect(
        audit.items.some((a) => a.action === 'artifact.delete' && a.actor === 'artifact-gc'),
      ).toBe(true);
    } finally {
      await cp.stop();
    }
  });
});
