// One artifact download to a file, hashed while it streams (issue 14): from the control plane's
// store (with the agent's token) or from the version's url. The bytes are checked against the
// expected size and sha256 before anyone unpacks them; a short body (the connection closed
// mid-way), a longer one, or another hash fails with a message naming the artifact, the expected
// and actual hash and the host — and removes the partial file.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface DownloadRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  /** PEM CA for an https url (the control plane's own certificate). */
  readonly ca?: string | undefined;
  readonly sha256: string;
  /** Expected size in bytes; null: unknown (a url artifact may not say). */
  readonly size: number | null;
  /** Refused beyond this many bytes, whatever the server says. */
  readonly maxBytes: number;
  /** This host's name, for the messages. */
  readonly host: string;
  /** Progress, at most every `progressEveryBytes`; total from content-length when size is null. */
  readonly onProgress?: (bytes: number, total: number | null) => void;
  readonly progressEveryBytes?: number;
  readonly signal?: AbortSignal;
}

export class DownloadError extends Error {
  constructor(
    message: string,
    /** The hash actually received, when the body arrived whole. */
    readonly actual: string | null = null,
  ) {
    super(message);
  }
}

/** Downloads to `file` (created, replaced) and answers the bytes written; removes it on failure. */
export async function downloadArtifact(r: DownloadRequest, file: string): Promise<number> {
  try {
    return await fetchTo(r, file);
  } catch (error) {
    await rm(file, { force: true });
    if (error instanceof DownloadError) throw error;
    throw new DownloadError(
      `${what(r)}: the download broke: ${(error as Error).message} (expected sha256 ${r.sha256}, nothing verified)`,
    );
  }
}

function what(r: DownloadRequest): string {
  return `artifact ${r.sha256} on host ${r.host} from ${redact(r.url)}`;
}

/** A url's credentials (user:password@) never reach a message. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(bad url)';
  }
}

async function fetchTo(r: DownloadRequest, file: string): Promise<number> {
  const res = await open(r);
  if (res.statusCode !== 200) {
    res.resume();
    throw new DownloadError(`${what(r)}: the server answered HTTP ${res.statusCode}`);
  }
  const announced = Number(res.headers['content-length'] ?? Number.NaN);
  const total = r.size ?? (Number.isFinite(announced) ? announced : null);
  if (total !== null && total > r.maxBytes) {
    res.destroy();
    throw new DownloadError(`${what(r)}: ${total} bytes is over the cap of ${r.maxBytes}`);
  }
  const hash = createHash('sha256');
  let bytes = 0;
  let told = 0;
  const every = r.progressEveryBytes ?? 256 * 1024;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > (total ?? r.maxBytes)) {
        done(
          new DownloadError(`${what(r)}: more than the expected ${total ?? r.maxBytes} bytes came`),
        );
        return;
      }
      hash.update(chunk);
      if (bytes - told >= every) {
        told = bytes;
        r.onProgress?.(bytes, total);
      }
      done(null, chunk);
    },
  });
  const truncated = (why: string) =>
    new DownloadError(
      `${what(r)}: truncated, ${bytes} of ${total ?? 'an unknown number of'} bytes arrived${why} (expected sha256 ${r.sha256}, nothing verified)`,
    );
  try {
    await pipeline(res, counter, createWriteStream(file, { mode: 0o600 }), {
      ...(r.signal === undefined ? {} : { signal: r.signal }),
    });
  } catch (error) {
    if (error instanceof DownloadError) throw error;
    throw truncated(`: ${(error as Error).message}`);
  }
  // A server that closes early without content-length ends the stream "normally": count it.
  if (!res.complete || (total !== null && bytes !== total)) throw truncated('');
  const actual = hash.digest('hex');
  if (actual !== r.sha256)
    throw new DownloadError(
      `${what(r)}: sha256 mismatch, expected ${r.sha256}, got ${actual} (${bytes} bytes)`,
      actual,
    );
  r.onProgress?.(bytes, total);
  return bytes;
}

async function open(r: DownloadRequest): Promise<IncomingMessage> {
  const target = new URL(r.url);
  const { request } =
    target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      target,
      { method: 'GET', headers: r.headers, ...(r.ca === undefined ? {} : { ca: r.ca }) },
      resolve,
    );
    // No byte for this long: the server is gone (a slow but moving download is fine).
    req.setTimeout(30_000, () => req.destroy(new Error('no data for 30 s')));
    req.on('error', reject);
    r.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
    req.end();
  });
}
