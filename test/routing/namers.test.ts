// Specification tests for namers (reference §6.2): the global `/$/` namers from a fixed registry
// (nothing is ever loaded by name), and Turnout's `/v/<module>/<version>` namer.

import { describe, expect, it, vi } from 'vitest';
import type { EndpointLookup, Name, NamerResult } from '../../src/routing/namers.js';
import { endpointsFromMap, globalLookup, versionNamer } from '../../src/routing/namers.js';
import { parsePath } from '../../src/routing/parser.js';
import { showPath } from '../../src/routing/path.js';
import type { Bound, NameTree } from '../../src/routing/tree.js';
import { isBound, showNameTree } from '../../src/routing/tree.js';

/** The bound name of a result that must be `ok` with a bound leaf. */
function boundOf(result: NamerResult): Bound {
  if (result.state !== 'ok') throw new Error(`expected ok, got ${result.state}`);
  const tree: NameTree<Name> = result.tree;
  if (tree.kind !== 'leaf' || !isBound(tree.value)) {
    throw new Error(`expected a bound leaf, got ${showNameTree(tree)}`);
  }
  return tree.value;
}

function describeResult(result: NamerResult): string {
  switch (result.state) {
    case 'ok':
      return showNameTree(result.tree);
    case 'pending':
      return 'pending';
    case 'failed':
      return `failed ${result.error.code}`;
  }
}

const lookupText = (path: string) => describeResult(globalLookup(parsePath(path)));

describe('globalLookup', () => {
  describe('/$/inet and /$/fixedinet', () => {
    it.each<[string, string, string, string]>([
      ['/$/inet/127.0.0.1/8080', '/$/inet/127.0.0.1/8080', '127.0.0.1:8080', '/'],
      ['/$/inet/127.0.0.1/8080/foo/bar', '/$/inet/127.0.0.1/8080', '127.0.0.1:8080', '/foo/bar'],
      ['/$/inet/localhost/1234', '/$/inet/localhost/1234', 'localhost:1234', '/'],
      ['/$/inet/1234', '/$/inet/1234', ':1234', '/'],
      ['/$/inet/1234/foobar', '/$/inet/1234', ':1234', '/foobar'],
      ['/$/inet/80/8080', '/$/inet/80/8080', '80:8080', '/'],
      ['/$/inet/80/foo', '/$/inet/80', ':80', '/foo'],
      ['/$/inet/80/8080/90', '/$/inet/80/8080', '80:8080', '/90'],
      ['/$/inet/h/0', '/$/inet/h/0', 'h:0', '/'],
      ['/$/inet/h/65535', '/$/inet/h/65535', 'h:65535', '/'],
      ['/$/inet/h/\\x2b80', '/$/inet/h/\\x2b\\x38\\x30', 'h:80', '/'],
      ['/$/inet/h/0080', '/$/inet/h/0080', 'h:80', '/'],
      ['/$/inet/80/99999999999', '/$/inet/80', ':80', '/99999999999'],
      ['/$/fixedinet/127.0.0.1/1234', '/$/fixedinet/127.0.0.1/1234', '127.0.0.1:1234', '/'],
      ['/$/fixedinet/1234', '/$/fixedinet/1234', ':1234', '/'],
      ['/$/fixedinet/1234/foobar', '/$/fixedinet/1234', ':1234', '/foobar'],
      [
        '/$/inet/\\xc3\\xa9.example/80',
        '/$/inet/\\xc3\\xa9\\x2e\\x65\\x78\\x61\\x6d\\x70\\x6c\\x65/80',
        'é.example:80',
        '/',
      ],
      ['/$/inet/h/80/\\xff', '/$/inet/h/80', 'h:80', '/\\xff'],
    ])('binds %s to id %s, address %s, residual %s', (path, id, addr, residual) => {
      const b = boundOf(globalLookup(parsePath(path)));
      expect(showPath(b.id)).toBe(id);
      expect(b.addrs).toEqual([addr]);
      expect(showPath(b.residual)).toBe(residual);
      expect(b.weight).toBeUndefined();
    });

    it('tries the host form first, so /$/inet/80/8080 is host 80, port 8080', () => {
      expect(boundOf(globalLookup(parsePath('/$/inet/80/8080'))).addrs).toEqual(['80:8080']);
    });

    it.each<[string]>([
      ['/$/inet'],
      ['/$/fixedinet'],
      ['/$/inet/host'],
      ['/$/inet/host/port'],
      ['/$/inet/host/99999999999'],
      ['/$/inet/h/70000'],
      ['/$/inet/h/-1'],
      ['/$/inet/70000'],
      ['/$/inet/\\xff/80'],
    ])('fails %s as invalid_address', (path) => {
      const r = globalLookup(parsePath(path));
      expect(r.state).toBe('failed');
      if (r.state === 'failed') {
        expect(r.error.code).toBe('invalid_address');
        expect(r.error.message).toContain(path);
      }
    });
  });

  it.each<[string, string]>([
    ['/$/fail', '!'],
    ['/$/fail/foo/bar', '!'],
    ['/$/fail/\\xff', '!'],
    ['/$/nil', '$'],
    ['/$/nil/foo/bar', '$'],
    ['/$/nil/\\xff', '$'],
  ])('looks %s up as %s', (path, shown) => {
    expect(lookupText(path)).toBe(shown);
  });

  it.each<[string]>([
    ['/$/com.twitter.finagle.TestNamer/foo'],
    ['/$/io.buoyant.rinet/80/h'],
    ['/$/java.lang.Object'],
    ['/$/x'],
    ['/$/INET/h/1'],
    ['/$/\\xff'],
    ['/$/\\xff/foo'],
  ])('fails the unknown namer %s and never loads anything', (path) => {
    const r = globalLookup(parsePath(path));
    expect(r.state).toBe('failed');
    if (r.state === 'failed') {
      expect(r.error.code).toBe('unknown_namer');
      expect(r.error.message).toContain(
        `unknown namer /$/${showPath(parsePath(path).slice(1, 2)).slice(1)}`,
      );
      expect(r.error.message).toContain('never loads namers by name');
    }
  });

  it.each<[string]>([
    ['/'],
    ['/$'],
    ['/foo/bar'],
    ['/foo/bar/bah/blah'],
    ['/inet/$'],
    ['/\\x24x/inet/h/1'],
  ])('looks %s up as ~ (not a /$/ path)', (path) => {
    expect(lookupText(path)).toBe('~');
  });

  it('treats /$/… paths of any bytes as its own (Finagle decodes bad UTF-8 leniently)', () => {
    expect(lookupText('/$/\\xff')).toBe('failed unknown_namer');
    expect(lookupText('/$/fail/\\xff')).toBe('!');
  });
});

describe('versionNamer', () => {
  const endpoints = endpointsFromMap(
    new Map([
      [
        'orders',
        new Map<string, readonly string[]>([
          ['2.3.0', ['10.0.0.1:8080', '10.0.0.2:8080']],
          ['2.4.0', []],
        ]),
      ],
    ]),
  );
  const namer = versionNamer(endpoints);

  it('answers for /v with the label "versions"', () => {
    expect(namer.prefix).toEqual(['v']);
    expect(namer.label).toBe('versions');
    expect(versionNamer(endpoints, ['ver']).prefix).toEqual(['ver']);
  });

  it('binds a version with ready endpoints to a leaf that shows as /v/<module>/<version>', () => {
    const r = namer.lookup(['orders', '2.3.0']);
    expect(describeResult(r)).toBe('/v/orders/2.3.0');
    const b = boundOf(r);
    expect(b.id).toEqual(['v', 'orders', '2.3.0']);
    expect(b.addrs).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    expect(b.residual).toEqual([]);
  });

  it('keeps what follows the version as the residual', () => {
    const b = boundOf(namer.lookup(['orders', '2.3.0', 'api', 'v1']));
    expect(showPath(b.id)).toBe('/v/orders/2.3.0');
    expect(showPath(b.residual)).toBe('/api/v1');
  });

  it('uses its own prefix in the bound id', () => {
    const b = boundOf(versionNamer(endpoints, ['ver']).lookup(['orders', '2.3.0']));
    expect(showPath(b.id)).toBe('/ver/orders/2.3.0');
  });

  it.each<[string, string[]]>([
    ['no ready endpoints', ['orders', '2.4.0']],
    ['an unknown version', ['orders', '9.9.9']],
    ['an unknown module', ['payments', '1.0.0']],
  ])('is ~ for %s, so an alternation falls through', (_name, residual) => {
    expect(describeResult(namer.lookup(residual))).toBe('~');
  });

  it('is pending while the endpoints of the version are not known yet', () => {
    const pending = versionNamer(() => 'pending');
    expect(pending.lookup(['orders', '2.3.0'])).toEqual({ state: 'pending' });
  });

  it('is ~ without asking for endpoints when the name lacks a module or a version', () => {
    const spy = vi.fn<EndpointLookup>(() => ['h:1']);
    const n = versionNamer(spy);
    expect(describeResult(n.lookup([]))).toBe('~');
    expect(describeResult(n.lookup(['orders']))).toBe('~');
    expect(spy).not.toHaveBeenCalled();
    n.lookup(['orders', '1.0.0']);
    expect(spy).toHaveBeenCalledWith('orders', '1.0.0');
  });
});

describe('endpointsFromMap', () => {
  it('reads module → version → addresses, undefined when absent', () => {
    const lookup = endpointsFromMap(new Map([['m', new Map([['1', ['h:1']]])]]));
    expect(lookup('m', '1')).toEqual(['h:1']);
    expect(lookup('m', '2')).toBeUndefined();
    expect(lookup('x', '1')).toBeUndefined();
  });
});
