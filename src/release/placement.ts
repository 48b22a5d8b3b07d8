// Placement: which hosts a version's new replicas go to. Pure; the engine calls it with the hosts
// it observes (fleet issue). Rules, in order:
//   1. eligible hosts only: ready (never cordoned, draining or down), carrying every label the
//      module's constraint names, with a free slot (capacity minus the instances on it);
//   2. spread across the spread label's values (default `zone`): the value holding the fewest of
//      this version's replicas first, so losing one zone loses as few replicas as possible;
//   3. then across hosts: the host holding the fewest of this version's replicas;
//   4. then the least loaded host (fewest instances of any kind), then the name (deterministic).
// Each pick updates the counts, so N replicas placed at once spread as N placed one by one would.

export type HostState = 'ready' | 'cordoned' | 'draining' | 'down';

export interface PlacementHost {
  readonly name: string;
  readonly state: HostState;
  readonly labels: Readonly<Record<string, string>>;
  /** Most instances the host runs; null: no limit. */
  readonly capacity: number | null;
  /** Instances on the host now (every module and version, starting or running). */
  readonly instances: number;
}

export interface PlacementRequest {
  /** How many new replicas to place. */
  readonly count: number;
  /** Hosts already running a replica of this version (one entry per replica). */
  readonly existing: readonly string[];
  /** Labels a host must carry (the module's `placement.labels`). */
  readonly constraints?: Readonly<Record<string, string>>;
  /** The label to spread across. Default `zone`; hosts without it share one "unlabelled" value. */
  readonly spreadLabel?: string;
}

export type Placement =
  | { readonly ok: true; readonly hosts: readonly string[] }
  /** `placed`: the replicas that did fit; `reason`: why the rest did not, in words. */
  | { readonly ok: false; readonly hosts: readonly string[]; readonly reason: string };

export function place(hosts: readonly PlacementHost[], request: PlacementRequest): Placement {
  const spread = request.spreadLabel ?? 'zone';
  const constraints = Object.entries(request.constraints ?? {});
  const eligible = hosts.filter(
    (h) => h.state === 'ready' && constraints.every(([k, v]) => h.labels[k] === v),
  );
  const load = new Map(eligible.map((h) => [h.name, h.instances]));
  const mine = new Map<string, number>();
  const inZone = new Map<string, number>();
  const zoneOf = (h: PlacementHost) => h.labels[spread] ?? '';
  const byName = new Map(hosts.map((h) => [h.name, h]));
  for (const name of request.existing) {
    mine.set(name, (mine.get(name) ?? 0) + 1);
    const host = byName.get(name);
    if (host !== undefined) inZone.set(zoneOf(host), (inZone.get(zoneOf(host)) ?? 0) + 1);
  }
  const picked: string[] = [];
  for (let i = 0; i < request.count; i++) {
    const free = eligible.filter(
      (h) => h.capacity === null || (load.get(h.name) ?? 0) < h.capacity,
    );
    if (free.length === 0) {
      return {
        ok: false,
        hosts: picked,
        reason: whyNot(hosts, eligible, request, picked.length, load),
      };
    }
    const best = free.reduce((a, b) => (better(b, a) ? b : a));
    picked.push(best.name);
    load.set(best.name, (load.get(best.name) ?? 0) + 1);
    mine.set(best.name, (mine.get(best.name) ?? 0) + 1);
    inZone.set(zoneOf(best), (inZone.get(zoneOf(best)) ?? 0) + 1);
  }
  return { ok: true, hosts: picked };

  function better(a: PlacementHost, b: PlacementHost): boolean {
    const keys = (h: PlacementHost) => [
      inZone.get(zoneOf(h)) ?? 0,
      mine.get(h.name) ?? 0,
      load.get(h.name) ?? 0,
    ];
    const [ka, kb] = [keys(a), keys(b)];
    for (let k = 0; k < ka.length; k++) {
      if ((ka[k] as number) !== (kb[k] as number)) return (ka[k] as number) < (kb[k] as number);
    }
    return a.name < b.name;
  }
}

/** Why the remaining replicas have nowhere to go, naming the first rule that left no host. */
function whyNot(
  hosts: readonly PlacementHost[],
  eligible: readonly PlacementHost[],
  request: PlacementRequest,
  placed: number,
  load: ReadonlyMap<string, number>,
): string {
  const left = request.count - placed;
  const what = `${left} of ${request.count} replica${request.count === 1 ? '' : 's'}`;
  const ready = hosts.filter((h) => h.state === 'ready');
  if (hosts.length === 0) return `no host has registered; ${what} cannot be placed`;
  if (ready.length === 0) {
    const states = [...new Set(hosts.map((h) => h.state))].sort().join(', ');
    return `no host is ready (hosts are ${states}); ${what} cannot be placed`;
  }
  if (eligible.length === 0) {
    const wanted = Object.entries(request.constraints ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return `no ready host has the labels ${wanted}; ${what} cannot be placed`;
  }
  const slots = eligible.map((h) => `${h.name} ${load.get(h.name)}/${h.capacity}`).join(', ');
  return `every eligible host is full (${slots}); ${what} cannot be placed`;
}
