// `turnout apply` end to end: the real bin against a real `turnout up` (SQLite, free ports).
// Dry run, apply, a second apply that changes nothing, updates shown field by field, and errors
// that name file, document and field and leave the store as it was.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../support/build.js';
import type { RunningUp } from '../support/turnout-up.js';
import { freePort, runTurnout, startUp } from '../support/turnout-up.js';

const SHOP = join(ROOT, 'examples', 'shop.yaml');
const SHOP_DOCS = readFileSync(SHOP, 'utf8').split(/^---$/m).length;

describe('turnout apply', () => {
  let up: RunningUp;
  let dir: string;
  const apply = (...args: string[]) => runTurnout(['apply', '--server', up.server, ...args]);
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** Everything the catalog holds plus the audit log, read straight from the API. */
  const fingerprint = async () => ({
    audit: await up.get('/v1/audit?limit=1000'),
    modules: await up.get('/v1/modules?limit=1000'),
    products: await up.get('/v1/products?limit=1000'),
    orgs: await up.get('/v1/orgs?limit=1000'),
  });

  beforeAll(async () => {
    await ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'turnout-apply-'));
    up = await startUp({ insecure: true });
  }, 180_000);

  afterAll(async () => {
    await up?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('--dry-run on a fresh store lists every document as create and changes nothing', async () => {
    expect(SHOP_DOCS).toBe(19);
    const before = await fingerprint();
    const run = await apply('-f', SHOP, '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^create\s+org\/acme$/);
    expect(run.stdout).toMatch(/^create {2}module\/orders$/m);
    expect(lines.filter((l) => l.startsWith('create'))).toHaveLength(SHOP_DOCS);
    expect(lines.at(-1)).toBe(
      `dry run: ${SHOP_DOCS} to create, 0 to update, 0 unchanged; nothing was changed`,
    );
    expect(await fingerprint()).toEqual(before);
  });

  it('applies examples/shop.yaml, then a second apply changes nothing and says so', async () => {
    const first = await apply('-f', SHOP);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^created\s+version\/web@2\.0\.0$/m);
    expect(first.stdout.trim().split('\n').at(-1)).toBe(
      `applied: ${SHOP_DOCS} created, 0 updated, 0 unchanged`,
    );
    const products = (await up.get('/v1/products')) as { items: { name: string }[] };
    expect(products.items.map((p) => p.name)).toEqual(['admin', 'shop']);

    const before = await fingerprint();
    const second = await apply('-f', SHOP);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim().split('\n').at(-1)).toBe(`no changes: ${SHOP_DOCS} unchanged`);
    expect(await fingerprint()).toEqual(before);
  });

  it('several files (and stdin) make one apply; a dry run shows each changed field', async () => {
    const shop = readFileSync(SHOP, 'utf8');
    const changed = shop
      .replace('hosts: [shop.localhost]', 'hosts: [shop.localhost, www.shop.localhost]')
      .replace('calls: [orders, catalog]', 'calls: [orders]');
    const [head, ...rest] = changed.split(/^---$/m);
    const a = file('a.yaml', `${head}---${rest.slice(0, 5).join('---')}`);
    const before = await fingerprint();
    const run = await runTurnout(
      ['apply', '--server', up.server, '-f', a, '-f', '-', '--dry-run', '--json'],
      { input: rest.slice(5).join('---') },
    );
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout);
    expect(answer.counts).toEqual({ create: 0, update: 2, unchanged: SHOP_DOCS - 2, prune: 0 });
    const updates = answer.actions.filter((x: { action: string }) => x.action === 'update');
    expect(updates).toEqual([
      {
        kind: 'Module',
        name: 'web',
        action: 'update',
        changes: [{ field: 'calls', before: ['orders', 'catalog'], after: ['orders'] }],
        file: a,
        document: 5,
      },
      {
        kind: 'Product',
        name: 'shop',
        action: 'update',
        changes: [
          {
            field: 'hosts',
            before: ['shop.localhost'],
            after: ['shop.localhost', 'www.shop.localhost'],
          },
        ],
        file: '-',
        document: 1,
      },
    ]);
    expect(await fingerprint()).toEqual(before);

    const text = await apply('-f', file('all.yaml', changed), '--dry-run');
    expect(text.stdout).toMatch(/^update {5}product\/shop\n {13}hosts: /m);
    expect(text.stdout).toContain(
      'hosts: ["shop.localhost"] → ["shop.localhost","www.shop.localhost"]',
    );
    expect(text.stdout).toContain('calls: ["orders","catalog"] → ["orders"]');
  });

  it('--prune deletes what the files no longer name, in their org; its dry run deletes nothing', async () => {
    const full = [
      'kind: Org\nname: beta',
      'kind: Module\nname: front\norg: beta\nrun: { process: { command: node } }',
      'kind: Module\nname: legacy\norg: beta\nrun: { process: { command: node } }',
      'kind: Product\nname: front\norg: beta\nentry: front\nhosts: [front.localhost]',
      'kind: Lane\nproduct: front\nname: qa',
    ];
    expect((await apply('-f', file('beta.yaml', full.join('\n---\n')))).code).toBe(0);
    const trimmed = file(
      'beta.yaml',
      full
        .slice(0, 2)
        .concat(full[3] ?? '')
        .join('\n---\n'),
    );
    const before = await fingerprint();
    const dry = await apply('-f', trimmed, '--prune', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^prune {6}lane\/front\/qa$/m);
    expect(dry.stdout).toMatch(/^prune {6}module\/legacy$/m);
    expect(dry.stdout.trim().split('\n').at(-1)).toBe(
      'dry run: 0 to create, 0 to update, 3 unchanged, 2 to prune; nothing was changed',
    );
    expect(await fingerprint()).toEqual(before);

    const acme = await up.get('/v1/modules?org=acme');
    const real = await apply('-f', trimmed, '--prune', '--json');
    expect(real.code, real.stderr).toBe(0);
    const answer = JSON.parse(real.stdout);
    expect(answer.counts).toEqual({ create: 0, update: 0, unchanged: 3, prune: 2 });
    expect(answer.actions.slice(3)).toEqual([
      { kind: 'Lane', name: 'front/qa', action: 'prune', changes: [] },
      { kind: 'Module', name: 'legacy', action: 'prune', changes: [] },
    ]);
    const modules = (await up.get('/v1/modules?org=beta')) as { items: { name: string }[] };
    expect(modules.items.map((m) => m.name)).toEqual(['front']);
    // Org acme's modules (examples/shop.yaml) were outside the files' scope: all still there.
    expect(await up.get('/v1/modules?org=acme')).toEqual(acme);

    const again = await apply('-f', trimmed, '--prune');
    expect(again.stdout.trim().split('\n').at(-1)).toBe('no changes: 3 unchanged, 0 pruned');
  });

  describe('errors name file, document and field, exit 2, and change nothing', () => {
    const bad = `kind: Org
name: other
---
# a comment-only document still counts as document 2
---
kind: Module
name: orders2
org: other
calls:
  - acount
run: { process: { command: node } }
`;
    const cases: { name: string; text: string; stderr: string; json?: object }[] = [
      {
        name: 'a call to a module that does not exist',
        text: bad,
        stderr:
          'bad.yaml:10: document 3 (module orders2): calls[0]: module "orders2" calls unknown module "acount"',
        json: { code: 'invalid_config', field: 'calls[0]', document: 3, line: 10 },
      },
      {
        name: 'an unknown field, at its own line',
        text: 'kind: Org\nname: x\n---\nkind: Product\nname: p\norg: x\nentry: web\ncolour: red\n',
        stderr: 'bad.yaml:8: document 2 (product p): colour: is not a known field',
        json: { code: 'invalid_argument', field: 'colour', document: 2, line: 8 },
      },
      {
        name: 'a required field left out, at the document',
        text: 'kind: Module\nname: m\norg: acme\n',
        stderr: 'bad.yaml:1: document 1 (module m): run: is required',
      },
      {
        name: 'an unknown field is reported before a missing one',
        text: 'kind: Module\nname: m\norg: acme\nrn: { process: { command: node } }\n',
        stderr: 'bad.yaml:4: document 1 (module m): rn: is not a known field',
      },
      {
        name: 'an unknown kind',
        text: 'kind: Service\nname: x\n',
        stderr:
          'bad.yaml:1: document 1 (service x): kind: must be one of Org, Module, Version, Product, Lane',
      },
      {
        name: 'a version changed after it was created',
        text: 'kind: Version\nmodule: web\nversion: 1.0.0\nrun: { process: { args: [x] } }\n',
        stderr:
          'bad.yaml:4: document 1 (version web@1.0.0): run: version web@1.0.0 already exists with a different run',
      },
      {
        name: 'invalid YAML',
        text: 'kind: Org\nname: [x\n',
        stderr:
          'bad.yaml:3:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const path = file('bad.yaml', c.text);
        const before = await fingerprint();
        const run = await runTurnout(['apply', '--server', up.server, '-f', path], {});
        expect(run.code, run.stderr).toBe(2);
        expect(run.stdout).toBe('');
        expect(run.stderr).toContain(`turnout: ${c.stderr.replace('bad.yaml', path)}`);
        if (c.json !== undefined) {
          const json = await runTurnout(['apply', '--server', up.server, '-f', path, '--json']);
          expect(json.code).toBe(2);
          expect(JSON.parse(json.stderr).error).toMatchObject({ ...c.json, file: path });
        }
        expect(await fingerprint()).toEqual(before);
      });
    }

    it('no file at all', async () => {
      const run = await apply();
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('apply needs at least one -f FILE');
    });

    it('a missing file', async () => {
      const run = await apply('-f', join(dir, 'nope.yaml'));
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(`cannot read ${join(dir, 'nope.yaml')}: ENOENT`);
    });
  });

  it('a server that is down: exit 1 and a helpful message', async () => {
    const port = await freePort();
    const run = await runTurnout(['apply', '-f', SHOP], {
      env: { TURNOUT_SERVER: `http://127.0.0.1:${port}` },
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot reach the Turnout API at http://127.0.0.1:${port}: connection refused — is \`turnout up\` running?`,
    );
  });
});

describe('turnout apply with tokens', () => {
  let up: RunningUp;
  beforeAll(async () => {
    await ensureBuilt();
    up = await startUp({ insecure: false });
  }, 180_000);
  afterAll(async () => {
    await up?.stop();
  }, 60_000);

  it('takes --server/--token or TURNOUT_SERVER/TURNOUT_TOKEN; without a token it is refused', async () => {
    const denied = await runTurnout(['apply', '-f', SHOP, '--server', up.server]);
    expect(denied.code).toBe(2);
    expect(denied.stderr).toContain('unauthorized: ');
    expect(((await up.get('/v1/orgs')) as { items: unknown[] }).items).toEqual([]);

    const env = { TURNOUT_SERVER: up.server, TURNOUT_TOKEN: up.token ?? '' };
    const applied = await runTurnout(['apply', '-f', SHOP, '--json'], { env });
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout).counts.create).toBe(SHOP_DOCS);
    const again = await runTurnout([
      'apply',
      '-f',
      SHOP,
      '--server',
      up.server,
      '--token',
      up.token ?? '',
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`no changes: ${SHOP_DOCS} unchanged`);
    const audit = (await up.get('/v1/audit?limit=1000')) as {
      items: { actor: string; action: string }[];
    };
    // Up's own agent registers its host with the data dir's join token (host.register by `join`);
    // everything else, all that apply wrote, is the admin token's.
    const byHost = audit.items.filter((e) => e.action.startsWith('host.'));
    expect(new Set(byHost.map((e) => e.actor))).toEqual(new Set(['join']));
    const rest = audit.items.filter((e) => !e.action.startsWith('host.'));
    expect(new Set(rest.map((e) => e.actor))).toEqual(new Set(['admin']));
  });
});
