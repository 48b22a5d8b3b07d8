// A JSON record written so that a reader (or a control plane killed mid-write) sees the old file or
// the new one, never half of one: a temporary file, synced, then renamed over the record.

import { open, rename } from 'node:fs/promises';

export async function writeJsonAtomically(path: string, value: unknown): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    // open's mode applies only to a file it creates: a leftover temporary keeps its own.
    await file.chmod(0o600);
    await file.writeFile(`${JSON.stringify(value, null, 2)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
}
