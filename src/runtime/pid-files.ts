// The record of a running instance, `<dataDir>/instances/<id>.json` beside its log `<id>.log`:
// what the next run of the control plane needs to find the process again (pid and start time) and
// to restart it the same way (port and spec). Written atomically (temporary file, fsync, rename).

import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomically } from './json-file.js';
import type { InstanceSpec, RunningInstance } from './runtime.js';

export interface InstanceRecord extends RunningInstance {
  port: number;
  /** /proc/<pid>/stat start time, to tell this process from a later one given the same pid. */
  processStart: number;
  spec: InstanceSpec;
}

const recordSchema = z.object({
  id: z.string(),
  module: z.string(),
  version: z.string(),
  address: z.string(),
  pid: z.int().positive(),
  startedAt: z.string(),
  restarts: z.int().min(0),
  port: z.int().min(1).max(65_535),
  processStart: z.int().min(0),
  spec: z.object({
    id: z.string(),
    module: z.string(),
    version: z.string(),
    run: z.object({
      command: z.string(),
      args: z.array(z.string()),
      cwd: z.string().nullable(),
      env: z.record(z.string(), z.string()),
    }),
  }),
});

/** Ids become file names, so they are held to the instance id rule of the store. */
export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

export const recordPath = (dir: string, id: string) => join(dir, `${id}.json`);
export const logPath = (dir: string, id: string) => join(dir, `${id}.log`);

export async function writeRecord(dir: string, record: InstanceRecord): Promise<void> {
  await writeJsonAtomically(recordPath(dir, record.id), record);
}

export async function removeRecord(dir: string, id: string): Promise<void> {
  await rm(recordPath(dir, id), { force: true });
}

/** Every record in `dir`; `unreadable` names files that are not a record (removed by the caller). */
export async function readRecords(
  dir: string,
): Promise<{ records: InstanceRecord[]; unreadable: string[] }> {
  const records: InstanceRecord[] = [];
  const unreadable: string[] = [];
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const id = name.slice(0, -'.json'.length);
    const record = await readRecord(dir, id);
    if (record === null) unreadable.push(id);
    else records.push(record);
  }
  return { records, unreadable };
}

export async function readRecord(dir: string, id: string): Promise<InstanceRecord | null> {
  let text: string;
  try {
    text = await readFile(recordPath(dir, id), 'utf8');
  } catch {
    return null;
  }
  try {
    const parsed = recordSchema.safeParse(JSON.parse(text));
    return parsed.success && parsed.data.id === id ? parsed.data : null;
  } catch {
    return null;
  }
}
