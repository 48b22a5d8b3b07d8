// Renders a delegation explanation as an indented tree for terminals (`turnout dtab explain`).

import type { Explanation } from './explain.js';
import { formatWeight } from './weight.js';

const OUTCOME_TEXT: Record<Explanation['outcome'], string> = {
  bound: 'bound',
  empty: 'empty ($: exists, no endpoints)',
  neg: 'neg (~: nothing here, fall back)',
  fail: 'fail (!: stop, no fallback)',
  error: 'error',
  pending: 'pending (endpoints not known yet)',
};

function head(node: Explanation): string {
  const via = node.via === null ? '' : `  via ${node.via}`;
  switch (node.type) {
    case 'leaf':
      return `${node.path}${via}  => [${node.bound.addrs.join(', ')}]${node.bound.residual === '/' ? '' : ` residual ${node.bound.residual}`}`;
    case 'error':
      return `${node.path}${via}  !! ${node.code}: ${node.message}`;
    case 'alt':
      return `${node.path}${via}  alternatives (first that is not ~ wins)`;
    case 'union':
      return `${node.path}${via}  weighted union`;
    case 'delegate':
      return `${node.path}${via}`;
    default:
      return `${node.path}${via}  ${OUTCOME_TEXT[node.outcome]}`;
  }
}

function render(node: Explanation, indent: string, mark: string, lines: string[]): void {
  lines.push(`${indent}${mark}${head(node)}`);
  const inner = `${indent}${' '.repeat(mark.length)}`;
  switch (node.type) {
    case 'delegate':
      render(node.child, inner, '-> ', lines);
      return;
    case 'alt':
      node.children.forEach((c, i) => {
        const tag = i === node.chosen ? '* ' : '  ';
        render(c, inner, `${tag}${i + 1}. `, lines);
      });
      return;
    case 'union':
      for (const b of node.branches) render(b.child, inner, `${formatWeight(b.weight)} * `, lines);
      return;
    default:
      return;
  }
}

/** One line per node; `*` marks the alternative binding chose. */
export function renderExplanation(tree: Explanation): string {
  const lines: string[] = [];
  render(tree, '', '', lines);
  return lines.join('\n');
}
