// /v1/artifacts with the SQLite store and the data-dir artifact store next to it, and the routes'
// place in the OpenAPI document.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStoreWithArtifacts } from '../../src/server/open-store.js';
import { dirLeftovers } from '../artifacts/leftovers.js';
import { describeArtifactsApi } from './artifacts-contract.js';
import { startApi } from './harness.js';

describeArtifactsApi('sqlite + data dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-api-art-'));
  const opened = await openStoreWithArtifacts({ kind: 'sqlite', path: join(dir, 'turnout.db') });
  return {
    store: opened.store,
    artifacts: opened.artifacts,
    leftovers: async () => dirLeftovers(join(dir, 'artifacts')),
    dispose: async () => {
      await opened.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('/v1/artifacts in the OpenAPI document', () => {
  it('documents upload, head, download and list', async () => {
    const api = await startApi();
    try {
      const doc = await api.call('GET', '/openapi.json', { as: null });
      const one = doc.body.paths['/v1/artifacts/{sha256}'];
      // HEAD is served (the contract test calls it) but, like every HEAD, not in the document.
      expect(Object.keys(one).sort()).toEqual(['get', 'put']);
      expect(one.get.description).toContain('HEAD');
      expect(one.put.responses['201']).toBeDefined();
      expect(one.get.responses['206']).toBeDefined();
      expect(doc.body.paths['/v1/artifacts'].get.responses['200']).toBeDefined();
    } finally {
      await api.close();
    }
  });

  it('an API without an artifact store answers not_found', async () => {
    const api = await startApi();
    try {
      const res = await api.call('GET', '/v1/artifacts', { as: 'viewer' });
      expect(res.status).toBe(404);
    } finally {
      await api.close();
    }
  });
});
