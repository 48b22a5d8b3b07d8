import { describe, expect, it } from 'vitest';
import { compileSnapshot } from '../../src/config/compile.js';
import { parseSnapshot } from '../../src/config/load.js';
import { TurnoutError } from '../../src/errors.js';

const valid = {
  version: 3,
  products: [
    {
      name: 'shop',
      hosts: ['shop.example.com'],
      entry: 'orders',
      dtab: '/svc/orders => /v/orders/1.0.0',
      lanes: [{ name: 't-1', overlay: '/svc/orders => /v/orders/2.0.0' }],
      rules: [{ lane: 't-1', header: { name: 'x-beta', equals: '1' } }],
    },
  ],
  modules: [
    {
      name: 'orders',
      versions: [
        {
          version: '1.0.0',
          endpoints: [
            { address: '127.0.0.1:9001' },
            { address: '127.0.0.1:9002', state: 'draining' },
          ],
        },
        { version: '2.0.0', endpoints: [{ address: '127.0.0.1:9003', weight: 0 }] },
      ],
    },
  ],
};

function withChange(change: (doc: typeof valid) => void): string {
  const doc = structuredClone(valid);
  change(doc);
  return JSON.stringify(doc);
}

function rejection(text: string): { field: string | undefined; message: string } {
  try {
    parseSnapshot(text, 'snap.yaml');
  } catch (error) {
    if (error instanceof TurnoutError) return { field: error.field, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('parseSnapshot', () => {
  it('accepts a valid snapshot and fills defaults', () => {
    const snap = parseSnapshot(JSON.stringify(valid), 'snap.yaml');
    expect(snap.modules[0]!.versions[0]!.endpoints[0]).toEqual({
      address: '127.0.0.1:9001',
      state: 'ready',
      weight: 1,
    });
  });

  it.each([
    [
      'an invalid base dtab',
      (d: typeof valid) => {
        d.products[0]!.dtab = '/svc =>';
      },
      'products[0].dtab',
      'invalid dtab',
    ],
    [
      'an invalid overlay',
      (d: typeof valid) => {
        d.products[0]!.lanes[0]!.overlay = '/a=>/b;;';
      },
      'products[0].lanes[0].overlay',
      "'/' expected but ';'",
    ],
    [
      'an unknown entry module',
      (d: typeof valid) => {
        d.products[0]!.entry = 'web';
      },
      'products[0].entry',
      'unknown module "web"',
    ],
    [
      'a rule naming a missing lane',
      (d: typeof valid) => {
        d.products[0]!.rules[0]!.lane = 't-9';
      },
      'products[0].rules[0].lane',
      'lane "t-9"',
    ],
    [
      'a bad product name',
      (d: typeof valid) => {
        d.products[0]!.name = 'Shop';
      },
      'products[0].name',
      'lowercase',
    ],
    [
      'a duplicate module',
      (d: typeof valid) => {
        d.modules.push(structuredClone(d.modules[0]!));
      },
      'modules',
      'duplicate module "orders"',
    ],
    [
      'a duplicate version',
      (d: typeof valid) => {
        d.modules[0]!.versions[1]!.version = '1.0.0';
      },
      'modules[0].versions',
      'duplicate version "1.0.0"',
    ],
    [
      'a version with a space',
      (d: typeof valid) => {
        d.modules[0]!.versions[0]!.version = '1 0';
      },
      'modules[0].versions[0].version',
      'a version is',
    ],
    [
      'an address without port',
      (d: typeof valid) => {
        d.modules[0]!.versions[0]!.endpoints[0]!.address = '127.0.0.1';
      },
      'modules[0].versions[0].endpoints[0].address',
      'host:port',
    ],
    [
      'a port out of range',
      (d: typeof valid) => {
        d.modules[0]!.versions[0]!.endpoints[0]!.address = 'h:70000';
      },
      'modules[0].versions[0].endpoints[0].address',
      'port out of range',
    ],
    [
      'an unknown field',
      (d: typeof valid) => {
        (d.products[0] as Record<string, unknown>).dtabs = '';
      },
      'products[0]',
      'dtabs',
    ],
  ])('rejects %s, naming the field', (_name, change, field, message) => {
    const r = rejection(withChange(change));
    expect(r.field).toBe(field);
    expect(r.message).toContain(message);
    expect(r.message).toMatch(/^snap\.yaml: /);
  });

  it('rejects text that is not YAML', () => {
    expect(rejection('a: [').message).toMatch(/^snap\.yaml: not valid YAML or JSON/);
  });
});

describe('compileSnapshot', () => {
  const compiled = compileSnapshot(parseSnapshot(JSON.stringify(valid), 'snap.yaml'));

  it('binds only ready endpoints with a positive weight', () => {
    expect(compiled.endpoints('orders', '1.0.0')).toEqual(['127.0.0.1:9001']);
    expect(compiled.endpoints('orders', '2.0.0')).toEqual([]);
  });

  it('routes the lane to stable while its version has no routable endpoint', () => {
    const d = compiled.router.route('shop', 't-1', '/svc/orders');
    expect(d?.result).toMatchObject({
      state: 'ok',
      tree: { kind: 'leaf', value: { addrs: ['127.0.0.1:9001'] } },
    });
  });

  it('maps hosts to products', () => {
    expect(compiled.productByHost.get('shop.example.com')).toBe('shop');
  });
});
