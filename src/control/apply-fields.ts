// kubectl's three-way rule for what an apply document leaves out, per top-level field:
//   given                                   → the given value;
//   left out, but the last apply gave it    → removed (the file stopped setting it: the kind's
//                                             default fills it, or a required field is missing);
//   left out, and no apply ever gave it     → the stored value (someone else set it: the release
//                                             engine's baseDtab on promote, an API call).
// So re-applying a file never rolls back what others changed in fields the file does not own,
// and deleting a line from the file undoes what that line did. Pure: the plan calls it.

/** Timestamps are the store's, never a document's. */
const STORED_ONLY = new Set(['createdAt', 'updatedAt']);

/** The top-level fields a document gives (present and defined), `kind` aside, sorted. */
export function givenFields(doc: object): string[] {
  return Object.entries(doc)
    .filter(([k, v]) => k !== 'kind' && v !== undefined)
    .map(([k]) => k)
    .sort();
}

/**
 * The object a document stands for before defaults: `given` over what of `stored` the rule keeps.
 * `stored` undefined: a create (defaults fill every left-out field). `lastApplied` undefined: no
 * apply has written this object (all of its stored fields are someone else's).
 */
export function mergeFields(
  given: Readonly<Record<string, unknown>>,
  stored: Readonly<Record<string, unknown>> | undefined,
  lastApplied: readonly string[] | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const owned = new Set(lastApplied ?? []);
  for (const [k, v] of Object.entries(stored ?? {})) {
    if (!STORED_ONLY.has(k) && !owned.has(k)) out[k] = v;
  }
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  return out;
}
