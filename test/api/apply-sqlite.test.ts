// POST /v1/apply against a SQLite store, and its place in the OpenAPI document.

import { describe, expect, it } from 'vitest';
import { describeApplyContract } from './apply-contract.js';
import { describeApplyRules } from './apply-rules-contract.js';
import { sqliteStore, startApi } from './harness.js';

describeApplyContract('sqlite', sqliteStore);
describeApplyRules('sqlite', sqliteStore);

describe('POST /v1/apply in the OpenAPI document', () => {
  it('documents the body: one schema per kind, from the store input schemas', async () => {
    const api = await startApi();
    try {
      const doc = await api.call('GET', '/openapi.json', { as: null });
      const op = doc.body.paths['/v1/apply'].post;
      expect(op.responses['200']).toBeDefined();
      const body = op.requestBody.content['application/json'].schema;
      expect(body.required).toEqual(['documents']);
      const kinds = body.properties.documents.items.oneOf.map(
        (s: { properties: { kind: { enum: string[] } } }) => s.properties.kind.enum,
      );
      expect(kinds).toEqual([
        ['Org'],
        ['Module'],
        ['Version'],
        ['Product'],
        ['Lane'],
        ['Notifier'],
      ]);
      const notifier = body.properties.documents.items.oneOf[5];
      expect(notifier.required).toEqual(expect.arrayContaining(['name', 'product', 'url', 'kind']));
      const module = body.properties.documents.items.oneOf[1];
      expect(module.required).toEqual(expect.arrayContaining(['name', 'org', 'run', 'kind']));
    } finally {
      await api.close();
    }
  });
});
