// What a refused API call (401) adds to its message: how to authenticate, and which token was
// refused, so the next step is in the error rather than in the docs.

/** Where the token of a call came from; null: none was sent. */
export type TokenSource = '--token' | 'TURNOUT_TOKEN' | null;

/** Which token was refused (or that none was sent), then what to do. */
function refused(source: TokenSource, how: string): string {
  return source === null
    ? `no token was sent: ${how}`
    : `the token from ${source} was refused: ${how}`;
}

export function authHint(source: TokenSource): string {
  return refused(
    source,
    'pass the API token with --token <token> or TURNOUT_TOKEN; `turnout up` and `turnout server` save their admin token in <data>/admin-token (by default .turnout/admin-token; `turnout server token admin` prints it)',
  );
}

/** The same for an agent's calls: what it needs is a join token, not the admin one. */
export function agentAuthHint(source: TokenSource): string {
  return refused(
    source,
    'an agent needs a join token — `turnout server token join` on the server prints it',
  );
}
