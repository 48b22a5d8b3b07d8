// `turnout lane create|rules|delete|list`: a product's lanes (named route overlays and the edge
// rules that assign requests to them), through the API.

import type { Command } from 'commander';
import { createApiClient } from '../client/api-client.js';
import { TurnoutError } from '../errors.js';
import { type ApiFlags, apiFlags, collect } from './flags.js';
import { formatTable } from './get-command.js';
import type { Io } from './io.js';
import { emit } from './io.js';

interface Lane {
  product: string;
  name: string;
  overlay: string;
  rules: Record<string, unknown>[];
}

interface LaneFlags extends ApiFlags {
  overlay?: string;
  rule: string[];
}

const enc = encodeURIComponent;
const lanesPath = (product: string) => `/v1/products/${enc(product)}/lanes`;

/**
 * `--rule` values as JSON objects; a rule without `lane` gets this lane (a lane's rules can only
 * assign requests to the lane itself, so writing it out would only repeat the name).
 */
export function parseRules(lane: string, given: readonly string[]): Record<string, unknown>[] {
  return given.map((text, i) => {
    let rule: unknown;
    try {
      rule = JSON.parse(text);
    } catch (error) {
      throw new TurnoutError(
        'invalid_argument',
        `--rule ${i + 1}: not JSON (${(error as Error).message}): ${text}`,
        `rules[${i}]`,
      );
    }
    if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
      throw new TurnoutError(
        'invalid_argument',
        `--rule ${i + 1}: a rule is a JSON object, e.g. '{"header":{"name":"x-dev","equals":"1"}}'`,
        `rules[${i}]`,
      );
    }
    return { lane, ...rule };
  });
}

export function formatLane(lane: Lane): string {
  const rules = lane.rules.map((r, i) => {
    const { lane: _l, ...match } = r;
    return `${i === 0 ? 'rules    ' : '         '}${i + 1}. ${JSON.stringify(match)}`;
  });
  return [
    `lane ${lane.product}/${lane.name}`,
    `  overlay  ${lane.overlay === '' ? '(none)' : lane.overlay}`,
    ...(rules.length === 0
      ? ['  rules    (none: only requests that carry the lane reach it)']
      : rules.map((r) => `  ${r}`)),
  ].join('\n');
}

export function registerLaneCommand(
  program: Command,
  io: Io,
  setExit: (code: number) => void,
): void {
  const lane = program
    .command('lane')
    .description("a product's lanes: route overlays and the edge rules that pick them");

  const clientOf = (flags: ApiFlags) =>
    createApiClient({ server: flags.server, token: flags.token, caFile: flags.ca });

  apiFlags(
    lane
      .command('create')
      .description('create a lane with an overlay dtab and edge assignment rules')
      .argument('<product>')
      .argument('<lane>')
      .option('--overlay <dtab>', "the lane's dtab, on top of the product's base dtab", '')
      .option(
        '--rule <json>',
        'an edge assignment rule as JSON (repeatable, in order)',
        collect,
        [],
      ),
  ).action(async (product: string, name: string, flags: LaneFlags) => {
    const rules = parseRules(name, flags.rule);
    const created = (await clientOf(flags).post(lanesPath(product), {
      name,
      overlay: flags.overlay ?? '',
      rules,
    })) as Lane;
    emit(io, flags.json === true, created, () => `created ${formatLane(created)}`);
    setExit(0);
  });

  apiFlags(
    lane
      .command('rules')
      .description("replace a lane's edge assignment rules (none given: remove them all)")
      .argument('<product>')
      .argument('<lane>')
      .option(
        '--rule <json>',
        'an edge assignment rule as JSON (repeatable, in order)',
        collect,
        [],
      ),
  ).action(async (product: string, name: string, flags: LaneFlags) => {
    const rules = parseRules(name, flags.rule);
    const client = clientOf(flags);
    const path = `${lanesPath(product)}/${enc(name)}`;
    // PUT replaces overlay and rules together; the overlay is kept as it is.
    const current = (await client.get(path)) as Lane;
    const updated = (await client.put(path, { overlay: current.overlay, rules })) as Lane;
    emit(io, flags.json === true, updated, () => `updated ${formatLane(updated)}`);
    setExit(0);
  });

  apiFlags(
    lane.command('delete').description('delete a lane').argument('<product>').argument('<lane>'),
  ).action(async (product: string, name: string, flags: ApiFlags) => {
    await clientOf(flags).delete(`${lanesPath(product)}/${enc(name)}`);
    emit(io, flags.json === true, { deleted: { product, lane: name } }, () => {
      return `deleted lane ${product}/${name}`;
    });
    setExit(0);
  });

  apiFlags(lane.command('list').description("a product's lanes").argument('<product>')).action(
    async (product: string, flags: ApiFlags) => {
      const lanes = (await clientOf(flags).list(lanesPath(product))) as Lane[];
      emit(io, flags.json === true, lanes, () =>
        formatTable(
          ['name', 'overlay', 'rules', 'updatedAt'],
          lanes.map((l) => ({ ...l, overlay: l.overlay || '-', rules: l.rules.length })),
        ),
      );
      setExit(0);
    },
  );
}
