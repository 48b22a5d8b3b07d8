// The artifact store contract on the data-dir back-end, plus what only it does: temp files a
// crash left are removed when it opens.

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirArtifactStore } from '../../src/artifacts/dir-store.js';
import type { ArtifactTarget } from './artifact-store.contract.js';
import { describeArtifactStore, pieces, sha256Of } from './artifact-store.contract.js';
import { dirLeftovers } from './leftovers.js';

async function dirTarget(): Promise<ArtifactTarget> {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-artifacts-'));
  const root = join(dir, 'artifacts');
  const store = await DirArtifactStore.open(root);
  return {
    store,
    leftovers: async () => dirLeftovers(root),
    reopen: () => DirArtifactStore.open(root),
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describeArtifactStore('data dir', dirTarget);

describe('data-dir artifact store', () => {
  it('removes the temp files of uploads a crash cut off when it opens, and keeps the artifacts', async () => {
    const t = await dirTarget();
    try {
      const root = (t.store as DirArtifactStore).root;
      const bytes = Buffer.from('kept');
      const sha = sha256Of(bytes);
      await t.store.put(sha, pieces(bytes), {
        maxBytes: 100,
      });
      const other = sha256Of(Buffer.from('other'));
      await mkdir(join(root, other.slice(0, 2)), { recursive: true });
      const temp = join(
        root,
        other.slice(0, 2),
        `.${other}.0b8e4a52-1c1e-4d3a-9a55-4c1f1b0e2d11.tmp`,
      );
      writeFileSync(temp, 'half an upload');
      expect(dirLeftovers(root)).toBeGreaterThan(0);
      const again = await DirArtifactStore.open(root);
      expect(dirLeftovers(root)).toBe(0);
      expect((await again.head(sha))?.size).toBe(4);
    } finally {
      await t.dispose();
    }
  });

  it('keeps artifacts owner-only', async () => {
    const t = await dirTarget();
    try {
      const bytes = Buffer.from('secret build');
      const sha = sha256Of(bytes);
      await t.store.put(sha, pieces(bytes), { maxBytes: 100 });
      const root = (t.store as DirArtifactStore).root;
      expect(statSync(join(root, sha.slice(0, 2), sha)).mode & 0o077).toBe(0);
      expect(statSync(join(root, sha.slice(0, 2))).mode & 0o077).toBe(0);
    } finally {
      await t.dispose();
    }
  });
});
