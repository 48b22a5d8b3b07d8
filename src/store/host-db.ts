// The hosts and assignments tables as Kysely sees them (merged into Database in db.ts), and row ↔ record.

import type { Selectable } from 'kysely';
import type { Assignment, AssignmentDesired } from './assignment-model.js';
import type { Host, HostState } from './host-model.js';

export interface HostTables {
  assignments: {
    id: string;
    host: string;
    module: string;
    version: string;
    run: string;
    health: string | null;
    /** Migration 0009: the artifact to download (JSON), null for a command on the host. */
    artifact: string | null;
    desired: AssignmentDesired;
    status: string;
    created_at: string;
    updated_at: string;
  };
  /** Migration 0009: download permits (the fleet's download throttle), granted or waiting. */
  download_permits: {
    id: string;
    host: string;
    sha256: string;
    /** 1 granted, 0 waiting in line. */
    granted: number;
    requested_at: string;
    expires_at: string;
  };
  hosts: {
    name: string;
    address: string;
    labels: string;
    capacity: number | null;
    state: HostState;
    lease_expires_at: string | null;
    /** Migration 0006: the agent token name the host is bound to; null until an agent registers it. */
    registered_by: string | null;
    /** Migration 0008: the state a down host returns to (what it was when set down); else null. */
    held_state: Exclude<HostState, 'down'> | null;
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
  registeredBy: r.registered_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const assignmentOf = (r: Selectable<HostTables['assignments']>): Assignment => ({
  id: r.id,
  host: r.host,
  module: r.module,
  version: r.version,
  run: JSON.parse(r.run) as Assignment['run'],
  health: r.health === null ? null : (JSON.parse(r.health) as Assignment['health']),
  artifact:
    r.artifact === null || r.artifact === undefined
      ? null
      : (JSON.parse(r.artifact) as Assignment['artifact']),
  desired: r.desired,
  // A status written before migration 0009 has no step or download.
  status: {
    step: null,
    download: null,
    ...(JSON.parse(r.status) as Omit<Assignment['status'], 'step' | 'download'>),
  },
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});
