// Opens the store a StoreLocation names, applying pending migrations (both back-ends migrate on
// open), so `up` on a fresh Postgres database or an old SQLite file starts on the current schema.

import { openPostgresStore } from '../store/postgres.js';
import { openSqliteStore } from '../store/sqlite.js';
import type { Store } from '../store/store.js';
import type { StoreLocation } from './store-url.js';

export function openStoreAt(at: StoreLocation): Promise<Store> {
  return at.kind === 'sqlite' ? openSqliteStore(at.path) : openPostgresStore(at.url);
}
