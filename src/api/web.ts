// The dashboard's files (the Vite build in dist/web) at `/`, on the API's own port, no token needed
// (role `public`): the page signs in with an API token itself and then calls /v1 like any client.
//
// - A file under the root is served as is. Vite names everything under `assets/` after its content
//   hash, so those are `immutable` for a year; anything else (index.html, favicon…) is `no-cache`,
//   i.e. revalidated by ETag on each use, so a new build shows at the next load.
// - Any other GET is the single-page app's own route (`/tickets/3`): index.html, `no-cache`. A
//   missing file that a script or stylesheet asked for (its last segment has an extension and the
//   request does not accept text/html) answers 404 instead: HTML in place of a stale chunk would
//   only fail later, with a confusing MIME error.
// - Without index.html in the root (the UI was never built), every such GET answers a small page
//   that says so.
// - `/v1`, `/v1/…` and `/openapi.json` are never served from here: unknown /v1 paths still need a
//   token and answer the API's JSON not_found.

import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** dist/web of this package (this file is src/api/web.ts or dist/api/web.js: both two levels down). */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/** Whether the dashboard is built (the server then serves it rather than the not-built page). */
export function dashboardBuilt(root: string = DEFAULT_WEB_ROOT): boolean {
  return existsSync(join(root, 'index.html'));
}

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

export interface WebPluginOptions {
  /** The built dashboard's directory (index.html and assets/). */
  root: string;
}

export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Turnout — dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This control plane answers its API under <a href="/v1/orgs">/v1</a> (document:
<a href="/openapi.json">/openapi.json</a>), but the dashboard's files are missing.</p>
<p>Build them with <code>npm run build</code>, then reload this page.</p>
</body>
</html>
`;

function isApiPath(path: string): boolean {
  return path === '/v1' || path.startsWith('/v1/') || path === '/openapi.json';
}

/** The file a URL path names under root, or null when it names none (or escapes root). */
async function fileUnder(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.split('/').some((s) => s.startsWith('.'))) return null;
  const full = resolve(root, `.${decoded}`);
  if (!full.startsWith(root.endsWith(sep) ? root : `${root}${sep}`)) return null;
  const info = await stat(full).catch(() => null);
  return info?.isFile() === true ? full.slice(root.length).replace(/^[/\\]+/, '') : null;
}

function wantsAsset(request: FastifyRequest, urlPath: string): boolean {
  const last = urlPath.slice(urlPath.lastIndexOf('/') + 1);
  const accept = request.headers.accept ?? '';
  return /\.[A-Za-z0-9]+$/.test(last) && !accept.includes('text/html');
}

export const webPlugin: FastifyPluginAsync<WebPluginOptions> = async (app, options) => {
  const root = resolve(options.root);
  // Only the reply.sendFile decorator: the route below decides what each path is.
  await app.register(fastifyStatic, { root, serve: false });

  const send = (reply: FastifyReply, file: string, cacheControl: string) =>
    reply.header('cache-control', cacheControl).sendFile(file, root, { cacheControl: false });

  // Unknown /v1 paths: a token is needed (viewer), then the API's JSON 404. Without these routes
  // the `/*` below would take them, unauthenticated.
  const apiNotFound = async (_request: FastifyRequest, reply: FastifyReply) => reply.callNotFound();
  for (const url of ['/v1', '/v1/*']) {
    app.get(url, { config: { role: 'viewer' }, schema: { hide: true } }, apiNotFound);
  }

  app.get('/*', { config: { role: 'public' }, schema: { hide: true } }, async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (isApiPath(urlPath)) return reply.callNotFound();
    const file = urlPath === '/' ? null : await fileUnder(root, urlPath);
    if (file !== null) {
      return send(reply, file, file.startsWith('assets/') ? IMMUTABLE : REVALIDATE);
    }
    if (wantsAsset(request, urlPath)) return reply.callNotFound();
    if ((await fileUnder(root, '/index.html')) === null) {
      return reply
        .header('cache-control', REVALIDATE)
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT_PAGE);
    }
    return send(reply, 'index.html', REVALIDATE);
  });
};
