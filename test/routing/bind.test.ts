// Specification tests for binding (reference §6, §7.1): Alt fall-through only on `~`, `!` and
// failures stopping, unions binding every branch, weights on bound leaves, the depth limit as
// Finagle counts it, namers consulted only for an exact `~`, and Turnout's work bounds.

import { describe, expect, it, vi } from 'vitest';
import { TurnoutError } from '../../src/errors.js';
import type { BindOptions, BindResult } from '../../src/routing/bind.js';
import {
  bind,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_LOOKUPS,
  lookupName,
  MAX_BIND_NESTING,
} from '../../src/routing/bind.js';
import { concatDtabs } from '../../src/routing/dtab.js';
import type { EndpointLookup, Name, Namer, NamerResult } from '../../src/routing/namers.js';
import { endpointsFromMap, versionNamer } from '../../src/routing/namers.js';
import { parseDtab, parseNameTree, parsePath } from '../../src/routing/parser.js';
import type { Path } from '../../src/routing/path.js';
import { showPath } from '../../src/routing/path.js';
import type { Bound, NameTree } from '../../src/routing/tree.js';
import { evaluate, isBound, leaf, mapTree, NEG, showNameTree } from '../../src/routing/tree.js';

function describeBind(r: BindResult): string {
  switch (r.state) {
    case 'ok':
      return showNameTree(r.tree);
    case 'pending':
      return 'pending';
    case 'failed':
      return `failed ${r.error.code}: ${r.error.message}`;
  }
}

const bindText = (dtab: string, path: string, options?: BindOptions) =>
  describeBind(bind(parseDtab(dtab), parsePath(path), options));

function okTree(r: BindResult): NameTree<Bound> {
  if (r.state !== 'ok') throw new Error(`expected ok, got ${describeBind(r)}`);
  return r.tree;
}

/** Addresses of a bind result, sorted; null for ~ and !. */
function addresses(dtab: string, path: string, options?: BindOptions): string[] | null {
  return evaluate(okTree(bind(parseDtab(dtab), parsePath(path), options)))?.sort() ?? null;
}

/** Every bound leaf as `<id>@<weight>`, in tree order. */
function boundLeaves(tree: NameTree<Bound>): string[] {
  switch (tree.kind) {
    case 'leaf':
      return [`${showPath(tree.value.id)}@${tree.value.weight ?? '-'}`];
    case 'union':
      return tree.branches.flatMap((b) => boundLeaves(b.tree));
    case 'alt':
      return tree.trees.flatMap(boundLeaves);
    default:
      return [];
  }
}

function hasAlt(tree: NameTree<Bound>): boolean {
  if (tree.kind === 'alt') return true;
  return tree.kind === 'union' && tree.branches.some((b) => hasAlt(b.tree));
}

/**
 * A namer for `/test/<n>` whose answers the test sets, like Finagle NamerTest's: a name tree text,
 * an error, or nothing yet (pending).
 */
function testNamer() {
  const answers = new Map<string, NamerResult>();
  const namer: Namer = {
    prefix: ['test'],
    label: 'test',
    lookup(residual: Path): NamerResult {
      return answers.get(showPath(residual)) ?? { state: 'pending' };
    },
  };
  const set = (name: string, tree: string) => {
    const parsed = mapTree<Path, Name>(parseNameTree(tree), (p) => p);
    answers.set(name, { state: 'ok', tree: parsed });
  };
  const fail = (name: string) => {
    answers.set(name, { state: 'failed', error: new TurnoutError('not_found', `boom ${name}`) });
  };
  return { namer, set, fail };
}

describe('bind', () => {
  it('binds through the dtab to the global namers, leaving no Alt in the bound tree', () => {
    const r = bind(parseDtab('/svc=>/$/inet/127.0.0.1/8080'), parsePath('/svc/orders'));
    const tree = okTree(r);
    expect(showNameTree(tree)).toBe('/$/inet/127.0.0.1/8080');
    expect(tree.kind === 'leaf' && isBound(tree.value) && showPath(tree.value.residual)).toBe(
      '/orders',
    );
    expect(evaluate(tree)).toEqual(['127.0.0.1:8080']);
    const big = okTree(
      bind(parseDtab('/s=>(/x | /$/inet/a/1) & (/$/inet/b/2 | /y)'), parsePath('/s')),
    );
    expect(hasAlt(big)).toBe(false);
  });

  it('is ~ for a name that no dentry and no namer knows', () => {
    expect(bindText('', '/svc/orders')).toBe('~');
    expect(bindText('/a=>/b', '/svc')).toBe('~');
  });

  it('binds any path to ! under Dtab.fail (/=>!)', () => {
    expect(bindText('/=>!', '/anything/at/all')).toBe('!');
  });

  describe('alternation', () => {
    it.each<[string, string, string]>([
      ['a later ~ falls back to the earlier dentry', '/s=>/$/inet/a/1;/s=>~', '/$/inet/a/1'],
      ['a later unknown name falls back', '/s=>/$/inet/a/1;/s=>/nowhere', '/$/inet/a/1'],
      ['a later name binding to ~ falls back', '/s=>/$/inet/a/1;/s=>/x;/x=>~', '/$/inet/a/1'],
      ['a later ! stops: no fallback', '/s=>/$/inet/a/1;/s=>!', '!'],
      ['a later /$/fail stops', '/s=>/$/inet/a/1;/s=>/$/fail', '!'],
      ['a later $ stops, bound but empty', '/s=>/$/inet/a/1;/s=>$', '$'],
      ['a later /$/nil stops', '/s=>/$/inet/a/1;/s=>/$/nil', '$'],
      ['! in a written alternation stops it', '/s=>! | /$/inet/a/1', '!'],
      ['~ | /$/fail | … is !', '/s=>~ | /$/fail | /$/inet/a/1', '!'],
      ['/$/nil | /$/fail | … is $', '/s=>/$/nil | /$/fail | /$/inet/a/1', '$'],
      ['the first non-~ alternative wins', '/s=>~ | /x | /$/inet/b/2 | /$/inet/c/3', '/$/inet/b/2'],
      ['all ~ is ~', '/s=>~ | /x | /y', '~'],
      ['(! & !) | /b falls through to /b', '/s=>(! & !) | /$/inet/b/2', '/$/inet/b/2'],
      ['(/$/fail & ~) | /b falls through', '/s=>(/$/fail & ~) | /$/inet/b/2', '/$/inet/b/2'],
    ])('%s', (_name, dtab, want) => {
      expect(bindText(dtab, '/s')).toBe(want);
    });

    it('does not fall through on a bound name without addresses (Addr.Neg is not ~)', () => {
      const empty: Bound = { kind: 'bound', id: ['x', 'gone'], addrs: [], residual: [] };
      const namer: Namer = {
        prefix: ['x'],
        label: 'x',
        lookup: () => ({ state: 'ok', tree: leaf<Name>(empty) }),
      };
      const r = bind(parseDtab('/s=>/$/inet/a/1;/s=>/x/gone'), ['s'], { namers: [namer] });
      expect(showNameTree(okTree(r))).toBe('/x/gone');
      expect(evaluate(okTree(r))).toEqual([]);
    });

    it('stops on a failure: an exception does not fall through', () => {
      expect(bindText('/s=>/$/inet/a/1;/s=>/$/nope', '/s')).toMatch(/^failed unknown_namer: /);
    });

    it('stops on pending: it does not skip ahead to an earlier dentry', () => {
      const namers = [versionNamer(() => 'pending')];
      expect(bindText('/s=>/$/inet/a/1;/s=>/v/m/1', '/s', { namers })).toBe('pending');
    });

    it('a union whose only binding branch is ! is !, which stops the alternation', () => {
      // Union(!, failed) simplifies as the single-child Union(!) = !; Union(!, ~) as ~.
      expect(bindText('/s=>/$/inet/a/1;/s=>/$/fail & /$/nope', '/s')).toBe('!');
      expect(bindText('/s=>/$/inet/a/1;/s=>/$/fail & ~', '/s')).toBe('/$/inet/a/1');
    });

    it('binds Finagle NamerTest "failover": /test/0 | /test/1 & /test/2', () => {
      const t = testNamer();
      const run = () =>
        bind(parseDtab('/t=>/test/0 | /test/1 & /test/2'), ['t'], {
          namers: [t.namer],
        });
      expect(run().state).toBe('pending');
      t.set('/0', '$');
      t.set('/1', '~');
      t.set('/2', '~');
      expect(evaluate(okTree(run()))).toEqual([]);
      t.set('/0', '/$/inet/1');
      expect(evaluate(okTree(run()))).toEqual([':1']);
      t.set('/0', '~');
      expect(evaluate(okTree(run()))).toBeNull();
      t.set('/2', '/$/inet/2');
      expect(boundLeaves(okTree(run()))).toEqual(['/$/inet/2@1']);
      t.set('/0', '/$/inet/3');
      expect(boundLeaves(okTree(run()))).toEqual(['/$/inet/3@-']);
    });
  });

  describe('union', () => {
    it('binds every branch and drops the ~ and ! ones', () => {
      const dtab = '/s=>/$/inet/a/1 & ~ & ! & /nowhere & /$/fail & /$/inet/b/2';
      expect(bindText(dtab, '/s')).toBe('/$/inet/a/1 & /$/inet/b/2');
      expect(addresses(dtab, '/s')).toEqual(['a:1', 'b:2']);
    });

    it('keeps $ branches, which add no addresses', () => {
      expect(bindText('/s=>$ & /$/inet/a/1', '/s')).toBe('$ & /$/inet/a/1');
      expect(addresses('/s=>$ & /$/inet/a/1', '/s')).toEqual(['a:1']);
      expect(addresses('/s=>$ & ~', '/s')).toEqual([]);
    });

    it.each<[string, string, string]>([
      ['any ok branch makes it ok', '/s=>/$/inet/a/1 & /$/nope', '/$/inet/a/1'],
      ['a union of only ~ and ! binds to ~', '/s=>~ & ! & /nowhere', '~'],
      [
        'none ok: the first failure in branch order',
        '/s=>/$/first & /$/second',
        'failed unknown_namer: unknown namer /$/first',
      ],
      [
        'a depth failure in one branch is dropped',
        '/s=>/loop & /$/inet/a/1;/loop=>/loop/x',
        '/$/inet/a/1',
      ],
    ])('%s', (_name, dtab, want) => {
      expect(bindText(dtab, '/s').startsWith(want)).toBe(true);
    });

    it('binds Finagle NamerTest "union": /test/0 & /test/1 through every state', () => {
      const t = testNamer();
      const run = () => bind(parseDtab('/t=>/test/0 & /test/1'), ['t'], { namers: [t.namer] });
      const addrs = () => evaluate(okTree(run()))?.sort() ?? null;
      expect(run().state).toBe('pending'); // Pending & Pending
      t.set('/0', '/test/2');
      expect(run().state).toBe('pending');
      t.set('/1', '/$/inet/1');
      expect(boundLeaves(okTree(run()))).toEqual(['/$/inet/1@1']); // Ok & Pending
      t.fail('/1');
      expect(describeBind(run())).toContain('boom /1'); // Failed & Pending
      t.set('/1', '/$/inet/1');
      t.set('/2', '/$/inet/2');
      expect(addrs()).toEqual([':1', ':2']); // Ok & Ok
      t.set('/2', '~');
      expect(addrs()).toEqual([':1']); // Ok & Neg
      t.fail('/2');
      expect(addrs()).toEqual([':1']); // Ok & Failed
      t.fail('/1');
      expect(describeBind(run())).toContain('boom /2'); // Failed & Failed: the first, /test/0's
      t.set('/1', '~');
      t.set('/2', '~');
      expect(addrs()).toBeNull(); // Neg & Neg
      t.set('/1', '$');
      expect(addrs()).toEqual([]); // Empty & Neg
    });

    it('is failed, not pending, when one branch failed and the rest are pending', () => {
      const t = testNamer();
      t.fail('/1');
      const r = bind(parseDtab('/t=>/test/0 & /test/1'), ['t'], { namers: [t.namer] });
      expect(describeBind(r)).toContain('boom /1');
    });
  });

  describe('weights on bound leaves', () => {
    it('gives each bound leaf the weight of its nearest enclosing union', () => {
      const dtab = '/s=>3*/x & /y;/x=>/$/inet/a/1;/y=>/$/inet/b/2';
      const tree = okTree(bind(parseDtab(dtab), ['s']));
      expect(showNameTree(tree)).toBe('3.00*/$/inet/a/1 & /$/inet/b/2');
      expect(boundLeaves(tree)).toEqual(['/$/inet/a/1@3', '/$/inet/b/2@1']);
    });

    it('uses the nearest union, and the tree keeps every union weight', () => {
      const dtab = '/s=>2*/x & /$/inet/b/2;/x=>5*/$/inet/a/1 & /$/inet/c/3';
      const tree = okTree(bind(parseDtab(dtab), ['s']));
      expect(showNameTree(tree)).toBe('2.00*(5.00*/$/inet/a/1 & /$/inet/c/3) & /$/inet/b/2');
      expect(boundLeaves(tree)).toEqual(['/$/inet/a/1@5', '/$/inet/c/3@1', '/$/inet/b/2@1']);
    });

    it('passes a weight through alternations and lookups', () => {
      const dtab = '/s=>4*(/nowhere | /x) & /$/inet/b/2;/x=>/$/inet/a/1';
      expect(boundLeaves(okTree(bind(parseDtab(dtab), ['s'])))).toEqual([
        '/$/inet/a/1@4',
        '/$/inet/b/2@1',
      ]);
    });

    it('gives no weight to a leaf under no union', () => {
      expect(boundLeaves(okTree(bind(parseDtab('/s=>/$/inet/a/1'), ['s'])))).toEqual([
        '/$/inet/a/1@-',
      ]);
      expect(boundLeaves(okTree(bind(parseDtab('/s=>/$/inet/a/1 | /x'), ['s'])))).toEqual([
        '/$/inet/a/1@-',
      ]);
    });

    it('keeps the weight of a union left with one bound branch', () => {
      const tree = okTree(bind(parseDtab('/s=>7*/$/inet/a/1 & /nowhere'), ['s']));
      expect(boundLeaves(tree)).toEqual(['/$/inet/a/1@7']);
    });
  });

  describe('depth limit', () => {
    it('fails /s => /s/srv on /s/foo/bar at depth 2 with Finagle’s message', () => {
      const r = bind(parseDtab('/s => /s/srv'), parsePath('/s/foo/bar'), { maxDepth: 2 });
      expect(r.state).toBe('failed');
      if (r.state === 'failed') {
        expect(r.error.code).toBe('binding_depth');
        expect(r.error.message).toBe('Max recursion level: 2 reached in Namer lookup');
      }
    });

    it('stops an infinite loop at the default depth of 100 (Finagle NameTreeTest)', () => {
      expect(DEFAULT_MAX_DEPTH).toBe(100);
      const dtab = '/foo/bar => /bar/foo;\n/bar/foo => /foo/bar';
      expect(bindText(dtab, '/foo/bar')).toBe(
        'failed binding_depth: Max recursion level: 100 reached in Namer lookup',
      );
    });

    /** A chain /n0 → /n1 → … → /n<k-1> → /$/inet/h/1: k dtab lookups plus the namer's. */
    const chain = (k: number) =>
      Array.from({ length: k }, (_, i) =>
        i === k - 1 ? `/n${i}=>/$/inet/h/1` : `/n${i}=>/n${i + 1}`,
      ).join(';');

    it.each<[number, number, string]>([
      [1, 2, 'ok'],
      [1, 1, 'failed'],
      [2, 3, 'ok'],
      [2, 2, 'failed'],
      [5, 6, 'ok'],
      [5, 5, 'failed'],
      [99, 100, 'ok'],
      [100, 100, 'failed'],
    ])(
      'a chain of %i dentries plus the namer lookup with maxDepth %i is %s',
      (k, maxDepth, want) => {
        expect(bind(parseDtab(chain(k)), ['n0'], { maxDepth }).state).toBe(want);
      },
    );

    it('counts lookups along one chain, not tree nodes or branches', () => {
      const wide = '/s=>(/x | /y) & (/x | /y) & /z;/x=>~;/y=>/z;/z=>/$/inet/h/1';
      expect(bind(parseDtab(wide), ['s'], { maxDepth: 3 }).state).toBe('ok');
      expect(bind(parseDtab(wide), ['s'], { maxDepth: 2 }).state).toBe('failed');
    });

    it('fails at depth > maxDepth whatever the result is, even ~ or an already bound leaf', () => {
      expect(bindText('/a=>~', '/a', { maxDepth: 1 })).toBe('~'); // lookup 1 gives ~
      expect(bindText('/a=>/b', '/a', { maxDepth: 1 })).toMatch(/^failed binding_depth/); // 2 gives ~
      expect(bindText('/a=>/b', '/a', { maxDepth: 2 })).toBe('~');
      expect(bind(parseDtab(''), parsePath('/$/inet/h/1'), { maxDepth: 0 }).state).toBe('failed');
      expect(bind(parseDtab(''), parsePath('/$/inet/h/1'), { maxDepth: 1 }).state).toBe('ok');
    });

    it('stops an alternation when a branch exceeds the depth', () => {
      expect(bindText('/s=>/$/inet/a/1;/s=>/loop;/loop=>/loop/x', '/s')).toMatch(
        /^failed binding_depth: /,
      );
    });
  });

  describe('namers', () => {
    const endpoints = endpointsFromMap(
      new Map([['orders', new Map([['2.3.0', ['10.0.0.1:80']]])]]),
    );

    it('are consulted when no dentry matches', () => {
      expect(bindText('', '/v/orders/2.3.0', { namers: [versionNamer(endpoints)] })).toBe(
        '/v/orders/2.3.0',
      );
    });

    it('are consulted when exactly one dentry matches and its destination is ~', () => {
      const namers = [versionNamer(endpoints)];
      expect(bindText('/v=>~', '/v/orders/2.3.0', { namers })).toBe('/v/orders/2.3.0');
    });

    it('are not consulted for two matching ~ dentries: Alt(~, ~) is not ~', () => {
      const spy = vi.fn(() => ['10.0.0.1:80'] as const);
      const namers = [versionNamer(spy)];
      expect(bindText('/v=>~;/v=>~', '/v/orders/2.3.0', { namers })).toBe('~');
      expect(spy).not.toHaveBeenCalled();
    });

    it('are not consulted for a name some dentry rewrites', () => {
      const spy = vi.fn<EndpointLookup>(() => ['10.0.0.1:80']);
      const namers = [versionNamer(spy)];
      expect(bindText('/v/orders=>/$/inet/x/1', '/v/orders/2.3.0', { namers })).toBe('/$/inet/x/1');
      expect(spy).not.toHaveBeenCalled();
    });

    it('are tried in order; one answering ~ lets the next try; then the global namers', () => {
      const calls: string[] = [];
      const namer = (label: string, prefix: Path, tree: NameTree<Name>): Namer => ({
        prefix,
        label,
        lookup: (residual) => {
          calls.push(`${label}${showPath(residual)}`);
          return { state: 'ok', tree };
        },
      });
      const namers = [
        namer('other', ['w'], leaf(['$', 'inet', 'w', '1'])),
        namer('first', ['v'], NEG),
        namer('second', ['v', 'm'], leaf(['$', 'inet', 'second', '2'])),
        namer('third', ['v'], leaf(['$', 'inet', 'third', '3'])),
      ];
      expect(bindText('', '/v/m/1', { namers })).toBe('/$/inet/second/2');
      expect(calls).toEqual(['first/m/1', 'second/1']);
      expect(bindText('', '/$/inet/g/4', { namers })).toBe('/$/inet/g/4');
    });

    it('propagate pending and failure', () => {
      expect(bindText('', '/v/m/1', { namers: [versionNamer(() => 'pending')] })).toBe('pending');
      const failing: Namer = {
        prefix: ['x'],
        label: 'x',
        lookup: () => ({ state: 'failed', error: new TurnoutError('not_found', 'down') }),
      };
      expect(bindText('', '/x/1', { namers: [failing] })).toBe('failed not_found: down');
    });

    it('do not shield /$/ paths from the dtab: / => /foo captures /$/inet/…', () => {
      expect(bindText('/=>/foo', '/$/inet/h/1')).toMatch(/^failed binding_depth: /);
      expect(bindText('/$/inet=>/$/nil', '/$/inet/h/1')).toBe('$');
      expect(bindText('/$=>/x;/x/inet=>/$/fail', '/$/inet/h/1')).toBe('~'); // /$/fail captured too
      expect(bindText('/$=>~', '/$/inet/h/1')).toBe('/$/inet/h/1'); // one ~ match: namers run
      expect(bindText('/$=>~;/$=>~', '/$/inet/h/1')).toBe('~'); // Alt(~, ~): they do not
    });
  });

  describe('global namers', () => {
    it.each<[string, string, string[] | null]>([
      ['/$/inet/10.0.0.1/8080/rest', '/$/inet/10.0.0.1/8080', ['10.0.0.1:8080']],
      ['/$/inet/8080', '/$/inet/8080', [':8080']],
      ['/$/inet/80/8080', '/$/inet/80/8080', ['80:8080']],
      ['/$/fixedinet/h/1', '/$/fixedinet/h/1', ['h:1']],
      ['/$/fail/x', '!', null],
      ['/$/nil/x', '$', []],
    ])('bind %s to %s with addresses %j', (path, shown, addrs) => {
      expect(bindText('', path)).toBe(shown);
      expect(addresses('', path)).toEqual(addrs);
    });

    it('fail an unknown /$/x without loading anything', () => {
      expect(bindText('/s=>/$/com.example.Evil/x', '/s')).toMatch(
        /^failed unknown_namer: unknown namer \/\$\/com\.example\.Evil: .*never loads/,
      );
    });
  });

  describe('the /v namer with a lane overlay', () => {
    const base = parseDtab('/svc=>/v;/svc/orders=>/v/orders/2.2.0');
    const lane = parseDtab('/svc/orders=>/v/orders/2.3.0');
    const effective = concatDtabs(base, lane);
    const ready = (versions: Record<string, readonly string[] | 'pending'>): BindOptions => ({
      namers: [
        versionNamer((module, version) => (module === 'orders' ? versions[version] : undefined)),
      ],
    });
    const bindOrders = (versions: Record<string, readonly string[] | 'pending'>) =>
      describeBind(bind(effective, parsePath('/svc/orders/api'), ready(versions)));

    it('routes to the lane version where it has ready endpoints', () => {
      const r = bind(
        effective,
        parsePath('/svc/orders/api'),
        ready({ '2.3.0': ['h3:1'], '2.2.0': ['h2:1'] }),
      );
      const tree = okTree(r);
      expect(showNameTree(tree)).toBe('/v/orders/2.3.0');
      expect(evaluate(tree)).toEqual(['h3:1']);
      expect(tree.kind === 'leaf' && showPath(tree.value.residual)).toBe('/api');
    });

    it('falls back to stable when the lane version has no ready endpoints, or is unknown', () => {
      expect(bindOrders({ '2.3.0': [], '2.2.0': ['h2:1'] })).toBe('/v/orders/2.2.0');
      expect(bindOrders({ '2.2.0': ['h2:1'] })).toBe('/v/orders/2.2.0');
    });

    it('is pending while the lane version’s endpoints are not known', () => {
      expect(bindOrders({ '2.3.0': 'pending', '2.2.0': ['h2:1'] })).toBe('pending');
    });

    it('is ~ when neither version is ready (and falls to /svc=>/v, also ~)', () => {
      expect(bindOrders({})).toBe('~');
    });

    it('routes other services through the base rule', () => {
      const r = bind(effective, parsePath('/svc/orders2'), ready({}));
      expect(describeBind(r)).toBe('~');
    });
  });

  describe("the Finagle guide's worked example", () => {
    const dtab = parseDtab(`
      /zk#  => /$/com.twitter.serverset;
      /zk   => /zk#;
      /s##  => /zk/zk.local.twitter.com:2181;
      /s#   => /s##/prod;
      /s    => /s#;
      /s#   => /s##/staging
    `);

    it('fails in Turnout at the class-named namer, which it never loads', () => {
      expect(describeBind(bind(dtab, parsePath('/s/crawler')))).toMatch(/^failed unknown_namer: /);
    });

    it('tries staging first and backtracks to prod only when the staging branch is ~', () => {
      // Stand in for the serverset namer: /zk# answers for prod only.
      const serversets = (known: string[]): Namer => ({
        prefix: ['zk#'],
        label: 'serverset',
        lookup: (residual) => {
          const env = residual[1] ?? '';
          return known.includes(env)
            ? { state: 'ok', tree: leaf(['$', 'inet', env, '1']) }
            : { state: 'ok', tree: NEG };
        },
      });
      const noClassNamer = dtab.filter((d) => d.prefix[0] !== 'zk#');
      const run = (known: string[]) =>
        describeBind(bind(noClassNamer, parsePath('/s/crawler'), { namers: [serversets(known)] }));
      expect(run(['staging', 'prod'])).toBe('/$/inet/staging/1');
      expect(run(['prod'])).toBe('/$/inet/prod/1');
      expect(run([])).toBe('~');
    });
  });

  describe('work bound (Turnout; Finagle bounds only depth)', () => {
    it('allows DEFAULT_MAX_LOOKUPS lookups over the whole binding', () => {
      expect(DEFAULT_MAX_LOOKUPS).toBe(10_000);
    });

    it.each<[number, string]>([
      [3, 'ok'],
      [2, 'failed binding_work: Binding work limit reached: more than 2 lookups'],
    ])(
      'counts every lookup, the namer lookup included (maxLookups %i → %s)',
      (maxLookups, want) => {
        const r = describeBind(bind(parseDtab('/a=>/b;/b=>/$/inet/h/1'), ['a'], { maxLookups }));
        expect(r.startsWith(want === 'ok' ? '/$/inet/h/1' : want)).toBe(true);
      },
    );

    it('fails the whole binding, not just a union branch, when the bound is reached', () => {
      const dtab = '/s=>/$/inet/a/1 & /x;/x=>/x/y & /x/z';
      expect(bindText(dtab, '/s', { maxLookups: 50 })).toBe(
        'failed binding_work: Binding work limit reached: more than 50 lookups',
      );
    });

    it('stops exponential union fan-out quickly', () => {
      const levels = Array.from({ length: 30 }, (_, i) => `/l${i}=>/l${i + 1} & /l${i + 1}`);
      const dtab = parseDtab([...levels, '/l30=>/$/inet/h/1'].join(';'));
      const start = performance.now();
      const r = bind(dtab, ['l0']);
      expect(performance.now() - start).toBeLessThan(2000);
      expect(describeBind(r)).toBe(
        `failed binding_work: Binding work limit reached: more than ${DEFAULT_MAX_LOOKUPS} lookups`,
      );
    });

    it(`fails as binding_work, never a stack overflow, when trees nest over ${MAX_BIND_NESTING} levels`, () => {
      let nested = '/a/x';
      for (let i = 0; i < 30; i++) nested = `(${nested} | ~)`;
      const r = bind(parseDtab(`/a=>${nested}`), ['a']);
      expect(describeBind(r)).toBe(
        `failed binding_work: Binding work limit reached: name trees nested more than ${MAX_BIND_NESTING} levels deep`,
      );
    });
  });
});

describe('lookupName', () => {
  it('answers with the dtab lookup when it is not exactly ~', () => {
    const r = lookupName(parseDtab('/a=>/b;/a=>~'), [], ['a']);
    expect(r.state === 'ok' && showNameTree(r.tree)).toBe('~ | /b');
  });

  it('falls back to the namers, then the global namers, on an exact ~', () => {
    const namers = [versionNamer(() => ['h:1'])];
    const r = lookupName(parseDtab('/v=>~'), namers, ['v', 'm', '1']);
    expect(r.state === 'ok' && showNameTree(r.tree)).toBe('/v/m/1');
    const g = lookupName(parseDtab(''), namers, parsePath('/$/nil'));
    expect(g.state === 'ok' && showNameTree(g.tree)).toBe('$');
  });
});
