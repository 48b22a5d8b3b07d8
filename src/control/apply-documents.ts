// The documents `turnout apply` sends: `kind` plus exactly the fields of that kind's create body
// (the store's input schemas), so a document and an API body can never disagree about a field.
// A document is the whole desired object, as in kubectl: on update a field it leaves out returns
// to its default if the last apply set it, and keeps its stored value if only others did.

import { z } from 'zod';
import { TurnoutError } from '../errors.js';
import {
  laneInputSchema,
  moduleInputSchema,
  orgInputSchema,
  productInputSchema,
  versionInputSchema,
} from '../store/model.js';
import { notifierInputSchema } from '../store/notifier-model.js';
import { mergeFields } from './apply-fields.js';

/** In the order an apply executes them: each kind may refer only to kinds before it. */
export const APPLY_KINDS = ['Org', 'Module', 'Version', 'Product', 'Lane', 'Notifier'] as const;
export type ApplyKind = (typeof APPLY_KINDS)[number];

type Undefaulted<T extends z.core.$ZodShape> = {
  [K in keyof T]: T[K] extends z.ZodDefault<infer I>
    ? z.ZodOptional<I>
    : T[K] extends z.ZodPrefault<infer I>
      ? z.ZodOptional<I>
      : T[K];
};

/**
 * The shape with top-level defaults removed, so a field a document leaves out stays absent and
 * the three-way rule (apply-fields.ts) can tell it from one given with the default's value: a
 * re-apply must not reset what others changed since (the base dtab the engine rewrites on
 * promote) in a field no apply ever set. Defaults fill in after the rule (completeDocument).
 */
function undefaulted<T extends z.core.$ZodShape>(shape: T): Undefaulted<T> {
  const out: Record<string, z.ZodType> = {};
  for (const [key, field] of Object.entries(shape)) {
    out[key] =
      field instanceof z.ZodDefault || field instanceof z.ZodPrefault
        ? (field.unwrap() as z.ZodType).optional()
        : (field as z.ZodType);
  }
  return out as Undefaulted<T>;
}

const kind = <K extends ApplyKind>(k: K) => ({ kind: z.literal(k) });

/** What a request carries. Versions are immutable, so theirs is always the whole content. */
export const applyDocumentSchema = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ ...orgInputSchema.shape, ...kind('Org') }),
    z.strictObject({ ...undefaulted(moduleInputSchema.shape), ...kind('Module') }),
    z.strictObject({ ...versionInputSchema.shape, ...kind('Version') }),
    z.strictObject({ ...undefaulted(productInputSchema.shape), ...kind('Product') }),
    z.strictObject({ ...undefaulted(laneInputSchema.shape), ...kind('Lane') }),
    z.strictObject({ ...undefaulted(notifierInputSchema.shape), ...kind('Notifier') }),
  ],
  { error: `must be one of ${APPLY_KINDS.join(', ')}` },
);

/** A document as sent (fields with defaults may be absent). */
export type ApplyDocument = z.output<typeof applyDocumentSchema>;
export type ApplyDocumentInput = z.input<typeof applyDocumentSchema>;

/** The whole object a document stands for, every field present: what the store is given. */
const catalogObjectSchema = z.discriminatedUnion('kind', [
  orgInputSchema.extend(kind('Org')),
  moduleInputSchema.extend(kind('Module')),
  versionInputSchema.extend(kind('Version')),
  productInputSchema.extend(kind('Product')),
  laneInputSchema.extend(kind('Lane')),
  notifierInputSchema.extend(kind('Notifier')),
]);
export type CatalogObject = z.output<typeof catalogObjectSchema>;
export type ObjectOf<K extends ApplyKind> = Extract<CatalogObject, { kind: K }>;

/**
 * The object `doc` stands for: on create, with the store's defaults for what it leaves out; on
 * update, by kubectl's three-way rule (apply-fields.ts) with `lastApplied`, the fields the last
 * apply of this object gave: a left-out field keeps its stored value unless an apply set it.
 */
export function completeDocument(
  doc: ApplyDocument,
  stored: object | undefined,
  lastApplied?: readonly string[],
): CatalogObject {
  const merged = mergeFields(
    doc as Record<string, unknown>,
    stored as Record<string, unknown> | undefined,
    lastApplied,
  );
  return catalogObjectSchema.parse(merged);
}

/** A document's identity within its kind: `orders`, `orders@2.0.0`, `shop/dev`. */
export function documentKey(doc: ApplyDocument | CatalogObject): string {
  switch (doc.kind) {
    case 'Version':
      return `${doc.module}@${doc.version}`;
    case 'Lane':
      return `${doc.product}/${doc.name}`;
    default:
      return doc.name;
  }
}

/** The field that carries a document's identity (where a duplicate is reported). */
export function keyField(kind: ApplyKind): string {
  return kind === 'Version' ? 'version' : 'name';
}

/** `module orders`, `version orders@2.0.0`: how messages name a document. */
export function documentLabel(doc: ApplyDocument | CatalogObject): string {
  return `${doc.kind.toLowerCase()} ${documentKey(doc)}`;
}

/** The JSON path of a field of document `index`, as the API reports it: `documents[2].calls[0]`. */
export function documentField(index: number, field?: string): string {
  if (field === undefined || field === '') return `documents[${index}]`;
  return field.startsWith('[') ? `documents[${index}]${field}` : `documents[${index}].${field}`;
}

/**
 * Re-throws a store or validation error as one about document `index`: the field gains the
 * document's path and the message reads `documents[2].calls[0]: <reason>`, like the API's own
 * request validation, so a client can map any of them back to its source file.
 */
export function atDocument(index: number, error: unknown): never {
  if (!(error instanceof TurnoutError)) throw error;
  const reason =
    error.field !== undefined && error.message.startsWith(`${error.field}: `)
      ? error.message.slice(error.field.length + 2)
      : error.message;
  const field = documentField(index, error.field);
  throw new TurnoutError(error.code, `${field}: ${reason}`, field);
}
