// What the engine observes in one tick: the store's tickets, products, modules, lanes and
// instances, read once, and the live traffic figures — turned into one TicketView per ticket the
// engine has work for.

import { listAll } from '../store/cursor.js';
import type { Host } from '../store/host-model.js';
import type { Instance, Lane, Module, Product, Ticket, TicketItem } from '../store/model.js';
import { readPlan } from '../store/plan.js';
import type { Store } from '../store/store.js';
import type { Figures } from './analysis.js';
import { coveredByFleet } from './host-failure.js';
import { readProgress } from './progress.js';
import type { TicketView } from './reconcile.js';
import { rollingSide } from './rolling.js';
import { laneName } from './routes.js';
import type { StatsWindow, TrafficKey } from './stats-window.js';
import { isTerminal } from './transitions.js';

/** The lane label the proxies give traffic outside any lane. */
export const STABLE_LANE = 'stable';

export interface Observed {
  readonly tickets: Ticket[];
  readonly products: Product[];
  readonly modules: Module[];
  readonly lanes: Lane[];
  readonly instances: Instance[];
  /** The fleet's hosts (empty when no agent registered one). */
  readonly hosts: Host[];
}

export async function observe(store: Store): Promise<Observed> {
  return store.transaction(async (tx) => {
    const [tickets, products, modules, lanes, instances, hosts] = await Promise.all([
      listAll((p) => tx.listTickets(p)),
      listAll((p) => tx.listProducts(p)),
      listAll((p) => tx.listModules(p)),
      listAll((p) => tx.listLanes(p)),
      listAll((p) => tx.listInstances(p)),
      listAll((p) => tx.listHosts(p)),
    ]);
    return { tickets, products, modules, lanes, instances, hosts };
  });
}

/** Lane and stable figures for one item, from the stats window: summary and latency histogram. */
export function trafficOf(window: StatsWindow, product: string, ticketId: number, now: number) {
  return (item: TicketItem, sinceMs: number): { lane: Figures; stable: Figures } => {
    const span = Math.max(1, now - sinceMs);
    const of = (filter: Partial<TrafficKey>): Figures => {
      const s = window.summary(filter, span, now);
      const latency = window.histogram(filter, span, now);
      return {
        requests: s.requests,
        errors: s.errors,
        errorRate: s.errorRate,
        p99Ms: s.p99Ms,
        latency,
      };
    };
    return {
      lane: of({ product, lane: laneName(ticketId), module: item.module, version: item.version }),
      stable: of({ product, lane: STABLE_LANE, module: item.module }),
    };
  };
}

/** A view for every ticket with a goal that is not terminal yet. */
export function ticketViews(o: Observed, now: number, window: StatsWindow | null): TicketView[] {
  const graph = new Map(o.modules.map((m) => [m.name, m.calls]));
  const products = new Map(o.products.map((p) => [p.name, p]));
  const active = o.tickets.filter((t) => t.goal !== null && !isTerminal(t.state));
  const views: TicketView[] = [];
  for (const ticket of active) {
    const product = products.get(ticket.product);
    if (product === undefined) continue; // a product is never deleted while tickets refer to it
    const wanted = new Set(ticket.items.map((i) => `${i.module}@${i.version}`));
    const plan = readPlan(ticket.plan);
    const instances = o.instances.filter((i) => wanted.has(`${i.module}@${i.version}`));
    views.push({
      ticket,
      plan,
      progress: readProgress(ticket.progress),
      product,
      graph,
      instances,
      covered: coveredByFleet(ticket.state, o.hosts, instances),
      lane:
        o.lanes.find((l) => l.product === ticket.product && l.name === laneName(ticket.id)) ?? null,
      others: o.tickets.filter(
        (t) => t.product === ticket.product && t.id !== ticket.id && !isTerminal(t.state),
      ),
      traffic: window === null ? null : trafficOf(window, ticket.product, ticket.id, now),
      now,
      ...(plan.strategy === 'rolling'
        ? { rolling: rollingSide(ticket, product, o.products, o.instances) }
        : {}),
    });
  }
  return views;
}
