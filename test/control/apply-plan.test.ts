// planApply, table-driven: what each document becomes (create / update with fields / unchanged),
// the execution order, and every problem named by document and field.

import { describe, expect, it } from 'vitest';
import type { ApplyDocumentInput } from '../../src/control/apply-documents.js';
import { applyDocumentSchema, completeDocument } from '../../src/control/apply-documents.js';
import type { CatalogState } from '../../src/control/apply-plan.js';
import { diff, planApply } from '../../src/control/apply-plan.js';
import { TurnoutError } from '../../src/errors.js';
import type { Lane, Module, Org, Product, Version } from '../../src/store/model.js';

const T = '2026-01-01T00:00:00.000Z';
const proc = (command = 'node', env: Record<string, string> = {}) => ({
  process: { command, env },
});

const parse = (docs: ApplyDocumentInput[]) => docs.map((d) => applyDocumentSchema.parse(d));

/** A stored catalog built from documents, as the store would hold them (defaults applied). */
function stored(docs: ApplyDocumentInput[]): CatalogState {
  const state = {
    orgs: new Map<string, Org>(),
    modules: new Map<string, Module>(),
    versions: new Map<string, Version>(),
    products: new Map<string, Product>(),
    lanes: new Map<string, Lane>(),
  };
  for (const doc of parse(docs).map((d) => completeDocument(d, undefined))) {
    const { kind: _k, ...d } = doc;
    const stamps = { createdAt: T, updatedAt: T };
    if (doc.kind === 'Org') state.orgs.set(doc.name, { name: doc.name, createdAt: T });
    if (doc.kind === 'Module') state.modules.set(doc.name, { ...(d as typeof doc), ...stamps });
    if (doc.kind === 'Product') state.products.set(doc.name, { ...(d as typeof doc), ...stamps });
    if (doc.kind === 'Version')
      state.versions.set(`${doc.module}@${doc.version}`, { ...(d as typeof doc), createdAt: T });
    if (doc.kind === 'Lane')
      state.lanes.set(`${doc.product}/${doc.name}`, { ...(d as typeof doc), ...stamps });
  }
  return state;
}

const EMPTY = stored([]);

const acme: ApplyDocumentInput = { kind: 'Org', name: 'acme' };
const mod = (name: string, calls: string[] = [], run = proc()): ApplyDocumentInput => ({
  kind: 'Module',
  name,
  org: 'acme',
  calls,
  run,
});
const shop: ApplyDocumentInput = {
  kind: 'Product',
  name: 'shop',
  org: 'acme',
  entry: 'web',
  hosts: ['shop.localhost'],
};
const version = (module: string, v: string, run: unknown = null): ApplyDocumentInput =>
  ({ kind: 'Version', module, version: v, run }) as ApplyDocumentInput;
const lane = (rules: unknown[] = []): ApplyDocumentInput =>
  ({ kind: 'Lane', product: 'shop', name: 'dev', overlay: '', rules }) as ApplyDocumentInput;

/** The shop catalog, deliberately in an order where documents refer to later ones. */
const SHOP: ApplyDocumentInput[] = [
  lane(),
  shop,
  version('web', '1.0.0'),
  mod('web', ['orders', 'catalog']),
  mod('orders', ['account']),
  mod('catalog'),
  mod('account'),
  acme,
];

function plan(docs: ApplyDocumentInput[], state = EMPTY) {
  return planApply(parse(docs), state);
}

function actions(docs: ApplyDocumentInput[], state = EMPTY) {
  return Object.fromEntries(
    plan(docs, state)
      .steps.sort((a, b) => a.index - b.index)
      .map((s) => [`${s.kind}/${s.name}`, s.action]),
  );
}

describe('planApply: create, update, unchanged', () => {
  it('everything is created in an empty store', () => {
    expect(Object.values(actions(SHOP))).toEqual(Array(SHOP.length).fill('create'));
  });

  it('the same documents against the store they produced are all unchanged', () => {
    expect(Object.values(actions(SHOP, stored(SHOP)))).toEqual(
      Array(SHOP.length).fill('unchanged'),
    );
  });

  const updates: {
    name: string;
    before: ApplyDocumentInput[];
    doc: ApplyDocumentInput;
    changes: unknown[];
  }[] = [
    {
      name: 'a product host list, compared whole',
      before: [acme, mod('web'), shop],
      doc: { ...shop, hosts: ['shop.localhost', 'www.shop.localhost'] } as ApplyDocumentInput,
      changes: [
        {
          field: 'hosts',
          before: ['shop.localhost'],
          after: ['shop.localhost', 'www.shop.localhost'],
        },
      ],
    },
    {
      name: 'a field written out is replaced, even by its default value',
      before: [acme, mod('web'), { ...shop, retainTickets: 9 } as ApplyDocumentInput],
      doc: { ...shop, retainTickets: 5 } as ApplyDocumentInput,
      changes: [{ field: 'retainTickets', before: 9, after: 5 }],
    },
    {
      name: 'a field written as empty is emptied',
      before: [acme, mod('account'), mod('web', ['account'])],
      doc: mod('web', []),
      changes: [{ field: 'calls', before: ['account'], after: [] }],
    },
    {
      name: 'nested fields are named to the leaf; a key only on one side has only that side',
      before: [acme, mod('web', [], proc('node', { A: '1', B: '2' }))],
      doc: mod('web', [], proc('node', { A: '3', C: '4' })),
      changes: [
        { field: 'run.process.env.A', before: '1', after: '3' },
        { field: 'run.process.env.C', after: '4' },
        { field: 'run.process.env.B', before: '2' },
      ],
    },
    {
      name: "a module's calls",
      before: [acme, mod('account'), mod('web')],
      doc: mod('web', ['account']),
      changes: [{ field: 'calls', before: [], after: ['account'] }],
    },
    {
      name: "a lane's rules",
      before: [acme, mod('web'), shop, lane()],
      doc: lane([{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }]),
      changes: [
        {
          field: 'rules',
          before: [],
          after: [{ lane: 'dev', header: { name: 'x-dev', equals: '1' } }],
        },
      ],
    },
  ];
  for (const c of updates) {
    it(`update: ${c.name}`, () => {
      const [step] = plan([c.doc], stored(c.before)).steps;
      expect(step).toMatchObject({ action: 'update', changes: c.changes });
    });
  }

  it('a field left out that no apply set keeps its stored value (a promoted base dtab survives)', () => {
    const promoted = { ...shop, baseDtab: '/svc/web => /v/web/2.0.0;', retainTickets: 9 };
    const state = stored([acme, mod('web'), promoted as ApplyDocumentInput]);
    const [step] = plan([shop], state).steps;
    expect(step).toMatchObject({ action: 'unchanged', changes: [] });
    expect(step?.object).toMatchObject({ baseDtab: '/svc/web => /v/web/2.0.0;', retainTickets: 9 });
  });

  it('a field left out that the last apply set returns to its default; the others are kept', () => {
    const promoted = { ...shop, baseDtab: '/svc/web => /v/web/2.0.0;', retainTickets: 9 };
    const state = stored([acme, mod('web'), promoted as ApplyDocumentInput]);
    const lastApplied = ['entry', 'hosts', 'name', 'org', 'retainTickets'];
    const [step] = plan([shop], {
      ...state,
      applied: new Map([['Product/shop', lastApplied]]),
    }).steps;
    expect(step).toMatchObject({
      action: 'update',
      changes: [{ field: 'retainTickets', before: 9, after: 5 }],
    });
    expect(step?.object).toMatchObject({ baseDtab: '/svc/web => /v/web/2.0.0;', retainTickets: 5 });
  });

  it('on create, a field left out takes the store default', () => {
    const [, , step] = plan([acme, mod('web'), shop]).steps;
    expect(step?.object).toMatchObject({ kind: 'Product', retainTickets: 5, baseDtab: '' });
  });

  it('an org that exists is unchanged (orgs have nothing to update)', () => {
    expect(actions([acme], stored([acme]))).toEqual({ 'Org/acme': 'unchanged' });
  });

  it('a version with identical content is unchanged, a new one is created', () => {
    const before = [acme, mod('web'), version('web', '1.0.0', { process: { args: ['x'] } })];
    expect(
      actions(
        [version('web', '1.0.0', { process: { args: ['x'] } }), version('web', '2.0.0')],
        stored(before),
      ),
    ).toEqual({ 'Version/web@1.0.0': 'unchanged', 'Version/web@2.0.0': 'create' });
  });
});

describe('planApply: execution order', () => {
  const order = (docs: ApplyDocumentInput[], state = EMPTY) =>
    plan(docs, state).steps.map((s) => `${s.kind}/${s.name}`);

  it('orgs, then modules callees first, then versions, products, lanes', () => {
    expect(order(SHOP)).toEqual([
      'Org/acme',
      'Module/account',
      'Module/orders',
      'Module/catalog',
      'Module/web',
      'Version/web@1.0.0',
      'Product/shop',
      'Lane/shop/dev',
    ]);
  });

  it('an update that reverses an existing call runs after the module it now calls', () => {
    // Stored: a → b. Applied: b → a, a → nothing. Updating b first would close a cycle.
    const state = stored([acme, mod('b'), mod('a', ['b'])]);
    expect(order([mod('b', ['a']), mod('a')], state)).toEqual(['Module/a', 'Module/b']);
  });

  it('orders through modules outside the apply too', () => {
    // Stored x → y; applied: y → z (new), w → x. z must come before y and y before w.
    const state = stored([acme, mod('y'), mod('x', ['y'])]);
    expect(order([mod('w', ['x']), mod('y', ['z']), mod('z')], state)).toEqual([
      'Module/z',
      'Module/y',
      'Module/w',
    ]);
  });
});

describe('planApply: problems name the document and the field', () => {
  const cases: {
    name: string;
    docs: ApplyDocumentInput[];
    state?: ApplyDocumentInput[];
    field: string;
    message: RegExp;
    code?: string;
  }[] = [
    {
      name: 'a call to a module that exists nowhere',
      docs: [acme, mod('account'), mod('orders', ['acount'])],
      field: 'documents[2].calls[0]',
      message: /^documents\[2\]\.calls\[0\]: module "orders" calls unknown module "acount"$/,
    },
    {
      name: 'an org that exists nowhere',
      docs: [mod('web')],
      field: 'documents[0].org',
      message: /unknown org "acme"/,
    },
    {
      name: 'an entry module that exists nowhere',
      docs: [acme, shop],
      field: 'documents[1].entry',
      message: /unknown module "web"/,
    },
    {
      name: 'a lane of a product that exists nowhere',
      docs: [lane()],
      field: 'documents[0].product',
      message: /unknown product "shop"/,
    },
    {
      name: 'a lane rule that assigns another lane',
      docs: [acme, mod('web'), shop, lane([{ lane: 'other', header: { name: 'x', equals: '1' } }])],
      field: 'documents[3].rules[0].lane',
      message: /assigns lane "other"/,
    },
    {
      name: 'the same object twice',
      docs: [acme, mod('web'), mod('web', ['web'])],
      field: 'documents[2].name',
      message: /module web is also document 2/,
    },
    {
      name: 'the same version twice',
      docs: [acme, mod('web'), version('web', '1.0.0'), version('web', '1.0.0')],
      field: 'documents[3].version',
      message: /version web@1.0.0 is also document 3/,
    },
    {
      name: 'a cycle among new modules, reported at the first of them',
      docs: [acme, mod('c'), mod('a', ['b']), mod('b', ['a'])],
      field: 'documents[2].calls',
      message: /dependency cycle a → b → a/,
    },
    {
      name: 'a cycle closed through a stored module',
      state: [acme, mod('a'), mod('b', ['a'])],
      docs: [mod('a', ['b'])],
      field: 'documents[0].calls',
      message: /dependency cycle a → b → a/,
    },
    {
      name: 'a cycle through stored calls that a document leaves out (they are kept)',
      state: [acme, mod('a'), mod('b', ['a'])],
      docs: [{ kind: 'Module', name: 'b', org: 'acme', run: proc() }, mod('a', ['b'])],
      field: 'documents[0].calls',
      message: /dependency cycle b → a → b/,
    },
    {
      name: 'a version of a module that exists nowhere',
      docs: [version('ghost', '1.0.0')],
      field: 'documents[0].module',
      message: /unknown module "ghost"/,
    },
    {
      name: 'a version changed after creation',
      state: [acme, mod('web'), version('web', '1.0.0', { process: { args: ['a'] } })],
      docs: [version('web', '1.0.0', { process: { args: ['b'] } })],
      field: 'documents[0].run',
      code: 'invalid_argument',
      message: /already exists with a different run; versions are immutable/,
    },
    {
      name: "a version overriding another runtime than its module's",
      docs: [acme, mod('web'), version('web', '1.0.0', { kubernetes: { image: 'web:1' } })],
      field: 'documents[2].run',
      message: /runs on process, so a version overrides run.process/,
    },
    {
      name: 'a module that calls itself',
      docs: [acme, mod('web', ['web'])],
      field: 'documents[1].calls[0]',
      message: /calls itself/,
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      let error: unknown;
      try {
        plan(c.docs, c.state === undefined ? EMPTY : stored(c.state));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TurnoutError);
      const e = error as TurnoutError;
      expect({ code: e.code, field: e.field }).toEqual({
        code: c.code ?? 'invalid_config',
        field: c.field,
      });
      expect(e.message).toMatch(c.message);
      expect(e.message.startsWith(`${c.field}: `)).toBe(true);
    });
  }
});

describe('diff', () => {
  it('is empty for equal JSON whatever the key order', () => {
    expect(diff({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }, '')).toEqual([]);
  });
  it('compares arrays whole and in order', () => {
    expect(diff({ a: [1, 2] }, { a: [2, 1] }, '')).toEqual([
      { field: 'a', before: [1, 2], after: [2, 1] },
    ]);
  });
  it('reports a value that changes type at its own path', () => {
    expect(diff({ run: null }, { run: { process: {} } }, '')).toEqual([
      { field: 'run', before: null, after: { process: {} } },
    ]);
  });
});
