// The artifact calls `turnout push` makes: HEAD (is it stored already?) and a streamed PUT of a
// file with its content-length, reporting progress as the bytes go. Node's http like the rest of
// the CLI's client (http-call.ts); the file is never read into memory whole.

import { createReadStream } from 'node:fs';
import type { IncomingMessage, RequestOptions } from 'node:http';
import type { ApiConnection } from './api-client.js';
import { apiError, unreachable } from './api-client.js';

export interface ArtifactRecord {
  sha256: string;
  size: number;
  createdAt: string;
}

interface Answer {
  status: number;
  text: string;
}

async function exchange(
  c: ApiConnection,
  method: string,
  path: string,
  extra: Record<string, string>,
  send: (req: import('node:http').ClientRequest) => void,
): Promise<Answer> {
  const target = new URL(`${c.server}${path}`);
  const { request } =
    target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const options: RequestOptions & { ca?: string } = {
    method,
    headers: { ...c.headers, ...extra },
    ...(c.ca === undefined ? {} : { ca: c.ca }),
  };
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const req = request(target, options, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
          // Answered before the body was all sent (a refusal: too large, unauthorized): the
          // server reads no more of it, so stop sending rather than wait on a stalled socket.
          if (!req.writableFinished) req.destroy();
        });
        res.on('error', reject);
      });
      // Silence for this long (no answer, or no progress) fails the call rather than hanging.
      req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
      req.on('error', reject);
      send(req);
    });
  } catch (error) {
    throw unreachable(c.server, error);
  }
}

function parsed(a: Answer): unknown {
  try {
    return a.text === '' ? null : JSON.parse(a.text);
  } catch {
    return null;
  }
}

/**
 * Whether the store has the artifact already (then there is nothing to upload). A HEAD answer
 * has no body to explain a refusal, so anything but 200 counts as absent: the upload then gets
 * the refusal (401, 403…) with its reason.
 */
export async function artifactStored(c: ApiConnection, sha256: string): Promise<boolean> {
  const a = await exchange(c, 'HEAD', `/v1/artifacts/${sha256}`, {}, (req) => req.end());
  return a.status === 200;
}

/** Streams `file` (`size` bytes) as the artifact `sha256`; `progress` gets the bytes sent so far. */
export async function uploadArtifact(
  c: ApiConnection,
  sha256: string,
  file: string,
  size: number,
  progress: (sent: number) => void = () => {},
): Promise<{ created: boolean; artifact: ArtifactRecord }> {
  const a = await exchange(
    c,
    'PUT',
    `/v1/artifacts/${sha256}`,
    { 'content-type': 'application/gzip', 'content-length': String(size) },
    (req) => {
      let sent = 0;
      const body = createReadStream(file);
      body.on('data', (chunk) => {
        sent += chunk.length;
        progress(sent);
      });
      body.on('error', (error) => req.destroy(error));
      body.pipe(req);
    },
  );
  const answer = parsed(a);
  if (a.status >= 400) throw apiError(a.status, answer, c.tokenSource);
  return { created: a.status === 201, artifact: answer as ArtifactRecord };
}
