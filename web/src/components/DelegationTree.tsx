// A delegation explanation (src/routing/explain.ts) as a nested list, rule by rule: each node's
// path, the dentry that rewrote it, how it ended, alternatives with the chosen one marked, union
// weights, and the addresses a leaf bound to.

export interface ExplanationNode {
  type: 'delegate' | 'alt' | 'union' | 'leaf' | 'neg' | 'fail' | 'empty' | 'pending' | 'error';
  path: string;
  via: string | null;
  outcome: string;
  child?: ExplanationNode;
  children?: ExplanationNode[];
  chosen?: number | null;
  branches?: { weight: number; child: ExplanationNode }[];
  bound?: { id: string; addrs: string[]; residual: string };
  code?: string;
  message?: string;
}

const OUTCOME: Record<string, string> = {
  bound: 'bound',
  empty: 'empty ($: exists, no endpoints)',
  neg: 'neg (~: nothing here, fall back)',
  fail: 'fail (!: stop, no fallback)',
  error: 'error',
  pending: 'pending (endpoints not known yet)',
};

function Head({ node }: { node: ExplanationNode }) {
  return (
    <>
      <code>{node.path}</code>
      {node.via !== null && <span className="via"> via {node.via}</span>}
      {node.type === 'leaf' && node.bound && (
        <span className="outcome-bound"> ⇒ [{node.bound.addrs.join(', ') || 'no addresses'}]</span>
      )}
      {node.type === 'alt' && (
        <span className="muted"> alternatives (first that is not ~ wins)</span>
      )}
      {node.type === 'union' && <span className="muted"> weighted union</span>}
      {node.type === 'error' && (
        <span className="error-text">
          {' '}
          {node.code}: {node.message}
        </span>
      )}
      {node.type !== 'leaf' &&
        node.type !== 'delegate' &&
        node.type !== 'alt' &&
        node.type !== 'union' &&
        node.type !== 'error' && (
          <span className={`outcome-${node.outcome}`}>
            {' '}
            {OUTCOME[node.outcome] ?? node.outcome}
          </span>
        )}
    </>
  );
}

export function DelegationTree({ node, mark }: { node: ExplanationNode; mark?: string }) {
  const kids: { key: string; mark: string; node: ExplanationNode; chosen?: boolean }[] = [];
  if (node.type === 'delegate' && node.child) kids.push({ key: 'c', mark: '→', node: node.child });
  for (const [i, c] of (node.children ?? []).entries())
    kids.push({ key: `a${i}`, mark: `${i + 1}.`, node: c, chosen: i === node.chosen });
  for (const [i, b] of (node.branches ?? []).entries())
    kids.push({ key: `u${i}`, mark: `${b.weight} ×`, node: b.child });
  return (
    <div className={`dnode outcome-${node.outcome}`}>
      {mark !== undefined && <span className="mark">{mark} </span>}
      <Head node={node} />
      {kids.length > 0 && (
        <ul>
          {kids.map((k) => (
            <li key={k.key} className={k.chosen ? 'chosen' : undefined}>
              <DelegationTree node={k.node} mark={`${k.chosen ? '★ ' : ''}${k.mark}`} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
