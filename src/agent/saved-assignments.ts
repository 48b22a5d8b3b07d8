// <data>/assignments.json: the last list the server sent, so an agent that starts while the server
// is unreachable keeps running what it was told to run (static stability). Written atomically and
// only when the list changed; read back through the same schema as the wire.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonAtomically } from '../runtime/json-file.js';
import type { Assignment } from './assignment.js';
import { parseList } from './assignment-stream.js';

export const SAVED_ASSIGNMENTS = 'assignments.json';

export async function saveAssignments(
  dataDir: string,
  assignments: readonly Assignment[],
  version: number | null,
): Promise<void> {
  const savedAt = new Date().toISOString();
  await writeJsonAtomically(join(dataDir, SAVED_ASSIGNMENTS), { savedAt, version, assignments });
}

/** The saved list; null when there is none. A file that does not parse is an error naming why. */
export async function loadAssignments(
  dataDir: string,
): Promise<{ assignments: Assignment[]; savedAt: string | null } | null> {
  const path = join(dataDir, SAVED_ASSIGNMENTS);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
  const parsed = parseList(text);
  if (typeof parsed === 'string') throw new Error(`${path}: ${parsed}`);
  const savedAt = (JSON.parse(text) as { savedAt?: unknown }).savedAt;
  return { assignments: parsed.assignments, savedAt: typeof savedAt === 'string' ? savedAt : null };
}
