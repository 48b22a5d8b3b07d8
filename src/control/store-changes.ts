// Reads what changed in the store since a change-counter value, from the store's change feed
// (StoreReads.listChanges): for each counter value, the audit targets its transaction changed.
// Only the rows a snapshot is compiled from are read again — one query per changed row instead of
// every row of the catalog. The answer is null (read everything instead) when the feed cannot say:
// a counter value missing from it (pruned, or written before the feed existed), a transaction that
// changed too many rows to list ("*"), or a snapshot row's target that does not parse.
//
// Targets of other kinds (org/, ticket/, notifier/, assignment/, an appended audit entry's free
// text) change nothing the snapshot holds and are skipped. Reading a row by its target always
// gives the row as it is now, so a target named twice, or named by an audit entry that changed
// nothing, is harmless.

import type { Store, StoreReads } from '../store/store.js';
import type { RowChange, StoreChanges } from './store-mirror.js';

/** How one target's row is read, as it is now. */
type Reader = (tx: StoreReads) => Promise<RowChange>;

/** `a/b` split at the first `sep` after the prefix; null when either side is empty. */
function split(rest: string, sep: string): [string, string] | null {
  const at = rest.indexOf(sep);
  if (at <= 0 || at === rest.length - 1) return null;
  return [rest.slice(0, at), rest.slice(at + 1)];
}

/**
 * The reader for an audit target: 'skip' for kinds the snapshot does not read, 'bad' for a
 * snapshot kind whose key does not parse.
 */
export function targetReader(target: string): Reader | 'skip' | 'bad' {
  const slash = target.indexOf('/');
  if (slash < 0) return 'skip';
  const kind = target.slice(0, slash);
  const rest = target.slice(slash + 1);
  switch (kind) {
    case 'instance':
      return rest === ''
        ? 'bad'
        : async (tx) => ({ kind, id: rest, row: await tx.getInstance(rest) });
    case 'module':
      return rest === ''
        ? 'bad'
        : async (tx) => ({ kind, name: rest, row: await tx.getModule(rest) });
    case 'product':
      return rest === ''
        ? 'bad'
        : async (tx) => ({ kind, name: rest, row: await tx.getProduct(rest) });
    case 'host':
      return rest === ''
        ? 'bad'
        : async (tx) => ({ kind, name: rest, row: await tx.getHost(rest) });
    case 'version': {
      const key = split(rest, '@');
      if (key === null) return 'bad';
      const [module, version] = key;
      return async (tx) => ({ kind, module, version, row: await tx.getVersion(module, version) });
    }
    case 'lane': {
      const key = split(rest, '/');
      if (key === null) return 'bad';
      const [product, name] = key;
      return async (tx) => ({ kind, product, name, row: await tx.getLane(product, name) });
    }
    default:
      return 'skip';
  }
}

/**
 * The rows changed after counter value `since`, read in one transaction with the counter they
 * are current at; null when the feed cannot say (read the whole state instead).
 */
export async function readStoreChanges(store: Store, since: number): Promise<StoreChanges | null> {
  return store.transaction(async (tx) => {
    const changeVersion = await tx.changeVersion();
    if (changeVersion < since) return null;
    const feed = await tx.listChanges(since);
    const targets = new Set<string>();
    for (let v = since + 1, i = 0; v <= changeVersion; v++, i++) {
      const entry = feed[i];
      if (entry === undefined || entry.version !== v) return null; // a gap
      for (const t of entry.targets) targets.add(t);
    }
    const readers: Reader[] = [];
    for (const t of targets) {
      if (t === '*') return null; // too many to list
      const reader = targetReader(t);
      if (reader === 'bad') return null;
      if (reader !== 'skip') readers.push(reader);
    }
    // One at a time: SQLite serves a transaction on one connection anyway.
    const rows: RowChange[] = [];
    for (const read of readers) rows.push(await read(tx));
    return { changeVersion, rows };
  });
}
