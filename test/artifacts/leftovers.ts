// What an upload that did not commit may have left behind, per back-end: the tests' measure of
// "leaves nothing".

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { createPostgresKysely } from '../../src/store/postgres.js';

/** Bytes in files that are not committed artifacts (named by their sha256 in their shard). */
export function dirLeftovers(root: string): number {
  let bytes = 0;
  const walk = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path, depth + 1);
      else if (!(depth === 1 && /^[0-9a-f]{64}$/.test(name))) bytes += statSync(path).size + 1;
    }
  };
  walk(root, 0);
  return bytes;
}

/** Bytes in chunk rows no committed artifact owns (an upload that did not roll back). */
export async function orphanChunkBytes(url: string): Promise<number> {
  const k = await createPostgresKysely(url, { maxConnections: 1 });
  try {
    const { rows } = await sql<{ n: string | null }>`
      select sum(length(data)) as n from artifact_chunks
      where sha256 not in (select sha256 from artifacts)`.execute(k);
    return Number(rows[0]?.n ?? 0);
  } finally {
    await k.destroy();
  }
}
