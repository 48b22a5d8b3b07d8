// The CLI checks `host list --state` against the client's copy of the host states (the store's
// list loads zod, which start-up must not: test/cli/lazy-load.test.ts). The copy is the store's.

import { describe, expect, it } from 'vitest';
import { HOST_STATES as CLIENT_HOST_STATES } from '../../src/client/api-client.js';
import { HOST_STATES } from '../../src/store/host-model.js';

describe("the client's host states", () => {
  it('are the store’s, in its order', () => {
    expect([...CLIENT_HOST_STATES]).toEqual([...HOST_STATES]);
  });
});
