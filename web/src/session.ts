// Who is signed in: the token (sessionStorage) and what /v1/whoami says about it. Releasing
// needs role releaser or more; the UI disables release buttons for viewers and says why.

import { createContext, useContext } from 'react';
import type { Role, Whoami } from './api';

export interface Session {
  who: Whoami;
  /** Whether a token was given (false: the API lets anyone in, as in the embedded demo). */
  withToken: boolean;
  signOut: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (s === null) throw new Error('useSession outside a signed-in app');
  return s;
}

const RANK: Record<Role, number> = { viewer: 0, releaser: 1, admin: 2 };

/** Why this session may not release, or null when it may. */
export function releaseRefusal(who: Whoami): string | null {
  return RANK[who.role] >= RANK.releaser
    ? null
    : `Signed in as ${who.name} with role ${who.role}: releasing needs role releaser or admin.`;
}
