// What a ticket changes in routing, as store values: the lane overlay that sends lane traffic to
// the ticket's versions, the lane's edge rules (pre-release header, canary segments and share),
// the product's base dtab after promotion, and the versions a dtab names (for reclaim).

import type { Dentry } from '../routing/dtab.js';
import { showPrefix } from '../routing/dtab.js';
import type { LaneRuleInput } from '../routing/lane-rules.js';
import { parseDtab } from '../routing/parser.js';
import type { NameTree } from '../routing/tree.js';
import { showNameTree } from '../routing/tree.js';
import type { Lane, LaneInput, TicketItem } from '../store/model.js';
import type { CanaryPlan } from '../store/plan.js';

/** Every ticket has its own lane, named after it. The name is not a secret: the header value is. */
export function laneName(ticketId: number): string {
  return `t-${ticketId}`;
}

/** `/svc/<module> => /v/<module>/<version>;` one per line, in item order. */
export function itemDtab(items: readonly TicketItem[]): string {
  return items.map((i) => `/svc/${i.module} => /v/${i.module}/${i.version};`).join('\n');
}

/** The lane overlay: lane traffic uses the ticket's versions and falls back to stable elsewhere. */
export function laneOverlay(items: readonly TicketItem[]): string {
  return itemDtab(items);
}

/**
 * The product's base dtab with each item's module pointing at the item's version: dentries for
 * exactly `/svc/<module>` are replaced (wherever they were), every other rule is kept in order.
 */
export function withStable(baseDtab: string, items: readonly TicketItem[]): string {
  const changed = new Set(items.map((i) => i.module));
  const kept = parseDtab(baseDtab).filter((d) => !isServiceEntry(d, changed));
  const lines = kept.map((d) => `${dentryLine(d)};`);
  if (items.length > 0) lines.push(itemDtab(items));
  return lines.join('\n');
}

/**
 * A kept rule in the spacing itemDtab writes (`/a => /b`), so a promoted base dtab is stored in one
 * format; showDentry's compact `/a=>/b` mixed with the new lines made a stored dtab read two ways.
 */
function dentryLine(d: Dentry): string {
  return `${showPrefix(d.prefix)} => ${showNameTree(d.dst)}`;
}

function isServiceEntry(d: Dentry, modules: ReadonlySet<string>): boolean {
  return d.prefix.length === 2 && d.prefix[0] === 'svc' && modules.has(d.prefix[1] ?? '');
}

/** The header testers send to reach a ticket's lane: the plan's header name, the ticket's secret. */
export interface PrereleaseHeader {
  readonly name: string;
  readonly value: string;
}

/** `name: value`, as testers type it (curl -H, a header extension). */
export function showHeader(h: PrereleaseHeader): string {
  return `${h.name}: ${h.value}`;
}

/**
 * The lane's edge rules: testers by header, then canary segments, then the sticky share. The
 * header's value is the ticket's random secret, never anything derived from its id.
 */
export function laneRules(
  lane: string,
  prerelease: PrereleaseHeader,
  canary: { plan: CanaryPlan; percent: number } | null,
): LaneRuleInput[] {
  // Testers send the pre-release header from wherever they are: it matches from any client.
  const rules: LaneRuleInput[] = [
    { lane, header: { name: prerelease.name, equals: prerelease.value, trust: 'any-client' } },
  ];
  if (canary === null) return rules;
  for (const segment of canary.plan.segments) rules.push({ lane, ...segment } as LaneRuleInput);
  if (canary.percent > 0) rules.push({ lane, percent: canary.percent, key: canary.plan.key });
  return rules;
}

/** `module@version` of every `/v/<module>/<version>` leaf in a dtab (unparseable text: none). */
export function versionsNamed(dtabText: string): Set<string> {
  const out = new Set<string>();
  let dtab: readonly Dentry[];
  try {
    dtab = parseDtab(dtabText);
  } catch {
    return out;
  }
  const visit = (t: NameTree<readonly string[]>): void => {
    if (t.kind === 'leaf') {
      const p = t.value;
      if (p.length >= 3 && p[0] === 'v') out.add(`${p[1]}@${p[2]}`);
    } else if (t.kind === 'alt') t.trees.forEach(visit);
    else if (t.kind === 'union') for (const b of t.branches) visit(b.tree);
  };
  for (const d of dtab) visit(d.dst);
  return out;
}

/** Whether the stored lane differs from the one wanted (so it must be put again). */
export function laneDiffers(lane: Lane | null, wanted: LaneInput): boolean {
  return (
    lane === null ||
    lane.overlay !== wanted.overlay ||
    JSON.stringify(lane.rules) !== JSON.stringify(wanted.rules)
  );
}
