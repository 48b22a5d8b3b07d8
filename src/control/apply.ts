// `apply` against a store: load what the documents touch, plan (apply-plan.ts), and run the plan's
// writes in ONE store transaction, so a rejected document leaves nothing behind. A dry run runs the
// very same writes and rolls them back: it reports exactly the errors a real apply would meet
// (host conflicts, runtime changes and every other store check), and changes nothing.

import type { Store, StoreTx } from '../store/store.js';
import type { ApplyDocument, CatalogObject } from './apply-documents.js';
import { atDocument, documentKey } from './apply-documents.js';
import type { ApplyAction, ApplyStep, CatalogState } from './apply-plan.js';
import { planApply } from './apply-plan.js';
import { overlayVersions } from './overlay-versions.js';

export interface ApplyOptions {
  dryRun: boolean;
  /** Who applies: the audit log's actor for every write. */
  actor: string;
}

export interface ApplyResult {
  dryRun: boolean;
  /** True when the apply wrote something (or, dry, would have). */
  changed: boolean;
  counts: Record<ApplyAction, number>;
  /** One per document, in document order. */
  actions: Omit<ApplyStep, 'object'>[];
}

/** Thrown inside the transaction to roll a dry run back; carries the result out. */
class DryRun extends Error {
  constructor(readonly result: ApplyResult) {
    super('dry run');
  }
}

export async function applyDocuments(
  store: Store,
  documents: readonly ApplyDocument[],
  options: ApplyOptions,
): Promise<ApplyResult> {
  try {
    return await store.transaction(async (tx) => {
      const plan = planApply(documents, await loadState(tx, documents));
      for (const step of plan.steps) {
        if (step.action === 'unchanged') continue;
        await write(tx, step, options.actor).catch((error: unknown) =>
          atDocument(step.index, error),
        );
      }
      const result = summarise(plan.steps, options.dryRun);
      if (options.dryRun) throw new DryRun(result);
      return result;
    });
  } catch (error) {
    if (error instanceof DryRun) return error.result;
    throw error;
  }
}

function summarise(steps: readonly ApplyStep[], dryRun: boolean): ApplyResult {
  const counts: Record<ApplyAction, number> = { create: 0, update: 0, unchanged: 0 };
  for (const s of steps) counts[s.action] += 1;
  const actions = [...steps]
    .sort((a, b) => a.index - b.index)
    .map(({ object: _o, ...action }) => action);
  return { dryRun, changed: counts.create + counts.update > 0, counts, actions };
}

/** The object's fields without `kind`: the store's input for that kind. */
function fields<D extends CatalogObject>(doc: D): Omit<D, 'kind'> {
  const { kind: _k, ...rest } = doc;
  return rest;
}

async function write(tx: StoreTx, step: ApplyStep, actor: string): Promise<unknown> {
  const doc = step.object;
  const create = step.action === 'create';
  switch (doc.kind) {
    case 'Org':
      return tx.createOrg(fields(doc), actor); // an org has nothing to update
    case 'Module':
      return create ? tx.createModule(fields(doc), actor) : tx.updateModule(fields(doc), actor);
    case 'Version':
      return tx.createVersion(fields(doc), actor); // immutable: the plan never updates one
    case 'Product':
      return create ? tx.createProduct(fields(doc), actor) : tx.updateProduct(fields(doc), actor);
    case 'Lane':
      return create ? tx.createLane(fields(doc), actor) : tx.updateLane(fields(doc), actor);
    case 'Notifier':
      return create ? tx.createNotifier(fields(doc), actor) : tx.updateNotifier(fields(doc), actor);
  }
}

/** Every module (the graph is checked whole) and the other records the documents name. */
async function loadState(tx: StoreTx, documents: readonly ApplyDocument[]): Promise<CatalogState> {
  const state = {
    orgs: new Map(),
    modules: new Map(),
    versions: new Map(),
    products: new Map(),
    lanes: new Map(),
    notifiers: new Map(),
  } satisfies CatalogState;
  let cursor: string | undefined;
  do {
    const page = await tx.listModules(cursor === undefined ? {} : { cursor });
    for (const m of page.items) state.modules.set(m.name, m);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);

  const orgs = new Set<string>();
  const products = new Set<string>();
  for (const doc of documents) {
    if (doc.kind === 'Org') orgs.add(doc.name);
    if (doc.kind === 'Module' || doc.kind === 'Product') orgs.add(doc.org);
    if (doc.kind === 'Product') products.add(doc.name);
    if (doc.kind === 'Lane' || doc.kind === 'Notifier') products.add(doc.product);
    if (doc.kind === 'Notifier') {
      const notifier = await tx.getNotifier(doc.name);
      if (notifier !== null) state.notifiers.set(doc.name, notifier);
    }
    if (doc.kind === 'Version') {
      const version = await tx.getVersion(doc.module, doc.version);
      if (version !== null) state.versions.set(documentKey(doc), version);
    }
    if (doc.kind === 'Lane') {
      const lane = await tx.getLane(doc.product, doc.name);
      if (lane !== null) state.lanes.set(documentKey(doc), lane);
      // The versions its overlay routes to, so the plan can refuse one that does not exist.
      for (const v of overlayVersions(doc.overlay ?? '')) {
        const version = await tx.getVersion(v.module, v.version);
        if (version !== null) state.versions.set(`${v.module}@${v.version}`, version);
      }
    }
  }
  for (const name of orgs) {
    const org = await tx.getOrg(name);
    if (org !== null) state.orgs.set(name, org);
  }
  for (const name of products) {
    const product = await tx.getProduct(name);
    if (product !== null) state.products.set(name, product);
  }
  return state;
}
