// One HTTP exchange with Node's own http/https modules. The CLI's API client uses these rather than
// undici because loading undici costs more than a whole Node start (see docs/cli-usage.md): every
// `turnout get` would pay for it.

import type { IncomingMessage, RequestOptions } from 'node:http';

export interface HttpCall {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** How long the server may stay silent (before the head, or within the body). */
  timeoutMs: number;
  /** PEM CA certificate(s) to trust for an https server; none: Node's roots. */
  ca?: string;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

/** Sends one request and reads the whole answer as text; rejects on network errors and timeouts. */
export async function httpCall(url: string, call: HttpCall): Promise<HttpAnswer> {
  const target = new URL(url);
  const { request } =
    target.protocol === 'https:' ? await import('node:https') : await import('node:http');
  const headers =
    call.body === undefined
      ? call.headers
      : { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) };
  const options: RequestOptions & { ca?: string } = {
    method: call.method,
    headers,
    ...(call.ca === undefined ? {} : { ca: call.ca }),
  };
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = request(target, options, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.setTimeout(call.timeoutMs, () =>
      req.destroy(new Error(`no answer within ${call.timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(call.body);
  });
}
