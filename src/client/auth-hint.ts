// What a refused API call (401) adds to its message: how to authenticate, and which token was
// refused, so the next step is in the error rather than in the docs.

/** Where the token of a call came from; null: none was sent. */
export type TokenSource = '--token' | 'TURNOUT_TOKEN' | null;

export function authHint(source: TokenSource): string {
  const how =
    'pass the API token with --token <token> or TURNOUT_TOKEN; `turnout up` saved its admin token in <data>/admin-token (by default .turnout/admin-token)';
  return source === null
    ? `no token was sent: ${how}`
    : `the token from ${source} was refused: ${how}`;
}
