// The proxy takes Pool and Agent from undici's own files (src/proxy/undici-parts.ts), internal
// paths an undici upgrade may move or split: this fails loudly then, instead of the proxy running
// a different class than the one its types (and undici's index) describe.

import { createRequire } from 'node:module';
import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import { Agent, headerNameToString, Pool } from '../../src/proxy/undici-parts.js';

describe("undici's parts the proxy loads", () => {
  it("are the very classes undici's index exports", () => {
    expect(Pool).toBe(undici.Pool);
    expect(Agent).toBe(undici.Agent);
    expect(headerNameToString).toBe(undici.util.headerNameToString);
  });

  it("are the files undici's index requires (as Node resolves them, outside any bundler)", () => {
    const require = createRequire(import.meta.url);
    const index = require('undici') as typeof undici;
    expect(require('undici/lib/dispatcher/pool.js')).toBe(index.Pool);
    expect(require('undici/lib/dispatcher/agent.js')).toBe(index.Agent);
  });

  it('dispatch, close and destroy: the raw API the proxy uses is on the classes themselves', () => {
    // Not added by the index (which puts request, stream… on Dispatcher.prototype).
    for (const method of ['dispatch', 'close', 'destroy'])
      for (const cls of [Pool, Agent])
        expect(typeof cls.prototype[method as 'close']).toBe('function');
  });
});
