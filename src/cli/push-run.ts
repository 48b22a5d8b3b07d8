// `turnout push <module> <version> <dir|file.tgz>` at work (loaded when the command runs): checks
// the names, packs and hashes the build, uploads it unless the store has it already, then creates
// the version naming it. Nothing is uploaded for a version that exists with another artifact (a
// conflict), and the same build pushed again for the same version is "unchanged".

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiClient, ApiClientOptions } from '../client/api-client.js';
import { apiConnection, createApiClient } from '../client/api-client.js';
import { artifactStored, uploadArtifact } from '../client/artifact-client.js';
import { versionLabelSchema } from '../config/snapshot.js';
import { TurnoutError } from '../errors.js';
import { nameProblem } from '../routing/context.js';
import { quote } from '../safe-text.js';
import { reachableModules } from '../store/graph.js';
import { artifactFor } from './push-pack.js';

export interface PushInput {
  module: string;
  version: string;
  path: string;
  /** The version's command (its run override), else the module's. */
  command?: string;
  args: string[];
  api: ApiClientOptions;
  /** Bytes sent of the total, while uploading (a TTY shows them). */
  progress?: (sent: number, total: number) => void;
}

export interface PushResult {
  module: string;
  version: string;
  artifact: { sha256: string; size: number };
  /** False when the store had it already. */
  uploaded: boolean;
  /** Whether the version was created now or existed with this artifact. */
  result: 'created' | 'unchanged';
  /** The products that use the module (entry or reachable through calls): what to release. */
  products: string[];
}

interface VersionRecord {
  artifact?: { sha256: string } | null;
}

function checkNames(input: PushInput): void {
  const problem = nameProblem(input.module);
  if (problem !== null)
    throw new TurnoutError(
      'invalid_argument',
      `module: ${quote(input.module)} ${problem}`,
      'module',
    );
  const label = versionLabelSchema.safeParse(input.version);
  if (!label.success)
    throw new TurnoutError(
      'invalid_argument',
      `version: ${quote(input.version)}: ${label.error.issues[0]?.message ?? 'is invalid'}`,
      'version',
    );
}

function runOverride(input: PushInput): Record<string, unknown> {
  if (input.command === undefined && input.args.length === 0) return {};
  return {
    run: {
      process: {
        ...(input.command === undefined ? {} : { command: input.command }),
        ...(input.args.length === 0 ? {} : { args: input.args }),
      },
    },
  };
}

async function existingVersion(
  client: ReturnType<typeof createApiClient>,
  module: string,
  version: string,
): Promise<VersionRecord | null> {
  try {
    return (await client.get(
      `/v1/modules/${encodeURIComponent(module)}/versions/${encodeURIComponent(version)}`,
    )) as VersionRecord;
  } catch (error) {
    if (error instanceof TurnoutError && error.code === 'not_found') return null;
    throw error;
  }
}

export async function push(input: PushInput): Promise<PushResult> {
  checkNames(input);
  const client = createApiClient(input.api);
  const conn = apiConnection(input.api);
  // Before packing anything: the module must exist.
  try {
    await client.get(`/v1/modules/${encodeURIComponent(input.module)}`);
  } catch (error) {
    if (error instanceof TurnoutError && error.code === 'not_found')
      throw new TurnoutError(
        'not_found',
        `module: no module ${quote(input.module)}; create it first (turnout apply)`,
        'module',
      );
    throw error;
  }
  const temp = await mkdtemp(join(tmpdir(), 'turnout-push-'));
  try {
    const built = await artifactFor(input.path, temp);
    const artifact = { sha256: built.sha256, size: built.size };
    const existing = await existingVersion(client, input.module, input.version);
    if (existing !== null && existing.artifact?.sha256 !== built.sha256) {
      const had = existing.artifact ? `artifact ${existing.artifact.sha256}` : 'no artifact';
      throw new TurnoutError(
        'conflict',
        `artifact: version ${input.module}@${input.version} already exists with ${had}, not ${built.sha256}; versions are immutable, push a new version`,
        'artifact',
      );
    }
    await mayCreateVersions(client);
    let uploaded = false;
    if (!(await artifactStored(conn, built.sha256))) {
      await uploadArtifact(conn, built.sha256, built.file, built.size, (sent) =>
        input.progress?.(sent, built.size),
      );
      uploaded = true;
    }
    await client.post(`/v1/modules/${encodeURIComponent(input.module)}/versions`, {
      version: input.version,
      artifact,
      ...runOverride(input),
    });
    return {
      module: input.module,
      version: input.version,
      artifact,
      uploaded,
      result: existing === null ? 'created' : 'unchanged',
      products: await productsUsing(client, input.module),
    };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

/**
 * A push names its artifact by creating (or confirming) the version, which is the catalog's (role
 * admin); uploading alone is a releaser's. Checked before the upload, so a releaser's push fails at
 * once, saying why, instead of after sending the bytes.
 */
async function mayCreateVersions(client: ApiClient): Promise<void> {
  const me = (await client.get('/v1/whoami')) as { name: string; role: string };
  if (me.role === 'admin') return;
  throw new TurnoutError(
    'forbidden',
    `token: ${quote(me.name)} has role ${me.role}; pushing creates the version, which needs an admin token (a releaser may upload with PUT /v1/artifacts and release what an admin pushed)`,
    'token',
  );
}

/** The products whose module graph (entry and everything it calls) includes `module`. */
async function productsUsing(client: ApiClient, module: string): Promise<string[]> {
  const [products, modules] = await Promise.all([
    client.list('/v1/products') as Promise<Array<{ name: string; entry: string }>>,
    client.list('/v1/modules') as Promise<Array<{ name: string; calls?: string[] }>>,
  ]);
  const graph = new Map(modules.map((m) => [m.name, m.calls ?? []]));
  return products
    .filter((p) => reachableModules(p.entry, graph).has(module))
    .map((p) => p.name)
    .sort();
}

/** `12.0 MiB`, `340 KiB`, `12 bytes`. */
export function bytesText(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

export function pushText(r: PushResult): string {
  const stored = r.uploaded ? 'uploaded' : 'already in the artifact store';
  const version = r.result === 'created' ? 'created' : 'unchanged (it exists with this artifact)';
  return [
    `pushed ${r.module}@${r.version}`,
    `  artifact  sha256 ${r.artifact.sha256}, ${bytesText(r.artifact.size)} (${stored})`,
    `  version   ${version}`,
    ...releaseHint(r),
  ].join('\n');
}

/** The release command to run next, with the real product when one uses the module. */
function releaseHint(r: PushResult): string[] {
  const set = `--set ${r.module}=${r.version}`;
  if (r.products.length === 0)
    return [`no product uses ${r.module} yet: add it to one (entry or calls), then release it`];
  return r.products.map((p) => `release it with: turnout release create ${p} ${set}`);
}
