// The API contract against Postgres: one database per test on the cluster named by
// TURNOUT_TEST_PG_URL, or, when that is unset, on a throwaway cluster this file starts with
// scripts/postgres-start.sh and stops afterwards (as test/store/postgres.test.ts does). Without
// either, the suite fails under CI (a silently skipped back-end is a missing test) and skips locally.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { describeApiContract } from './api-contract.js';
import type { StoreOpener } from './harness.js';

const root = join(import.meta.dirname, '..', '..');

/** The PostgreSQL bin dir the start script would use: $PG_BIN, or the newest Debian one. */
function postgresBinaries(): string | null {
  const usable = (b: string) => existsSync(join(b, 'initdb')) && existsSync(join(b, 'pg_ctl'));
  const pinned = process.env.PG_BIN;
  if (pinned) return usable(pinned) ? pinned : null;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const bins = readdirSync(base)
    .map((v) => join(base, v, 'bin'))
    .filter(usable);
  return bins.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() ?? null;
}

const given = process.env.TURNOUT_TEST_PG_URL;
const binaries = given ? null : postgresBinaries();
const unavailable =
  given || binaries
    ? null
    : 'TURNOUT_TEST_PG_URL is unset and no PostgreSQL binaries are installed (/usr/lib/postgresql/*/bin); install them with `apt-get install -y postgresql` or point TURNOUT_TEST_PG_URL at a database';

let baseUrl = given ?? '';
let admin: pg.Pool | undefined;
const clusterDir = join(tmpdir(), `turnout-api-pg-${process.pid}-${Date.now()}`);
const script = (name: string) => join(root, 'scripts', name);
let counter = 0;

/** A fresh database per test, dropped afterwards (WITH (FORCE) ends stray connections). */
const postgresStore: StoreOpener = async () => {
  if (!admin) throw new Error('no Postgres');
  const pool = admin;
  const name = `turnout_api_${process.pid}_${++counter}`;
  await pool.query(`create database ${name}`);
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  const store = await openPostgresStore(url.toString(), { maxConnections: 5 });
  return {
    store,
    dispose: async () => {
      await store.close();
      await pool.query(`drop database if exists ${name} with (force)`);
    },
  };
};

if (unavailable === null) {
  beforeAll(() => {
    if (!given) {
      const out = execFileSync('bash', [script('postgres-start.sh')], {
        env: { ...process.env, TURNOUT_PG_DIR: clusterDir, PG_BIN: binaries ?? '' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = out.split('\n').find((l) => l.startsWith('TURNOUT_TEST_PG_URL='));
      if (!line) throw new Error(`postgres-start.sh printed no URL: ${out}`);
      baseUrl = line.slice('TURNOUT_TEST_PG_URL='.length).trim();
    }
    admin = new pg.Pool({ connectionString: baseUrl, max: 2 });
  }, 120_000);

  afterAll(async () => {
    await admin?.end();
    if (!given) {
      execFileSync('bash', [script('postgres-stop.sh')], {
        env: { ...process.env, TURNOUT_PG_DIR: clusterDir, PG_BIN: binaries ?? '' },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    }
  }, 60_000);

  describeApiContract('postgres', postgresStore);
} else if (process.env.CI === 'true') {
  describe('API contract (postgres)', () => {
    it('has a Postgres to test against', () => {
      throw new Error(unavailable);
    });
  });
} else {
  console.warn(`skipping the Postgres API tests: ${unavailable}`);
  describe.skip('API contract (postgres)', () => {
    it('needs Postgres', () => {});
  });
}
