// A real API server over HTTP for the API tests: a fresh store (SQLite in a temp dir by default),
// three tokens (one per role), and a small JSON client on undici.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import type { ApiAuth } from '../../src/api/auth.js';
import type { ApiServerOptions } from '../../src/api/server.js';
import { createApiServer } from '../../src/api/server.js';
import type { StatsWindow } from '../../src/release/stats-window.js';
import type { Runtime } from '../../src/runtime/runtime.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import type { TestPostgres } from '../support/postgres.js';

export const TOKENS = {
  admin: 'admin-secret-token',
  releaser: 'releaser-secret-token',
  viewer: 'viewer-secret-token',
  /** Agent (join) tokens of two hosts' agents (names agent-a, agent-b). */
  agent: 'agent-a-secret-token',
  agentB: 'agent-b-secret-token',
} as const;

export const TEST_AUTH: ApiAuth = {
  tokens: [
    { token: TOKENS.admin, role: 'admin', name: 'ada' },
    { token: TOKENS.releaser, role: 'releaser', name: 'rey' },
    { token: TOKENS.viewer, role: 'viewer', name: 'vic' },
    { token: TOKENS.agent, role: 'agent', name: 'agent-a' },
    { token: TOKENS.agentB, role: 'agent', name: 'agent-b' },
  ],
};

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: test assertions read arbitrary JSON
  body: any;
}

export interface Api {
  url: string;
  store: Store;
  app: FastifyInstance;
  /** A request with `as`'s token (none: no Authorization header). */
  call(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    options?: { as?: keyof typeof TOKENS | null; body?: unknown; raw?: string; token?: string },
  ): Promise<Answer>;
  close(): Promise<void>;
}

export type StoreOpener = () => Promise<{ store: Store; dispose: () => Promise<void> }>;

export const sqliteStore: StoreOpener = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnout-api-'));
  const store = await openSqliteStore(join(dir, 'turnout.db'));
  return {
    store,
    dispose: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** A fresh database on the test cluster per store (see test/support/postgres.ts). */
export function postgresOpener(pgTest: TestPostgres, prefix: string): StoreOpener {
  return async () => {
    const db = await pgTest.createDatabase(prefix);
    const store = await openPostgresStore(db.url, { maxConnections: 5 });
    return {
      store,
      dispose: async () => {
        await store.close();
        await db.drop();
      },
    };
  };
}

export interface StartApiOptions {
  auth?: ApiAuth;
  open?: StoreOpener;
  /** Called after every ticket command (the release engine's kick; it does not run here). */
  kickEngine?: () => void;
  /** The runtime whose instances' logs the API serves. */
  runtime?: Runtime | null;
  /** Live traffic for /v1/traffic and the traffic events of /v1/events. */
  statsWindow?: StatsWindow;
  /** The dashboard's files served at `/` (a fixture directory in tests). */
  webRoot?: string;
  /** /v1/events tuning (short keepalive, a small client bound). */
  events?: ApiServerOptions['events'];
  /** Requests under way per endpoint address (the stats scraper's, in a control plane). */
  inFlight?: ApiServerOptions['inFlight'];
  /** The request body limit and the streams per token (the server's defaults when absent). */
  bodyLimit?: number;
  streamsPerToken?: number;
  /** What GET /v1/edge answers (none: null). */
  edgeUrl?: () => string | null;
  /** Where POST /v1/hosts/:name/stats goes (a stats scraper's push). */
  pushStats?: ApiServerOptions['pushStats'];
  /** Assignment stream tuning (keepalive, change poll). */
  assignments?: ApiServerOptions['assignments'];
  /** The download throttle (K, permit ttl). */
  downloads?: ApiServerOptions['downloads'];
}

export async function startApi(options: StartApiOptions = {}): Promise<Api> {
  const { store, dispose } = await (options.open ?? sqliteStore)();
  const app = await createApiServer({
    store,
    auth: options.auth ?? TEST_AUTH,
    kickEngine: options.kickEngine,
    runtime: options.runtime,
    statsWindow: options.statsWindow,
    webRoot: options.webRoot,
    events: options.events,
    inFlight: options.inFlight,
    bodyLimit: options.bodyLimit,
    streamsPerToken: options.streamsPerToken,
    edgeUrl: options.edgeUrl,
    pushStats: options.pushStats,
    assignments: options.assignments,
    downloads: options.downloads,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    store,
    app,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      const as = opts.as === undefined ? 'admin' : opts.as;
      if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
      else if (as !== null) headers.authorization = `Bearer ${TOKENS[as]}`;
      let body: string | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await request(`${url}${path}`, { method, headers, body });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
    },
    async close() {
      await app.close();
      await dispose();
    },
  };
}

/** A small catalog through the API: org acme, modules account ← web, product shop, versions. */
export async function seedCatalog(api: Api): Promise<void> {
  const ok = async (p: Promise<Answer>) => {
    const a = await p;
    if (a.status >= 300) throw new Error(`seed failed: ${a.status} ${JSON.stringify(a.body)}`);
  };
  const proc = { process: { command: 'node' } };
  await ok(api.call('POST', '/v1/orgs', { body: { name: 'acme' } }));
  await ok(api.call('POST', '/v1/modules', { body: { name: 'account', org: 'acme', run: proc } }));
  await ok(
    api.call('POST', '/v1/modules', {
      body: { name: 'web', org: 'acme', calls: ['account'], run: proc },
    }),
  );
  await ok(
    api.call('POST', '/v1/products', {
      body: { name: 'shop', org: 'acme', entry: 'web', hosts: ['shop.example.com'] },
    }),
  );
  for (const m of ['account', 'web']) {
    await ok(api.call('POST', `/v1/modules/${m}/versions`, { body: { version: '1.0.0' } }));
  }
}
