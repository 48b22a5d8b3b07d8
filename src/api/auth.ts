// Bearer-token auth for the API: each token has a name (the audit log's actor) and a role, ordered
// viewer < releaser < admin. Each route states the least role it needs in its `config.role`; a
// route that states none needs admin (fail closed). The `agent` role (a host's join token) stands
// outside that order: it reaches only routes marked `role: 'agent'` (which admins may call too)
// and the few viewer routes marked `agents: true` (the config stream its host's proxy reads), so
// a leaked join token can neither read the catalog nor change anything but its host's reports. `insecureLocal` (the embedded `up`) lets every
// request in as admin, and then only from loopback: listenApi refuses any other address.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TurnoutError } from '../errors.js';

export const ROLES = ['viewer', 'releaser', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** Every role a token may have: the ordered ones and `agent`, outside the order. */
export const TOKEN_ROLES = [...ROLES, 'agent'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface ApiToken {
  token: string;
  role: TokenRole;
  /** Recorded as the actor of every change made with this token. */
  name: string;
}

export type ApiAuth = { tokens: readonly ApiToken[] } | { insecureLocal: true };

/** Who is asking. */
export interface Principal {
  name: string;
  role: TokenRole;
}

/** The actor name used for unauthenticated local use. */
export const LOCAL_ACTOR = 'local';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The least role that may call the route; `public` needs no token; `agent`: agent tokens and
     * admins. Absent: admin.
     */
    role?: Role | 'agent' | 'public';
    /** A viewer route agent tokens may call too (the config stream). */
    agents?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The token's owner, comparing against every token in constant time (no early exit). */
function findToken(tokens: readonly { digest: Buffer; principal: Principal }[], given: string) {
  const d = digest(given);
  let found: Principal | null = null;
  for (const t of tokens) {
    if (timingSafeEqual(t.digest, d) && found === null) found = t.principal;
  }
  return found;
}

function bearerOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

export function isInsecureLocal(auth: ApiAuth): auth is { insecureLocal: true } {
  return 'insecureLocal' in auth && auth.insecureLocal === true;
}

/** Installs authentication and the per-route role check on `app` (before any route plugin). */
export function installAuth(app: FastifyInstance, auth: ApiAuth): void {
  app.decorateRequest('principal', null);
  const insecure = isInsecureLocal(auth);
  const tokens = insecure
    ? []
    : auth.tokens.map((t) => ({
        digest: digest(t.token),
        principal: { name: t.name, role: t.role },
      }));

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // An unknown route (is404) needs a valid token but no role: any caller then learns it is 404.
    const needed = request.is404 ? 'viewer' : (request.routeOptions.config.role ?? 'admin');
    if (needed === 'public') return;
    if (insecure) {
      // Defence in depth: listenApi binds loopback only, but the app may be listened elsewhere.
      if (!isLoopback(request.socket.remoteAddress)) {
        throw new TurnoutError('forbidden', 'insecure local mode answers loopback clients only');
      }
      request.principal = { name: LOCAL_ACTOR, role: 'admin' };
      return;
    }
    const bearer = bearerOf(request);
    const principal = bearer === null ? null : findToken(tokens, bearer);
    if (principal === null) {
      reply.header('www-authenticate', 'Bearer realm="turnout"');
      throw new TurnoutError(
        'unauthorized',
        bearer === null
          ? 'missing bearer token (Authorization: Bearer <token>)'
          : 'unknown bearer token',
      );
    }
    request.principal = principal;
    const refusal = roleRefusal(
      principal,
      needed,
      request.is404 || request.routeOptions.config.agents === true,
    );
    if (refusal !== null) {
      throw new TurnoutError(
        'forbidden',
        `${request.method} ${request.routeOptions.url} ${refusal}`,
      );
    }
  });
}

/**
 * Why `principal` may not call a route needing `needed` (null: it may). `agentsToo`: a viewer
 * route opened to agent tokens. Pure, so the whole table is tested without a server.
 */
export function roleRefusal(
  principal: Principal,
  needed: Role | 'agent',
  agentsToo: boolean,
): string | null {
  const has = `token ${principal.name} has role ${principal.role}`;
  if (principal.role === 'agent') {
    if (needed === 'agent' || agentsToo) return null;
    return `is not open to role agent (an agent token reaches only its host's agent routes and /v1/stream); ${has}`;
  }
  if (needed === 'agent') {
    return principal.role === 'admin' ? null : `needs role agent or admin; ${has}`;
  }
  if (ROLES.indexOf(principal.role) < ROLES.indexOf(needed)) return `needs role ${needed}; ${has}`;
  return null;
}

/** The actor for the audit log: the token's name. */
export function actorOf(request: FastifyRequest): string {
  if (request.principal === null) throw new TurnoutError('unauthorized', 'not authenticated');
  return request.principal.name;
}
