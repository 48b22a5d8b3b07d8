// `turnout dtab show|lookup|bind|explain`: the routing core on the command line.

import type { Command } from 'commander';
// The routing core's own modules, not routing/index.js: the index also loads the lane rules (zod,
// re2js), which `turnout dtab show` never needs and would double its start-up time.
import { TurnoutError } from '../errors.js';
import type { BindResult } from '../routing/bind.js';
import { bind, bindResultJson } from '../routing/bind.js';
import type { Dtab } from '../routing/dtab.js';
import { lookup, showDentry, showPrefix } from '../routing/dtab.js';
import { explain } from '../routing/explain.js';
import { renderExplanation } from '../routing/explain-text.js';
import type { Namer } from '../routing/namers.js';
import { parseDtab, parsePath } from '../routing/parser.js';
import { evaluate, showNameTree } from '../routing/tree.js';
import type { Io } from './io.js';
import { emit } from './io.js';

export function dtabJson(dtab: Dtab): { prefix: string; dst: string }[] {
  return dtab.map((d) => ({ prefix: showPrefix(d.prefix), dst: showNameTree(d.dst) }));
}

/** A bind result as JSON for scripts: the bound tree in show form and its addresses. */
/** Text form of a bind result, and whether it reached at least one destination. */
export function describeBind(result: BindResult): { text: string; routed: boolean } {
  if (result.state === 'failed') return { text: `failed: ${result.error.message}`, routed: false };
  if (result.state === 'pending')
    return { text: 'pending: endpoints not known yet', routed: false };
  const addrs = evaluate(result.tree);
  const shown = showNameTree(result.tree);
  if (addrs === null) return { text: `${shown}  (no destination)`, routed: false };
  return {
    text: `${shown}\naddresses: ${addrs.length === 0 ? '(none)' : addrs.join(', ')}`,
    routed: true,
  };
}

interface DtabOpts {
  dtab: string;
  json?: boolean;
  maxDepth?: string;
}

function bindOptions(opts: DtabOpts, namers: readonly Namer[] = []) {
  return opts.maxDepth === undefined
    ? { namers }
    : { namers, maxDepth: parseMaxDepth(opts.maxDepth) };
}

/** Ten times Finagle's default: deeper is a typo, and a cyclic dtab would recurse that far. */
const MAX_MAX_DEPTH = 1000;

/** `--max-depth`: a whole number from 1 to 1000 (Number('abc') bound nothing and said so wrongly). */
export function parseMaxDepth(text: string): number {
  const n = /^\d{1,4}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= MAX_MAX_DEPTH))
    throw new TurnoutError(
      'invalid_argument',
      `--max-depth ${text}: a whole number from 1 to ${MAX_MAX_DEPTH}`,
      '--max-depth',
    );
  return n;
}

export function registerDtabCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const dtab = program
    .command('dtab')
    .description('parse, show, look up, bind and explain dtabs (Finagle syntax)');

  dtab
    .command('show')
    .description('parse a dtab and print it in normal (show) form')
    .argument('<dtab>', "dtab text, e.g. '/svc => /v/orders/1.0.0'")
    .option('--json', 'print JSON: [{prefix, dst}]')
    .action((text: string, opts: { json?: boolean }) => {
      const d = parseDtab(text);
      emit(io, opts.json === true, dtabJson(d), () => d.map(showDentry).join(';\n'));
    });

  dtab
    .command('lookup')
    .description('one delegation step: every matching dentry, latest first')
    .requiredOption('--dtab <dtab>', 'dtab text')
    .argument('<path>', 'path to look up, e.g. /svc/orders')
    .option('--json', 'print JSON')
    .action((pathText: string, opts: DtabOpts) => {
      const tree = lookup(parseDtab(opts.dtab), parsePath(pathText));
      const shown = showNameTree(tree);
      emit(io, opts.json === true, { path: pathText, tree: shown }, () => shown);
    });

  dtab
    .command('bind')
    .description('delegate a path all the way to bound names (/$/inet, /$/fail, /$/nil)')
    .requiredOption('--dtab <dtab>', 'dtab text')
    .argument('<path>', 'path to bind')
    .option('--max-depth <n>', 'recursion limit (default 100)')
    .option('--json', 'print JSON')
    .action((pathText: string, opts: DtabOpts) => {
      const result = bind(parseDtab(opts.dtab), parsePath(pathText), bindOptions(opts));
      const described = describeBind(result);
      emit(
        io,
        opts.json === true,
        { path: pathText, ...bindResultJson(result) },
        () => described.text,
      );
      if (!described.routed) setExit(1);
    });

  dtab
    .command('explain')
    .description('show why a path binds as it does, rule by rule, as an indented tree')
    .requiredOption('--dtab <dtab>', 'dtab text')
    .argument('<path>', 'path to explain')
    .option('--max-depth <n>', 'recursion limit (default 100)')
    .option('--json', 'print the explanation structure as JSON')
    .action((pathText: string, opts: DtabOpts) => {
      const e = explain(parseDtab(opts.dtab), parsePath(pathText), bindOptions(opts));
      const described = describeBind(e.result);
      emit(
        io,
        opts.json === true,
        { path: pathText, explanation: e.tree, result: bindResultJson(e.result) },
        () => `${renderExplanation(e.tree)}\n\nresult: ${described.text}`,
      );
      if (!described.routed) setExit(1);
    });
}
