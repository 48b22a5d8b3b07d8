// The API server serving the dashboard's files, in real headless Chromium: a tiny fake build (an
// index.html and one hashed script under assets/) stands in for dist/web, so this tests the
// serving — rendering, SPA routes, cache headers, the not-built page, /v1 untouched — and not the
// UI itself (that is test/web/*.e2e.test.ts).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Api } from '../api/harness.js';
import { startApi, TOKENS } from '../api/harness.js';
import type { Browser } from './browser.js';
import { launchBrowser } from './browser.js';

const SCRIPT = 'assets/app-3f9a1c2b.js';
const INDEX = `<!doctype html>
<html><head><meta charset="utf-8"><title>fake dashboard</title>
<script type="module" src="/${SCRIPT}"></script></head>
<body><main id="root">not rendered</main></body></html>
`;
// Renders the route it was loaded at, as a router would.
const APP = `document.getElementById('root').textContent = 'rendered ' + location.pathname;\n`;

let dirs: string[] = [];
let browser: Browser;
let built: Api;
let unbuilt: Api;

beforeAll(async () => {
  const web = mkdtempSync(join(tmpdir(), 'turnout-web-'));
  mkdirSync(join(web, 'assets'));
  writeFileSync(join(web, 'index.html'), INDEX);
  writeFileSync(join(web, SCRIPT), APP);
  writeFileSync(join(web, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  const empty = mkdtempSync(join(tmpdir(), 'turnout-web-empty-'));
  dirs = [web, empty];
  [built, unbuilt, browser] = await Promise.all([
    startApi({ webRoot: web }),
    startApi({ webRoot: empty }),
    launchBrowser(),
  ]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await built?.close();
  await unbuilt?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the dashboard at /', () => {
  it('renders in Chromium: index.html no-cache, the hashed script immutable', async () => {
    const page = await browser.newPage();
    try {
      const script = page.waitForResponse((r) => r.url().endsWith(SCRIPT));
      const res = await page.goto(`${built.url}/`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-type']).toMatch(/^text\/html/);
      expect(res?.headers()['cache-control']).toBe('no-cache');
      const js = await script;
      expect(js.status()).toBe(200);
      expect(js.headers()['content-type']).toMatch(/javascript/);
      expect(js.headers()['cache-control']).toBe('public, max-age=31536000, immutable');
      await expect.poll(() => page.locator('#root').textContent()).toBe('rendered /');
      expect(await page.title()).toBe('fake dashboard');
    } finally {
      await page.close();
    }
  });

  it('answers index.html for an app route (/tickets/3), which then renders that route', async () => {
    const page = await browser.newPage();
    try {
      const res = await page.goto(`${built.url}/tickets/3`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['cache-control']).toBe('no-cache');
      await expect.poll(() => page.locator('#root').textContent()).toBe('rendered /tickets/3');
    } finally {
      await page.close();
    }
  });

  it('serves other files revalidated, and a missing asset as 404 rather than HTML', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${built.url}/`);
      const answers = await page.evaluate(async () => {
        const get = async (path: string) => {
          const r = await fetch(path);
          return {
            status: r.status,
            type: r.headers.get('content-type'),
            cache: r.headers.get('cache-control'),
          };
        };
        return { favicon: await get('/favicon.svg'), missing: await get('/assets/app-gone.js') };
      });
      expect(answers.favicon).toMatchObject({ status: 200, cache: 'no-cache' });
      expect(answers.favicon.type).toMatch(/^image\/svg\+xml/);
      expect(answers.missing.status).toBe(404);
      expect(answers.missing.type).toMatch(/^application\/json/);
    } finally {
      await page.close();
    }
  });

  it('leaves the API alone: /v1 answers JSON (with a token, and 401 without), /openapi.json too', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${built.url}/`);
      const answers = await page.evaluate(async (token) => {
        const get = async (path: string, auth: boolean) => {
          const r = await fetch(
            path,
            auth ? { headers: { authorization: `Bearer ${token}` } } : {},
          );
          // biome-ignore lint/suspicious/noExplicitAny: assertions read arbitrary JSON
          const body: any = await r.json();
          return { status: r.status, type: r.headers.get('content-type'), body };
        };
        return {
          orgs: await get('/v1/orgs', true),
          anonymous: await get('/v1/orgs', false),
          unknown: await get('/v1/nothing-here', true),
          unknownAnonymous: await get('/v1/nothing-here', false),
          openapi: await get('/openapi.json', false),
        };
      }, TOKENS.viewer);
      expect(answers.orgs).toMatchObject({ status: 200, body: { items: [], nextCursor: null } });
      expect(answers.orgs.type).toMatch(/^application\/json/);
      expect(answers.anonymous).toMatchObject({
        status: 401,
        body: { error: { code: 'unauthorized' } },
      });
      expect(answers.unknown).toMatchObject({
        status: 404,
        body: { error: { code: 'not_found' } },
      });
      expect(answers.unknownAnonymous.status).toBe(401);
      expect(answers.openapi.status).toBe(200);
      expect(answers.openapi.body.openapi).toMatch(/^3\./);
    } finally {
      await page.close();
    }
  });

  it('says the dashboard is not built (run npm run build) when there is no index.html', async () => {
    const page = await browser.newPage();
    try {
      for (const path of ['/', '/tickets/3']) {
        const res = await page.goto(`${unbuilt.url}${path}`);
        expect(res?.status()).toBe(200);
        expect(res?.headers()['cache-control']).toBe('no-cache');
        await expect(page.locator('h1').textContent()).resolves.toBe('The dashboard is not built');
        expect(await page.locator('body').textContent()).toContain('npm run build');
      }
      const orgs = await unbuilt.call('GET', '/v1/orgs', { as: 'viewer' });
      expect(orgs.status).toBe(200);
    } finally {
      await page.close();
    }
  });
});
