// The hosts table as Kysely sees it (merged into Database in db.ts), and row ↔ record.

import type { Selectable } from 'kysely';
import type { Host, HostState } from './host-model.js';

export interface HostTables {
  hosts: {
    name: string;
    address: string;
    labels: string;
    capacity: number | null;
    state: HostState;
    lease_expires_at: string | null;
    created_at: string;
    updated_at: string;
  };
}

export const hostOf = (r: Selectable<HostTables['hosts']>): Host => ({
  name: r.name,
  address: r.address,
  labels: JSON.parse(r.labels) as Record<string, string>,
  capacity: r.capacity === null ? null : Number(r.capacity),
  state: r.state,
  leaseExpiresAt: r.lease_expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
