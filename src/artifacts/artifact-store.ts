// The artifact store (issue 14, docs/artifacts.md): gzip tarballs a version runs, addressed by the
// sha256 of their bytes and immutable. One interface, two back-ends that pass one contract suite
// (test/artifacts/artifact-store.contract.ts): a directory (the server's data dir, with SQLite) and
// Postgres (so control-plane replicas share it).

import type { Readable } from 'node:stream';

export interface ArtifactMeta {
  sha256: string;
  size: number;
  /** When it was stored (ISO 8601 UTC); the collector's grace counts from here. */
  createdAt: string;
}

/** Inclusive byte offsets, as in an HTTP Range. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ArtifactStore {
  /**
   * Streams `body` into the store, hashing and counting as it goes: refuses more than `maxBytes`
   * (payload_too_large naming the limit) and a hash other than `expected` (bad_request naming
   * sha256, with expected and actual); commits only when whole and verified, atomically. A put
   * that fails or whose body is cut off leaves nothing. Putting one that exists answers it.
   */
  put(expected: string, body: Readable, o: { maxBytes: number }): Promise<ArtifactMeta>;
  head(sha256: string): Promise<ArtifactMeta | null>;
  /** Its bytes [start, end] (whole when no range); null when absent. The range must lie within it. */
  read(sha256: string, range?: ByteRange): Promise<Readable | null>;
  /** True when it was there. */
  delete(sha256: string): Promise<boolean>;
  /** Every artifact, by sha256. */
  list(): Promise<ArtifactMeta[]>;
  close(): Promise<void>;
}
