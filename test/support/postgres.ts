// A Postgres for tests: the cluster named by TURNOUT_TEST_PG_URL, or, when that is unset, a
// throwaway cluster started with scripts/postgres-start.sh (Debian's postgresql package) and
// stopped after the file. Without either, the suite fails under CI (a silently skipped back-end is
// a missing test) and is skipped locally with the reason. Each test gets its own database.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const script = (name: string) => join(root, 'scripts', name);

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

export interface TestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

export interface TestPostgres {
  /** Creates a fresh database; `drop()` removes it (WITH (FORCE) ends stray connections). */
  createDatabase(prefix: string): Promise<TestDatabase>;
}

/**
 * Declares `suite` (a describe body) against Postgres, with the cluster's life bound to this file.
 * `title` names the suite in the fail/skip placeholders.
 */
export function withTestPostgres(title: string, suite: (pgTest: TestPostgres) => void): void {
  const given = process.env.TURNOUT_TEST_PG_URL;
  const binaries = given ? null : postgresBinaries();
  if (!given && !binaries) {
    const why =
      'TURNOUT_TEST_PG_URL is unset and no PostgreSQL binaries are installed (/usr/lib/postgresql/*/bin); install them with `apt-get install -y postgresql` or point TURNOUT_TEST_PG_URL at a database';
    if (process.env.CI === 'true') {
      describe(title, () => {
        it('has a Postgres to test against', () => {
          throw new Error(why);
        });
      });
    } else {
      console.warn(`skipping ${title}: ${why}`);
      describe.skip(title, () => {
        it('needs Postgres', () => {});
      });
    }
    return;
  }

  let baseUrl = given ?? '';
  let admin: pg.Pool | undefined;
  let counter = 0;
  const env = {
    ...process.env,
    TURNOUT_PG_DIR: join(tmpdir(), `turnout-pg-${process.pid}-${Date.now()}`),
    PG_BIN: binaries ?? '',
  };

  beforeAll(() => {
    if (!given) {
      const out = execFileSync('bash', [script('postgres-start.sh')], {
        env,
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
    if (!given)
      execFileSync('bash', [script('postgres-stop.sh')], {
        env,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
  }, 60_000);

  suite({
    async createDatabase(prefix) {
      if (!admin) throw new Error('no Postgres');
      const pool = admin;
      const name = `${prefix}_${process.pid}_${++counter}`;
      await pool.query(`create database ${name}`);
      const url = new URL(baseUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        drop: async () => void (await pool.query(`drop database if exists ${name} with (force)`)),
      };
    },
  });
}
