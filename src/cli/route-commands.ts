// `turnout route explain`: how the edge would route a request — the lane it is assigned and why,
// the effective dtab, the delegation rule by rule, and the endpoints it lands on.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CompiledSnapshot } from '../config/compile.js';
import { TurnoutError } from '../errors.js';
import { isTrustedHop, parseTrustedHops } from '../proxy/trusted-hops.js';
import type { EdgeRequest, LaneExplanation } from '../routing/assign.js';
import { bindResultJson } from '../routing/bind.js';
import { showDentry } from '../routing/dtab.js';
import { explain } from '../routing/explain.js';
import { renderExplanation } from '../routing/explain-text.js';
import { versionNamer } from '../routing/namers.js';
import { parsePath } from '../routing/parser.js';
import { describeBind } from './dtab-commands.js';
import { type ApiFlags, apiFlags } from './flags.js';
import type { Io } from './io.js';
import { emit } from './io.js';

/** Loads the snapshot compiler (zod, yaml, re2js) only when a command reads a file. */
export async function loadConfigFile(file: string): Promise<CompiledSnapshot> {
  const { compileSnapshot } = await import('../config/compile.js');
  const { parseSnapshot } = await import('../config/load.js');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TurnoutError(
      'invalid_argument',
      `cannot read --config ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'config',
    );
  }
  return compileSnapshot(parseSnapshot(text, file));
}

/** `-H 'Name: value'` pairs into Node's header shape (lower-case names, repeats joined). */
export function parseHeaderFlags(flags: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const flag of flags) {
    const colon = flag.indexOf(':');
    if (colon <= 0)
      throw new TurnoutError('invalid_argument', `-H "${flag}": expected "Name: value"`, 'header');
    const name = flag.slice(0, colon).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) {
      throw new TurnoutError(
        'invalid_argument',
        `-H "${flag}": "${name}" is not a valid header name`,
        'header',
      );
    }
    const value = flag.slice(colon + 1).trim();
    const sep = name === 'cookie' ? '; ' : ', ';
    headers[name] = headers[name] === undefined ? value : `${headers[name]}${sep}${value}`;
  }
  return headers;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface ExplainOpts extends ApiFlags {
  config?: string;
  product: string;
  lane?: string;
  header: string[];
  query?: string;
  clientIp: string;
  trustedHops: string;
  json?: boolean;
}

export function registerRouteCommands(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const route = program.command('route').description('explain how requests are routed');
  apiFlags(
    route
      .command('explain')
      .description(
        'which lane a request gets at the edge and why, then the delegation and endpoints — against a snapshot file (--config) or the live system (the API at --server)',
      )
      .option(
        '--config <file>',
        'routing snapshot (YAML or JSON); absent: ask the API what the proxies run now',
      )
      .requiredOption('--product <name>', 'product the request is for')
      .option('--lane <name>', 'skip edge assignment and use this lane')
      .option('-H, --header <header>', "request header, 'Name: value' (repeatable)", collect, [])
      .option('--query <string>', 'query string of the request, without ?')
      .option('--client-ip <ip>', 'client address as the edge sees it', '127.0.0.1')
      .option(
        '--trusted-hops <cidrs>',
        "the proxy's --trusted-hops: whether --client-ip may set segment headers and sticky keys (with --config; the live system explains as through a trusted hop)",
        'none',
      ),
  )
    .argument('<name>', 'logical name to route, e.g. /svc/orders')
    .action(async (name: string, opts: ExplainOpts) => {
      if (opts.config === undefined) {
        const { explainLive } = await import('./route-explain-live.js');
        setExit(await explainLive(name, opts, io));
        return;
      }
      const { explainLaneAssignment } = await import('../routing/assign.js');
      const compiled = await loadConfigFile(opts.config);
      const product = compiled.products.get(opts.product);
      if (product === undefined) {
        throw new TurnoutError(
          'not_found',
          `unknown product "${opts.product}" in ${opts.config}`,
          'product',
        );
      }
      const trustedHops = parseTrustedHops(opts.trustedHops);
      const path = parsePath(name);
      const req: EdgeRequest = {
        headers: parseHeaderFlags(opts.header),
        query: opts.query ?? '',
        clientAddress: opts.clientIp,
        trustedHop: isTrustedHop(trustedHops, opts.clientIp),
      };
      const assignment: LaneExplanation =
        opts.lane === undefined
          ? explainLaneAssignment(product.rules, req)
          : { lane: opts.lane, ruleIndex: null, reason: 'given with --lane', rules: [] };
      const knownLane =
        assignment.lane === null ||
        compiled.snapshot.products.some(
          (p) => p.name === product.name && p.lanes.some((l) => l.name === assignment.lane),
        );
      const laneNote = knownLane
        ? ''
        : ` (product ${product.name} has no lane ${assignment.lane}: routed on stable)`;
      const dtab = compiled.router.dtabFor(product.name, assignment.lane)!;
      const e = explain(dtab, path, { namers: [versionNamer(compiled.endpoints)] });
      const described = describeBind(e.result);
      emit(
        io,
        opts.json === true,
        {
          product: product.name,
          name,
          lane: { ...assignment, known: knownLane },
          dtab: dtab.map(showDentry),
          explanation: e.tree,
          result: bindResultJson(e.result),
        },
        () =>
          [
            `product  ${product.name} (config version ${compiled.version})`,
            `lane     ${assignment.lane ?? 'stable'} — ${assignment.reason}${laneNote}`,
            ...assignment.rules.map(ruleLine),
            'dtab',
            ...dtab.map((d, i) => `  ${String(i + 1).padStart(3)}  ${showDentry(d)}`),
            'delegation',
            renderExplanation(e.tree).replace(/^/gm, '  '),
            `result   ${described.text}`,
          ].join('\n'),
      );
      if (!described.routed) setExit(1);
    });
}

/**
 * One edge rule in `route explain`: `*` when it matched, then why — unless the reason only says
 * the rule again (a matched rule's reason is its own text).
 */
export function ruleLine(r: {
  matched: boolean;
  index: number;
  lane: string;
  rule: string;
  reason: string;
}): string {
  const why = r.reason === r.rule ? '' : ` — ${r.reason}`;
  return `       ${r.matched ? '*' : ' '} rules[${r.index}] → ${r.lane}: ${r.rule}${why}`;
}
