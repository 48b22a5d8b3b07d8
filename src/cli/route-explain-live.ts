// `turnout route explain` without --config: the same explanation, asked of the API (POST
// /v1/explain) against the routing snapshot the control plane publishes now — what the proxies run.

import { createApiClient } from '../client/api-client.js';
import type { Explanation } from '../routing/explain.js';
import { renderExplanation } from '../routing/explain-text.js';
import type { Io } from './io.js';
import { emit } from './io.js';
import { parseHeaderFlags, ruleLine } from './route-commands.js';

interface LiveOpts {
  product: string;
  lane?: string;
  header: string[];
  query?: string;
  clientIp: string;
  server?: string;
  token?: string;
  ca?: string;
  json?: boolean;
}

interface Rule {
  index: number;
  lane: string;
  rule: string;
  matched: boolean;
  reason: string;
}

interface Answer {
  snapshotVersion: number;
  product: string;
  name: string;
  lane: { lane: string | null; reason: string; known: boolean; rules: Rule[] };
  dtab: string[];
  explanation: Explanation;
  result: {
    state: 'ok' | 'pending' | 'failed';
    tree?: string;
    addresses?: string[] | null;
    error?: { message?: string };
  };
}

/** The answer's result in words, as describeBind says it for a local explanation. */
function resultText(r: Answer['result']): { text: string; routed: boolean } {
  if (r.state === 'failed')
    return { text: `failed: ${r.error?.message ?? 'unknown'}`, routed: false };
  if (r.state === 'pending') return { text: 'pending: endpoints not known yet', routed: false };
  if (r.addresses === null || r.addresses === undefined)
    return { text: `${r.tree ?? ''}  (no destination)`, routed: false };
  const addrs = r.addresses.length === 0 ? '(none)' : r.addresses.join(', ');
  return { text: `${r.tree ?? ''}\naddresses: ${addrs}`, routed: true };
}

/** Exit code: 0 when the name routes to a destination, 1 when not (as with --config). */
export async function explainLive(name: string, opts: LiveOpts, io: Io): Promise<number> {
  const client = createApiClient({ server: opts.server, token: opts.token, caFile: opts.ca });
  const body = {
    product: opts.product,
    path: '/',
    name,
    headers: parseHeaderFlags(opts.header),
    clientIp: opts.clientIp,
    ...(opts.query === undefined ? {} : { query: opts.query }),
    ...(opts.lane === undefined ? {} : { lane: opts.lane }),
  };
  const a = (await client.post('/v1/explain', body)) as Answer;
  const described = resultText(a.result);
  const laneNote = a.lane.known
    ? ''
    : ` (product ${a.product} has no lane ${a.lane.lane}: routed on stable)`;
  emit(io, opts.json === true, a, () =>
    [
      `product  ${a.product} (live snapshot version ${a.snapshotVersion}, ${client.server})`,
      `lane     ${a.lane.lane ?? 'stable'} — ${a.lane.reason}${laneNote}`,
      ...a.lane.rules.map(ruleLine),
      'dtab',
      ...a.dtab.map((d, i) => `  ${String(i + 1).padStart(3)}  ${d}`),
      'delegation',
      renderExplanation(a.explanation).replace(/^/gm, '  '),
      `result   ${described.text}`,
    ].join('\n'),
  );
  return described.routed ? 0 : 1;
}
