// Before an instance with an artifact starts (issue 14): a permit from the server's download
// throttle (waiting our turn, and saying so: queued, position n), the download (renewing the permit
// while it runs, giving it back after), verification, unpacking into the cache. Answers the run
// with its working directory inside the unpacked artifact, so relative paths resolve there.

import { isAbsolute, relative, resolve } from 'node:path';
import type { AssignmentArtifact, DownloadProgress } from '../store/assignment-model.js';
import type { ArtifactCache } from './artifact-cache.js';
import { downloadArtifact } from './artifact-download.js';
import type { Assignment } from './assignment.js';
import type { ServerLink } from './server-link.js';

export interface PrepareDeps {
  readonly host: string;
  readonly link: Pick<
    ServerLink,
    'askPermit' | 'renewPermit' | 'releasePermit' | 'artifactRequest'
  >;
  readonly cache: ArtifactCache;
  /** The host's downloads, one at a time (see OneAtATime). */
  readonly downloads: OneAtATime;
  /** The largest artifact downloaded. */
  readonly maxDownloadBytes: number;
  /** Where the start is: downloading (with progress) or unpacking. */
  readonly onStep: (step: 'download' | 'unpack', download: DownloadProgress | null) => void;
  readonly sleep: (ms: number) => Promise<void>;
  readonly stopped: () => boolean;
}

/**
 * A host downloads one artifact at a time. The server's throttle counts hosts — a host holds one
 * permit, and asking again while holding it answers the same permit — so two downloads at once on
 * one host (two modules' artifacts starting together) would both run on that one permit, and the
 * first to end would give it back while the other still runs: K+1 downloads across the fleet.
 */
export class OneAtATime {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Whether a run is under way or waiting: the next one waits. */
  get busy(): boolean {
    return this.pending > 0;
  }

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending += 1;
    const next = this.tail.then(fn).finally(() => {
      this.pending -= 1;
    });
    this.tail = next.catch(() => {});
    return next;
  }
}

/** A step's failure: which step, and the message naming artifact, hashes and host. */
export class StepError extends Error {
  constructor(
    readonly step: 'download' | 'unpack' | 'start',
    message: string,
  ) {
    super(message);
  }
}

/** The unpacked directory of the assignment's artifact, downloaded and unpacked if need be. */
export async function prepareArtifact(a: AssignmentArtifact, d: PrepareDeps): Promise<string> {
  let unpacking = false;
  try {
    return await d.cache.ensure(
      a.sha256,
      (file) => {
        // Waiting for this host's other download: queued, no place in the fleet's line yet.
        if (d.downloads.busy)
          d.onStep('download', { state: 'queued', bytes: 0, total: a.size, position: null });
        return d.downloads.run(() => downloadWithPermit(a, file, d));
      },
      () => {
        unpacking = true;
        d.onStep('unpack', null);
      },
    );
  } catch (error) {
    const reason = (error as Error).message;
    if (!unpacking) throw new StepError('download', reason);
    throw new StepError(
      'unpack',
      `artifact ${a.sha256} on host ${d.host}: refused to unpack: ${reason} (the download was verified; nothing was kept)`,
    );
  }
}

async function downloadWithPermit(a: AssignmentArtifact, file: string, d: PrepareDeps) {
  const total = a.size;
  for (;;) {
    if (d.stopped()) throw new Error('the agent is stopping');
    const answer = await d.link.askPermit(d.host, a.sha256);
    if (!answer.granted) {
      d.onStep('download', { state: 'queued', bytes: 0, total, position: answer.position });
      await d.sleep(answer.retryAfterMs);
      continue;
    }
    const { permit } = answer;
    const renew = setInterval(
      () => void d.link.renewPermit(d.host, permit).catch(() => {}),
      Math.max(100, answer.ttlMs / 3),
    );
    try {
      d.onStep('download', { state: 'downloading', bytes: 0, total, position: null });
      const req =
        a.url === null
          ? d.link.artifactRequest(a.sha256)
          : { url: a.url, headers: {} as Record<string, string> };
      const bytes = await downloadArtifact(
        {
          ...req,
          sha256: a.sha256,
          size: a.size,
          maxBytes: d.maxDownloadBytes,
          host: d.host,
          onProgress: (n, t) =>
            d.onStep('download', { state: 'downloading', bytes: n, total: t, position: null }),
        },
        file,
      );
      d.onStep('download', { state: 'verified', bytes, total: bytes, position: null });
      return;
    } finally {
      clearInterval(renew);
      await d.link.releasePermit(d.host, permit).catch(() => {});
    }
  }
}

/** The run's working directory inside the artifact: its root, or `cwd` under it (never outside). */
export function runInside(dir: string, run: Assignment['run'], host: string): Assignment['run'] {
  const cwd = resolve(dir, run.cwd ?? '.');
  const rel = relative(dir, cwd);
  if (isAbsolute(run.cwd ?? '.') || rel.startsWith('..') || isAbsolute(rel))
    throw new StepError(
      'start',
      `run.cwd ${run.cwd} is outside the artifact on host ${host}: give a path inside it`,
    );
  return { ...run, cwd };
}
