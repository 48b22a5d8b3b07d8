import { describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/routing/explain.js';
import { explain } from '../../src/routing/explain.js';
import { renderExplanation } from '../../src/routing/explain-text.js';
import {
  endpointsFromMap,
  parseDtab,
  parsePath,
  showNameTree,
  versionNamer,
} from '../../src/routing/index.js';

const endpoints = endpointsFromMap(
  new Map([
    [
      'orders',
      new Map([
        ['1', ['127.0.0.1:9001']],
        ['2', []],
      ]),
    ],
    ['account', new Map([['1', ['127.0.0.1:9101', '127.0.0.1:9102']]])],
  ]),
);
const namers = [versionNamer(endpoints)];

function run(dtab: string, path: string) {
  return explain(parseDtab(dtab), parsePath(path), { namers });
}

describe('explain', () => {
  it('shows every matching dentry, latest first, and marks the one binding chose', () => {
    const e = run('/svc=>/v;/svc/orders=>/v/orders/1;/svc/orders=>/v/orders/2', '/svc/orders');
    expect(e.tree).toMatchObject({ type: 'alt', path: '/svc/orders', outcome: 'bound', chosen: 1 });
    const alt = e.tree as Extract<Explanation, { type: 'alt' }>;
    expect(alt.children.map((c) => [c.path, c.via, c.outcome])).toEqual([
      ['/v/orders/2', '/svc/orders=>/v/orders/2', 'neg'],
      ['/v/orders/1', '/svc/orders=>/v/orders/1', 'bound'],
      ['/v/orders', '/svc=>/v', 'neg'],
    ]);
  });

  it('reports the same verdict as bind', () => {
    const e = run('/svc=>/v;/svc/orders=>/v/orders/1;/svc/orders=>/v/orders/2', '/svc/orders');
    expect(e.result.state).toBe('ok');
    if (e.result.state === 'ok') expect(showNameTree(e.result.tree)).toBe('/v/orders/1');
  });

  it('names the namer that bound a leaf, with its addresses and residual', () => {
    const e = run('/svc=>/v', '/svc/account/1/x');
    expect(e.tree).toMatchObject({
      type: 'delegate',
      child: {
        type: 'delegate',
        path: '/v/account/1/x',
        via: '/svc=>/v',
        child: {
          type: 'leaf',
          via: 'namer:versions',
          bound: {
            id: '/v/account/1',
            addrs: ['127.0.0.1:9101', '127.0.0.1:9102'],
            residual: '/x',
          },
        },
      },
    });
  });

  it('explains every union branch with its weight', () => {
    const e = run('/svc/o=>/v/orders/1 & 3*/$/nil', '/svc/o');
    const u = (e.tree as Extract<Explanation, { type: 'delegate' }>).child;
    expect(u).toMatchObject({ type: 'union', outcome: 'bound' });
    expect(
      (u as Extract<Explanation, { type: 'union' }>).branches.map((b) => [
        b.weight,
        b.child.outcome,
      ]),
    ).toEqual([
      [1, 'bound'],
      [3, 'empty'],
    ]);
  });

  it('shows a failing step as an error node with its code, and the depth limit like bind', () => {
    const unknown = run('/svc=>/$/nope', '/svc/a');
    expect(JSON.stringify(unknown.tree)).toContain('"code":"unknown_namer"');
    const deep = explain(parseDtab('/s=>/s/srv'), parsePath('/s/foo'), { maxDepth: 2 });
    expect(JSON.stringify(deep.tree)).toContain('Max recursion level: 2 reached in Namer lookup');
    expect(deep.result).toMatchObject({ state: 'failed' });
  });

  it('renders an indented tree with the chosen alternative starred', () => {
    const text = renderExplanation(
      run('/svc=>/v;/svc/orders=>/v/orders/2;/svc/orders=>/v/orders/1', '/svc/orders').tree,
    );
    expect(text.split('\n')).toEqual([
      '/svc/orders  alternatives (first that is not ~ wins)',
      '* 1. /v/orders/1  via /svc/orders=>/v/orders/1',
      '     -> /v/orders/1  via namer:versions  => [127.0.0.1:9001]',
      '  2. /v/orders/2  via /svc/orders=>/v/orders/2  neg (~: nothing here, fall back)',
      '  3. /v/orders  via /svc=>/v  neg (~: nothing here, fall back)',
    ]);
  });

  it.each([
    ['deep nesting repeated down a chain', `/a=>${'('.repeat(30)}/a/x${')'.repeat(30)}`, '/a'],
    [
      'a wide dtab that matches everything',
      Array.from({ length: 2000 }, (_, i) => `/=>/n${i}`).join(';'),
      '/a',
    ],
    [
      'exponential union fan-out',
      Array.from({ length: 30 }, (_, i) => `/l${i}=>/l${i + 1} & /l${i + 1}`).join(';'),
      '/l0',
    ],
  ])('stays bounded on %s: no throw, done in well under 2 s', (_name, dtab, path) => {
    const started = performance.now();
    const e = explain(parseDtab(dtab), parsePath(path));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(['ok', 'failed']).toContain(e.result.state);
  });
});
