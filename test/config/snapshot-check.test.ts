// The proxy's zod-free snapshot check (src/config/snapshot-check.ts) against snapshotSchema, the
// source of truth: for every document of a table and for thousands of seeded mutations of a good
// snapshot, both accept or both refuse; accepted, they give the same output (key order included:
// the delta code compares JSON); refused, the same path and message for the first issue.

import { describe, expect, it } from 'vitest';
import { snapshotSchema } from '../../src/config/snapshot.js';
import { checkSnapshot } from '../../src/config/snapshot-check.js';

const GOOD = {
  version: 7,
  products: [
    {
      name: 'shop',
      hosts: ['shop.example.com', 'shop.local:8080'],
      entry: 'web',
      dtab: '/svc/web => /v/web/1.0.0; /svc/orders => /v/orders/2',
      lanes: [{ name: 't-1', overlay: '/svc/web => /v/web/2.0.0' }, { name: 'beta' }],
      rules: [
        { lane: 't-1', header: { name: 'X-Beta', equals: '1' } },
        { lane: 't-1', header: { name: 'x-user', regex: '^u[0-9]+$', trust: 'signed' } },
        { lane: 'beta', cookie: { name: 'Beta', equals: 'yes', trust: 'any-client' } },
        { lane: 'beta', query: { name: 'lane', regex: 'beta' } },
        { lane: 'beta', cidr: '10.0.0.0/8' },
        { lane: 'beta', percent: 12.5, key: { header: 'X-Session' } },
        { lane: 't-1', percent: 3, key: { cookie: 'sid', trust: 'trusted-hop' } },
      ],
    },
    { name: 'admin', entry: 'orders', dtab: '/svc/orders => /v/orders/2' },
  ],
  modules: [
    {
      name: 'web',
      calls: ['orders'],
      versions: [
        {
          version: '1.0.0',
          endpoints: [
            { address: '127.0.0.1:9001', zone: 'eu-1' },
            { address: '[::1]:9002', state: 'draining', weight: 5 },
          ],
        },
        { version: '2.0.0', endpoints: [{ address: 'web-2.internal:80', weight: 0 }] },
      ],
    },
    { name: 'orders', versions: [{ version: '2' }] },
  ],
};

type Json = unknown;

/** What each side answers, in one comparable shape. */
function zodAnswer(doc: Json) {
  const r = snapshotSchema.safeParse(doc);
  if (r.success) return { ok: true, value: r.data, json: JSON.stringify(r.data) };
  return { ok: false, path: r.error.issues[0]!.path, message: r.error.issues[0]!.message };
}

function checkAnswer(doc: Json) {
  const r = checkSnapshot(doc);
  if (r.ok) return { ok: true, value: r.value, json: JSON.stringify(r.value) };
  return { ok: false, path: [...r.path], message: r.message };
}

function expectSame(doc: Json): boolean {
  const want = zodAnswer(structuredClone(doc));
  const got = checkAnswer(structuredClone(doc));
  expect(got, JSON.stringify(doc)).toEqual(want);
  return want.ok;
}

// biome-ignore lint/suspicious/noExplicitAny: the table edits any part of a document, typed or not
type Doc = any;

function edit(change: (doc: Doc) => void): Json {
  const doc: Doc = structuredClone(GOOD);
  change(doc);
  return doc;
}

const P = (doc: Doc) => doc.products[0];
const R = (doc: Doc, i: number) => doc.products[0].rules[i];
const E = (doc: Doc) => doc.modules[0].versions[0].endpoints[0];

const TABLE: [string, Json][] = [
  ['the good snapshot', GOOD],
  ['only a version', { version: 0 }],
  ['not an object', [1]],
  ['null', null],
  ['a string', 'snapshot'],
  ['no version', edit((d) => delete d.version)],
  ['version -1', edit((d) => (d.version = -1))],
  ['version 1.5', edit((d) => (d.version = 1.5))],
  ['version a string', edit((d) => (d.version = '7'))],
  ['version Infinity', edit((d) => (d.version = Number.POSITIVE_INFINITY))],
  ['version NaN', edit((d) => (d.version = Number.NaN))],
  ['unknown top field', edit((d) => (d.extra = 1))],
  ['two unknown top fields', edit((d) => Object.assign(d, { a: 1, b: 2 }))],
  ['products not a list', edit((d) => (d.products = {}))],
  ['product name empty', edit((d) => (P(d).name = ''))],
  ['product name a number', edit((d) => (P(d).name = 3))],
  ['product name with a slash', edit((d) => (P(d).name = 'a/b'))],
  ['product without dtab', edit((d) => delete P(d).dtab)],
  ['bad dtab', edit((d) => (P(d).dtab = '/svc/web =>'))],
  ['bad host', edit((d) => (P(d).hosts = ['Shop.Example']))],
  ['unknown product field', edit((d) => (P(d).owner = 'me'))],
  ['unknown entry', edit((d) => (P(d).entry = 'nope'))],
  ['duplicate product', edit((d) => d.products.push(structuredClone(d.products[1])))],
  ['host in two products', edit((d) => (d.products[1].hosts = ['shop.example.com']))],
  ['duplicate module', edit((d) => d.modules.push(structuredClone(d.modules[1])))],
  ['unknown call', edit((d) => (d.modules[0].calls = ['ghost']))],
  ['duplicate version', edit((d) => d.modules[0].versions.push({ version: '2.0.0' }))],
  ['duplicate lane', edit((d) => P(d).lanes.push({ name: 'beta' }))],
  ['rule names an unknown lane', edit((d) => (R(d, 0).lane = 'ghost'))],
  ['lane overlay bad', edit((d) => (P(d).lanes[0].overlay = 'nope'))],
  ['lane unknown field', edit((d) => (P(d).lanes[0].weight = 1))],
  ['version label bad', edit((d) => (d.modules[0].versions[0].version = '-x'))],
  ['address without port', edit((d) => (E(d).address = '127.0.0.1'))],
  ['address port 99999', edit((d) => (E(d).address = '127.0.0.1:99999'))],
  ['address a number', edit((d) => (E(d).address = 9001))],
  ['state unknown', edit((d) => (E(d).state = 'up'))],
  ['weight -1', edit((d) => (E(d).weight = -1))],
  ['weight 1001', edit((d) => (E(d).weight = 1001))],
  ['weight a string', edit((d) => (E(d).weight = '1'))],
  ['zone bad', edit((d) => (E(d).zone = '-eu'))],
  ['endpoint unknown field', edit((d) => (E(d).port = 1))],
  ['endpoint null', edit((d) => (d.modules[0].versions[0].endpoints[0] = null))],
  ['rules not a list', edit((d) => (P(d).rules = 'all'))],
  ['rule not an object', edit((d) => (P(d).rules[0] = 'x'))],
  ['rule without a match', edit((d) => (P(d).rules[0] = { lane: 't-1' }))],
  ['rule with two matches', edit((d) => (R(d, 4).percent = 5))],
  ['rule without lane', edit((d) => delete R(d, 0).lane)],
  ['rule lane a number', edit((d) => (R(d, 0).lane = 1))],
  ['rule unknown field', edit((d) => (R(d, 0).why = 'x'))],
  ['header match unknown field', edit((d) => (R(d, 0).header.flag = 1))],
  ['header match not an object', edit((d) => (R(d, 0).header = 'x-beta'))],
  ['header match null', edit((d) => (R(d, 0).header = null))],
  ['header name missing', edit((d) => delete R(d, 0).header.name)],
  ['header name not a token', edit((d) => (R(d, 0).header.name = 'x beta'))],
  ['header name too long', edit((d) => (R(d, 0).header.name = 'x'.repeat(257)))],
  ['header name x-turnout-', edit((d) => (R(d, 0).header.name = 'X-Turnout-Lane'))],
  ['header name baggage', edit((d) => (R(d, 0).header.name = 'Baggage'))],
  ['header both equals and regex', edit((d) => (R(d, 0).header.regex = 'x'))],
  ['header neither equals nor regex', edit((d) => delete R(d, 0).header.equals)],
  ['equals too long', edit((d) => (R(d, 0).header.equals = 'e'.repeat(4097)))],
  ['equals a number', edit((d) => (R(d, 0).header.equals = 1))],
  ['regex empty', edit((d) => (R(d, 1).header.regex = ''))],
  ['regex too long', edit((d) => (R(d, 1).header.regex = 'a'.repeat(257)))],
  ['regex backreference', edit((d) => (R(d, 1).header.regex = '(a)\\1'))],
  ['regex lookahead', edit((d) => (R(d, 1).header.regex = '(?=a)'))],
  ['trust unknown', edit((d) => (R(d, 1).header.trust = 'everyone'))],
  ['cookie name not a token', edit((d) => (R(d, 2).cookie.name = 'a;b'))],
  ['query name empty', edit((d) => (R(d, 3).query.name = ''))],
  ['cidr bad', edit((d) => (R(d, 4).cidr = '10.0.0.0/33'))],
  ['cidr a number', edit((d) => (R(d, 4).cidr = 10))],
  ['percent 101', edit((d) => (R(d, 5).percent = 101))],
  ['percent -1', edit((d) => (R(d, 5).percent = -1))],
  ['percent 3 decimals', edit((d) => (R(d, 5).percent = 1.234))],
  ['percent a string', edit((d) => (R(d, 5).percent = '5'))],
  ['percent missing', edit((d) => delete R(d, 5).percent)],
  ['percent key missing', edit((d) => delete R(d, 5).key)],
  ['percent key both', edit((d) => (R(d, 5).key.cookie = 'sid'))],
  ['percent key neither', edit((d) => (R(d, 5).key = {}))],
  ['percent key unknown field', edit((d) => (R(d, 5).key.path = '/'))],
  ['percent key header x-turnout-', edit((d) => (R(d, 5).key.header = 'x-turnout-x'))],
  [
    '1001 rules',
    edit((d) => (P(d).rules = Array.from({ length: 1001 }, () => structuredClone(R(d, 0))))),
  ],
  [
    'two issues: first in a product, then a duplicate',
    edit((d) => {
      P(d).name = '';
      d.modules.push(structuredClone(d.modules[1]));
    }),
  ],
  [
    'an unknown key and a bad field of the same object',
    edit((d) => {
      E(d).port = 1;
      E(d).weight = -5;
    }),
  ],
];

describe('checkSnapshot answers as snapshotSchema', () => {
  it.each(TABLE)('%s', (_name, doc) => {
    expectSame(doc);
  });

  it('the good snapshot is accepted (the table compares something)', () => {
    expect(checkSnapshot(GOOD).ok).toBe(true);
    expect(TABLE.filter(([, doc]) => !checkSnapshot(doc).ok).length).toBe(TABLE.length - 2);
  });

  it('agrees on 4,000 seeded mutations of a good snapshot', () => {
    const random = seeded(15);
    let refused = 0;
    for (let n = 0; n < 4000; n++) {
      const doc = structuredClone(GOOD) as Json;
      const times = 1 + Math.floor(random() * 3);
      for (let k = 0; k < times; k++) mutate(doc, random);
      if (!expectSame(doc)) refused++;
    }
    // Both outcomes are exercised, not just one.
    expect(refused).toBeGreaterThan(1000);
    expect(refused).toBeLessThan(4000);
  });
});

/** mulberry32: a small seeded generator, so a failing mutation is found again. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ (t + Math.imul(t ^ (t >>> 14), 41 | t));
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values a mutation puts somewhere: wrong types, edge numbers, odd strings, names in use. */
const ODD: Json[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1000,
  1001,
  100.001,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  '',
  'x',
  'X-Upper',
  'a/b',
  'web',
  'orders',
  't-1',
  'ghost',
  '1.0.0',
  'ready',
  'signed',
  'x-turnout-lane',
  '127.0.0.1:80',
  '127.0.0.1:70000',
  '10.1.2.3/8',
  '/svc/web => /v/web/1.0.0',
  '(a)\\1',
  '^a+$',
  'ü',
  'y'.repeat(300),
  [],
  ['web'],
  {},
  { name: 'x' },
];

type Node = Record<string, unknown> | unknown[];

/** Every object and array inside `doc`, the document itself included. */
function containers(doc: Json, out: Node[] = []): Node[] {
  if (typeof doc !== 'object' || doc === null) return out;
  out.push(doc as Node);
  for (const v of Object.values(doc)) containers(v, out);
  return out;
}

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.floor(random() * list.length)]!;
}

const KEYS = [
  'name',
  'lane',
  'header',
  'cookie',
  'query',
  'cidr',
  'percent',
  'key',
  'trust',
  'equals',
  'regex',
  'zone',
  'weight',
  'state',
  'extra',
];

function mutate(doc: Json, random: () => number): void {
  const node = pick(containers(doc), random);
  const op = random();
  if (Array.isArray(node)) {
    if (node.length > 0 && op < 0.3) node.splice(Math.floor(random() * node.length), 1);
    else if (node.length > 0 && op < 0.6) node.push(structuredClone(pick(node, random)));
    else if (node.length > 0 && op < 0.9)
      node[Math.floor(random() * node.length)] = structuredClone(pick(ODD, random));
    else node.push(structuredClone(pick(ODD, random)));
    return;
  }
  const keys = Object.keys(node);
  if (keys.length > 0 && op < 0.25) delete node[pick(keys, random)];
  else if (keys.length > 0 && op < 0.75)
    node[pick(keys, random)] = structuredClone(pick(ODD, random));
  else node[pick(KEYS, random)] = structuredClone(pick(ODD, random));
}
