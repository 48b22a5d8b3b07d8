// Reads a snapshot document (YAML or JSON text) and validates it; errors name the file and field.

import { createRequire } from 'node:module';
import { TurnoutError } from '../errors.js';
import type { Snapshot } from './snapshot.js';
import { checkSnapshot } from './snapshot-check.js';

/** `products[0].rules[2].lane` from an issue's path. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path)
    out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

/**
 * The YAML parser, loaded on first use: JSON documents (the control plane's stream, the snapshot
 * files most proxies read) never need it, and a `turnout proxy` then does not carry it (~2.5 MB).
 */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yaml.parse(text);
}

function looksLikeJson(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
    return c === 0x7b; // '{'
  }
  return false;
}

function parseJsonOrYaml(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return parseYaml(text);
  }
}

export function parseSnapshot(text: string, source: string): Snapshot {
  let doc: unknown;
  try {
    // The control plane streams JSON: JSON.parse is ~100× cheaper than the YAML parser, which
    // matters when every proxy applies every snapshot. Anything else is read as YAML (a JSON
    // superset, so hand-written JSON that JSON.parse rejects still gets YAML's error message).
    doc = looksLikeJson(text) ? parseJsonOrYaml(text) : parseYaml(text);
  } catch (error) {
    throw new TurnoutError(
      'invalid_config',
      `${source}: not valid YAML or JSON: ${(error as Error).message}`,
    );
  }
  return validateSnapshot(doc, source);
}

/**
 * Validates a parsed document (a snapshot a delta produced, say); errors name the field. The
 * checks are snapshot-check.ts's, which answer as snapshotSchema does without loading zod (a
 * `turnout proxy` reads snapshots through here); they stop at the first issue.
 */
export function validateSnapshot(doc: unknown, source: string): Snapshot {
  const result = checkSnapshot(doc);
  if (!result.ok) {
    const field = fieldPath(result.path);
    throw new TurnoutError(
      'invalid_config',
      `${source}: ${field || '(document)'}: ${result.message}`,
      field,
    );
  }
  return result.value;
}
