// The agent's routes under /v1/hosts/:name (docs/fleet-protocol.md): its host's assignments (a
// list, and an SSE stream that sends the whole list again whenever one's desired state changes, so
// a reconnect is a resume), the status of each as the agent sees it (which also moves the
// instance's health, so the control plane never probes into hosts), and its proxy's stats. Agent
// tokens (and admins) only; an agent token speaks only for the host it registered.

import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnoutError } from '../../errors.js';
import type { Assignment, AssignmentReport } from '../../store/assignment-model.js';
import {
  ASSIGNMENT_DESIRED,
  ASSIGNMENT_PHASES,
  ASSIGNMENT_STEPS,
  assignmentIdSchema,
  assignmentReportSchema,
} from '../../store/assignment-model.js';
import type { Host } from '../../store/host-model.js';
import { hostNameSchema } from '../../store/host-model.js';
import type { Instance, InstancePatch } from '../../store/model.js';
import { checkBinding } from '../../store/sql-hosts.js';
import type { Store } from '../../store/store.js';
import type { ChangeWatch } from '../change-watch.js';
import { errorResponses } from '../schemas.js';
import { openSse } from '../sse.js';
import { KEEPALIVE_MS } from '../stream.js';
import type { StreamSlots } from '../stream-slots.js';

export interface AssignmentsPluginOptions {
  store: Store;
  watch: ChangeWatch;
  /** Streams per token, shared with the other streams; none: not counted. */
  slots?: StreamSlots;
  /** Feeds an agent's proxy stats to the control plane's bookkeeping; none: not_found. */
  pushStats?: (host: string, json: unknown) => void;
  /** Interval of the stream's `: keepalive` comment. Default 15000. */
  keepaliveMs?: number;
}

const ts = z.string().describe('ISO 8601 UTC');

export const assignmentSchema = z.looseObject({
  id: z.string().describe('the instance id'),
  host: z.string(),
  module: z.string(),
  version: z.string(),
  run: z.looseObject({
    command: z.string(),
    args: z.array(z.string()),
    cwd: z.string().nullable(),
    env: z.record(z.string(), z.string()),
  }),
  health: z
    .looseObject({ path: z.string(), intervalMs: z.number() })
    .nullable()
    .describe('what the agent probes; null: nothing'),
  artifact: z
    .looseObject({ sha256: z.string(), size: z.number().nullable(), url: z.string().nullable() })
    .nullable()
    .describe('what the agent downloads and runs inside; url null: GET /v1/artifacts/{sha256}'),
  desired: z.enum(ASSIGNMENT_DESIRED),
  status: z.looseObject({
    phase: z.enum(ASSIGNMENT_PHASES),
    address: z.string().nullable(),
    pid: z.number().nullable(),
    startedAt: ts.nullable(),
    restarts: z.number(),
    health: z.enum(['unknown', 'healthy', 'unhealthy']),
    lastExit: z
      .looseObject({ code: z.number().nullable(), signal: z.string().nullable(), at: ts })
      .nullable(),
    error: z.string().nullable(),
    logTail: z.array(z.string()),
    step: z.enum(ASSIGNMENT_STEPS).nullable().describe('where the instance start is'),
    download: z
      .looseObject({
        state: z.enum(['queued', 'downloading', 'verified']),
        bytes: z.number(),
        total: z.number().nullable(),
        position: z.number().nullable(),
      })
      .nullable(),
    reportedAt: ts.nullable(),
  }),
  createdAt: ts,
  updatedAt: ts,
});

/** The proxy admin's `/stats` JSON (prom-client's metrics as JSON), as src/release/stats-sample.ts reads it. */
const statsBody = z.looseObject({
  metrics: z.array(
    z.looseObject({
      name: z.string(),
      values: z.array(
        z.looseObject({
          value: z.number(),
          metricName: z.string().optional(),
          labels: z.record(z.string(), z.union([z.string(), z.number()])),
        }),
      ),
    }),
  ),
});

const params = z.object({ name: hostNameSchema });
const idParams = z.object({ name: hostNameSchema, id: assignmentIdSchema });

/**
 * The host, checked for the caller: an agent token speaks only for the host bound to it (the one
 * it registered); an admin for any.
 */
export async function hostFor(
  store: Store,
  principal: { name: string; role: string } | null,
  name: string,
): Promise<Host> {
  const host = await store.getHost(name);
  if (host === null) throw new TurnoutError('not_found', `host ${name} does not exist`);
  if (principal?.role !== 'agent') return host;
  if (host.registeredBy === null) {
    throw new TurnoutError(
      'forbidden',
      `host ${name} is bound to no agent token yet; register it first (PUT /v1/hosts/${name})`,
    );
  }
  checkBinding(host, principal.name);
  return host;
}

/** What the agent's report changes on the instance routing reads; null: nothing. */
export function healthPatch(
  instance: Pick<Instance, 'state'>,
  health: AssignmentReport['health'],
): InstancePatch | null {
  if (health === 'healthy') {
    return { health: 'healthy', ...(instance.state === 'starting' ? { state: 'ready' } : {}) };
  }
  if (health === 'unhealthy') return { health: 'unhealthy' };
  return null;
}

/**
 * The instance patch an agent's report calls for: its health (healthPatch), and its address when
 * the report runs it at another one (its agent now advertises another address and restarted it
 * there), so routing follows. A moved instance takes traffic again only once reported healthy
 * there: until then it is starting again (ready → starting), its health unknown. Null when nothing
 * changes.
 */
export function reportPatch(
  instance: Pick<Instance, 'state' | 'address'>,
  report: Pick<AssignmentReport, 'phase' | 'address' | 'health'>,
): InstancePatch | null {
  const health = healthPatch(instance, report.health);
  const address = report.phase === 'running' ? (report.address ?? null) : null;
  if (address === null || address === instance.address || instance.state === 'stopped')
    return health;
  if (report.health === 'healthy') return { ...health, address };
  const again = instance.state === 'ready' ? { state: 'starting' as const } : {};
  return { address, health: report.health === 'unhealthy' ? 'unhealthy' : 'unknown', ...again };
}

/** What an agent acts on; a report (status) alone does not make a new stream message. */
function wishes(list: readonly Assignment[]): string {
  return JSON.stringify(list.map((a) => [a.id, a.desired, a.module, a.version, a.run, a.health]));
}

export function assignmentsFrame(version: number, assignments: readonly Assignment[]): string {
  return `event: assignments\nid: ${version}\ndata: ${JSON.stringify({ version, assignments })}\n\n`;
}

export const assignmentsPlugin: FastifyPluginAsyncZod<AssignmentsPluginOptions> = async (
  app,
  options,
) => {
  const { store, watch } = options;
  const keepaliveMs = options.keepaliveMs ?? KEEPALIVE_MS;
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.socket?.destroy();
  });

  app.get(
    '/hosts/:name/assignments',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description: "The host's assignments, desired run and stop, by id.",
        params,
        response: {
          200: z.object({ assignments: z.array(assignmentSchema) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      await hostFor(store, req.principal, req.params.name);
      return { assignments: await store.listAssignments({ host: req.params.name }) };
    },
  );

  app.get(
    '/assignments',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['agents'],
        description:
          "Every host's assignments, optionally of one module (and version): where each instance start is (step, download progress), for `release status` and the dashboard.",
        querystring: z.object({
          module: z.string().max(128).optional(),
          version: z.string().max(128).optional(),
        }),
        response: {
          200: z.object({ assignments: z.array(assignmentSchema) }),
          ...errorResponses,
        },
      },
    },
    async (req) => {
      const { module, version } = req.query;
      const all = await store.listAssignments();
      return {
        assignments: all.filter(
          (a) =>
            (module === undefined || a.module === module) &&
            (version === undefined || a.version === version),
        ),
      };
    },
  );

  app.get(
    '/hosts/:name/assignments/stream',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description:
          'Server-Sent Events: `event: assignments`, `id: <store version>`, data `{version, assignments}` — the whole list at connect and whenever a desired state changes; `: keepalive` every 15 s.',
        params,
      },
    },
    async (req, reply) => {
      const host = req.params.name;
      await hostFor(store, req.principal, host);
      let cancel = () => {};
      const sse = openSse(req, reply, {
        slots: options.slots,
        route: `/v1/hosts/${host}/assignments/stream`,
        keepaliveMs,
        open,
        onClose: () => cancel(),
      });

      let sent: string | null = null;
      try {
        while (!sse.closed) {
          const version = await store.changeVersion();
          const list = await store.listAssignments({ host });
          const now = wishes(list);
          if (now !== sent && !sse.closed) {
            sent = now;
            await sse.write(assignmentsFrame(version, list));
          }
          if (watch.stopped) break; // the server is closing
          const next = watch.beyond(version);
          cancel = next.cancel;
          await next.done;
          // Let I/O (this socket's close) run between rounds: an SQLite read completes without
          // one, and a loop of those would starve the event loop.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        req.log.warn({ err: error, host }, 'assignment stream ended');
      } finally {
        sse.end();
      }
    },
  );

  app.put(
    '/hosts/:name/assignments/:id/status',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description:
          "The agent's report on one assignment. With it, in one transaction, the instance of that id on this host: healthy → health healthy (and starting → ready), unhealthy → health unhealthy; running at another address → that address.",
        params: idParams,
        body: assignmentReportSchema,
        response: { 204: z.null().describe('recorded'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const { name, id } = req.params;
      await hostFor(store, req.principal, name);
      await store.transaction(async (tx) => {
        // The instance first: its update takes the writer lock before any row lock, the order
        // every other writer uses (on Postgres the other order could deadlock with the engine).
        const instance = await tx.getInstance(id);
        const patch =
          instance !== null && instance.host === name ? reportPatch(instance, req.body) : null;
        if (patch !== null) await tx.updateInstance(id, patch, `agent:${name}`);
        await tx.reportAssignment(id, name, req.body);
      });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/hosts/:name/stats',
    {
      config: { role: 'agent' },
      schema: {
        tags: ['agents'],
        description:
          "The host proxy's admin /stats JSON, pushed by its agent (about every second): traffic for canary analysis, the snapshot version the proxy applied, requests in flight per endpoint.",
        params,
        body: statsBody,
        response: { 204: z.null().describe('recorded'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const host = await hostFor(store, req.principal, req.params.name);
      if (options.pushStats === undefined) {
        throw new TurnoutError('not_found', 'this control plane keeps no traffic stats');
      }
      if (host.state === 'down') {
        throw new TurnoutError(
          'conflict',
          `host ${host.name} is down (its lease ran out); heartbeat before pushing stats`,
        );
      }
      try {
        options.pushStats(host.name, req.body);
      } catch (error) {
        throw new TurnoutError('invalid_argument', `body: ${(error as Error).message}`, 'metrics');
      }
      return reply.code(204).send(null);
    },
  );
};
