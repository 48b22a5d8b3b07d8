// What served a request, read from its answer as the example services report it (`service`,
// `version`, `lane` and the same for each of its `calls`): for `turnout load`, the demo's tour
// and "try it". Here, below both, so the control plane's try route and the demo share one reader.

interface Reply {
  service?: unknown;
  version?: unknown;
  lane?: unknown;
  calls?: unknown;
}

function versionsOf(reply: Reply, out: Record<string, string>, depth: number): void {
  if (typeof reply.service === 'string' && typeof reply.version === 'string')
    out[reply.service] = reply.version;
  // Bounded: a body is data from the network, and a deep one must not blow the stack.
  if (depth > 32 || !Array.isArray(reply.calls)) return;
  for (const c of reply.calls)
    if (typeof c === 'object' && c !== null) versionsOf(c as Reply, out, depth + 1);
}

/** The lane and versions an example service's JSON answer names; nothing for any other body. */
export function readReply(text: string): { lane: string | null; versions: Record<string, string> } {
  const versions: Record<string, string> = {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { lane: null, versions }; // not JSON: an error page from the proxy, or another service
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { lane: null, versions };
  const reply = body as Reply;
  versionsOf(reply, versions, 0);
  return { lane: typeof reply.lane === 'string' ? reply.lane : null, versions };
}
