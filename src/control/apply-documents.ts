// The documents `turnout apply` sends: `kind` plus exactly the fields of that kind's create body
// (the store's input schemas), so a document and an API body can never disagree about a field.

import { z } from 'zod';
import { TurnoutError } from '../errors.js';
import {
  laneInputSchema,
  moduleInputSchema,
  orgInputSchema,
  productInputSchema,
  versionInputSchema,
} from '../store/model.js';

/** In the order an apply executes them: each kind may refer only to kinds before it. */
export const APPLY_KINDS = ['Org', 'Module', 'Version', 'Product', 'Lane'] as const;
export type ApplyKind = (typeof APPLY_KINDS)[number];

export const applyDocumentSchema = z.discriminatedUnion(
  'kind',
  [
    orgInputSchema.extend({ kind: z.literal('Org') }),
    moduleInputSchema.extend({ kind: z.literal('Module') }),
    versionInputSchema.extend({ kind: z.literal('Version') }),
    productInputSchema.extend({ kind: z.literal('Product') }),
    laneInputSchema.extend({ kind: z.literal('Lane') }),
  ],
  { error: `kind is one of ${APPLY_KINDS.join(', ')}` },
);

export type ApplyDocument = z.output<typeof applyDocumentSchema>;
export type ApplyDocumentInput = z.input<typeof applyDocumentSchema>;
export type DocumentOf<K extends ApplyKind> = Extract<ApplyDocument, { kind: K }>;

/** A document's identity within its kind: `orders`, `orders@2.0.0`, `shop/dev`. */
export function documentKey(doc: ApplyDocument): string {
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
export function documentLabel(doc: ApplyDocument): string {
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
