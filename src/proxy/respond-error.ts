// The proxy's own error responses: status from the one error table, an `x-turnout-error` code
// header, plain text by default and JSON when the client accepts it. Edge clients never see
// internal addresses or dtabs: callers pass a public message for them.

import type { ServerResponse } from 'node:http';
import type { ErrorCode } from '../errors.js';
import { ERROR_CODES } from '../errors.js';

export interface ProxyError {
  readonly code: ErrorCode;
  readonly message: string;
}

function wantsJson(accept: string | undefined): boolean {
  return accept !== undefined && (accept.includes('application/json') || accept.includes('+json'));
}

export function respondError(
  res: ServerResponse,
  error: ProxyError,
  accept: string | undefined,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const status = ERROR_CODES[error.code].status;
  const json = wantsJson(accept);
  const body = json
    ? JSON.stringify({ error: { code: error.code, message: error.message } })
    : `${error.message}\n`;
  res.writeHead(status, {
    'content-type': json ? 'application/json' : 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'x-turnout-error': error.code,
    'cache-control': 'no-store',
  });
  res.end(body);
}

/** The raw response for errors found before there is a request object (parser errors). */
export function rawErrorResponse(code: ErrorCode, message: string): string {
  const status = ERROR_CODES[code].status;
  const reason =
    { 400: 'Bad Request', 431: 'Request Header Fields Too Large' }[status as 400 | 431] ?? 'Error';
  const body = `${message}\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(body)}\r\nx-turnout-error: ${code}\r\nconnection: close\r\n\r\n${body}`
  );
}
