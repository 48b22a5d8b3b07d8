// The work of `turnout request` (request-command.ts): flags → the API's try body, the call, and the
// answer for people (status, which version of each module served it, headers, body) or as JSON.
// Exit 0 when the product answered below 400, 1 otherwise (a script can tell), 2 for bad input.

import { readFileSync } from 'node:fs';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import type { ApiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import { parseDuration } from './release-command.js';

export interface RequestFlags extends ApiFlags {
  lane: string;
  method: string;
  header: string[];
  data?: string;
  timeout: string;
}

export interface TryBody {
  lane: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export interface TryAnswer {
  product: string;
  lane: string;
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  body: string;
  bodyTruncated: boolean;
  durationMs: number;
  routed: Record<string, string>;
  served: Record<string, string>;
  servedLane: string | null;
}

/** `-H 'name: value'` → [name, value]; the error names the flag and shows the form. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon < 1 ? '' : text.slice(0, colon).trim();
  if (name === '' || /\s/.test(name))
    throw new TurnoutError(
      'invalid_argument',
      `--header ${JSON.stringify(text)}: write it as 'name: value'`,
      'header',
    );
  return [name, text.slice(colon + 1).trim()];
}

/** `-d text`, or `-d @file` for a file's contents. */
function bodyOf(data: string | undefined): string | undefined {
  if (data === undefined || !data.startsWith('@')) return data;
  try {
    return readFileSync(data.slice(1), 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code ?? String(error);
    throw new TurnoutError('invalid_argument', `--data ${data}: cannot read it (${code})`, 'data');
  }
}

export function tryBody(path: string, flags: RequestFlags): TryBody {
  const headers: Record<string, string> = {};
  for (const h of flags.header) {
    const [name, value] = parseHeader(h);
    headers[name] = value;
  }
  const body = bodyOf(flags.data);
  return {
    lane: flags.lane,
    method: flags.method.toUpperCase(),
    path: path.startsWith('/') ? path : `/${path}`,
    headers,
    ...(body === undefined ? {} : { body }),
    timeoutMs: parseDuration(flags.timeout, '--timeout'),
  };
}

/** `module version` for each module that served, in the lane's ones marked with `*`. */
export function servedLine(a: Pick<TryAnswer, 'routed' | 'served'>): string {
  const names = Object.keys(a.served).sort();
  if (names.length === 0) return '(the answer does not say: only services that report it do)';
  return names
    .map((m) => `${m} ${a.served[m]}${a.routed[m] === a.served[m] ? '*' : ''}`)
    .join(' · ');
}

export function formatTry(a: TryAnswer): string {
  const routed = Object.entries(a.routed).map(([m, v]) => `${m} ${v}`);
  const lines = [
    `${a.method} ${a.path} → HTTP ${a.status} in ${a.durationMs} ms, through lane ${a.lane} of ${a.product}`,
    `served   ${servedLine(a)}`,
    `lane     ${routed.length === 0 ? '(no overlay: stable)' : `${routed.join(', ')} (* above); other modules stable`}`,
    '',
    ...Object.entries(a.headers).map(([k, v]) => `${k}: ${v}`),
    '',
    a.body + (a.bodyTruncated ? '\n… (the body goes on; cut at 256 KiB)' : ''),
  ];
  return lines.join('\n');
}

export async function runRequest(
  product: string,
  path: string,
  flags: RequestFlags,
  io: Io,
): Promise<number> {
  const body = tryBody(path, flags);
  const client = createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });
  const answer = (await client.post(`/v1/products/${encodeURIComponent(product)}/try`, body, {
    // The API waits for the edge up to the try's own timeout: wait a little longer for the API.
    timeoutMs: body.timeoutMs + 5_000,
  })) as TryAnswer;
  emit(io, flags.json === true, answer, () => formatTry(answer));
  return answer.status < 400 ? 0 : 1;
}
