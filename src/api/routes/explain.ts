// POST /v1/explain: how the edge would route a request, against the routing snapshot the control
// plane publishes right now (what the proxies run): the product its Host names, the lane its
// headers, query and client address get (every rule tried, which one matched, as
// `turnout route explain` shows), the effective dtab and the delegation rule by rule. The routing
// core does all of it (explainLaneAssignment, dtabFor, explain); this file only reads the request.
//
// The edge delegates `/svc/<the product's entry module>`; `name` asks about another logical name on
// the same product and lane (what a service inside the mesh calls, e.g. `/svc/orders`).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CompiledSnapshot } from '../../config/compile.js';
import { compileSnapshot } from '../../config/compile.js';
import { parseSnapshot } from '../../config/load.js';
import type { PublishedSnapshot, SnapshotPublisher } from '../../control/publisher.js';
import { TurnoutError } from '../../errors.js';
import { explainLaneAssignment } from '../../routing/assign.js';
import { bindResultJson } from '../../routing/bind.js';
import { parseIp } from '../../routing/cidr.js';
import { explain } from '../../routing/explain.js';
import type { Path } from '../../routing/index.js';
import { parsePath, showDentry, versionNamer } from '../../routing/index.js';
import { errorResponses } from '../schemas.js';

export interface ExplainPluginOptions {
  publisher: SnapshotPublisher;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const body = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .max(300)
      .optional()
      .describe('the Host the request is sent with, port optional (or give product)'),
    product: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('the product, instead of a host that names it'),
    lane: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("skip the edge's lane assignment and route in this lane"),
    path: z
      .string()
      .max(8192)
      .regex(/^\/[\x21-\x7e]*$/, 'must be a request path starting with / (no spaces)')
      .describe('origin-form path, query optional: /checkout?beta=1'),
    headers: z
      .record(z.string(), z.string().max(8192))
      .optional()
      .superRefine((headers, ctx) => {
        for (const name of Object.keys(headers ?? {})) {
          if (!HEADER_NAME.test(name))
            ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
        }
      })
      .describe('request headers by name (any case)'),
    query: z
      .string()
      .max(8192)
      .optional()
      .describe('the query string without ?, when path does not carry one'),
    clientIp: z
      .string()
      .max(64)
      .refine((ip) => parseIp(ip) !== null, 'is not an IP address')
      .optional()
      .describe('the client address as the edge sees it; default 127.0.0.1'),
    name: z
      .string()
      .max(1024)
      .optional()
      .describe("a logical name to delegate instead of the product's entry, e.g. /svc/orders"),
  })
  // Exactly one names the product; the error names the field the caller should give.
  .superRefine((b, ctx) => {
    if ((b.host === undefined) === (b.product === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [b.host === undefined ? 'host' : 'product'],
        message:
          b.host === undefined
            ? 'give host (or product): which product to explain'
            : 'give host or product, not both',
      });
  });

const ruleSchema = z.object({
  index: z.number(),
  lane: z.string(),
  rule: z.string().describe('the rule in words'),
  matched: z.boolean().describe('the first rule that matches: the one that assigned the lane'),
  wouldMatch: z.boolean().describe("the rule's own condition holds, regardless of order"),
  reason: z.string(),
});

const answerSchema = z.object({
  snapshotVersion: z.number().describe('the routing snapshot explained against'),
  host: z.string().nullable().describe('as asked; null when asked by product'),
  path: z.string(),
  product: z.string(),
  name: z.string().describe('the logical name delegated'),
  lane: z.object({
    lane: z.string().nullable().describe('null: stable'),
    ruleIndex: z.number().nullable(),
    reason: z.string(),
    known: z.boolean().describe('false: the product has no such lane, so stable routing applies'),
    rules: z.array(ruleSchema).readonly().describe('every rule of the product, in order'),
  }),
  dtab: z.array(z.string()).describe('the effective dtab, one dentry per line'),
  explanation: z
    .unknown()
    .describe('the delegation tree: {type, path, via, outcome, …} nodes, as route explain --json'),
  result: z.object({
    state: z.enum(['ok', 'pending', 'failed']),
    tree: z.string().optional(),
    addresses: z.array(z.string()).nullable().optional(),
    error: z.unknown().optional(),
  }),
});

type Body = z.output<typeof body>;

/** The published snapshot compiled once per publish, not once per request. */
function compiledOf(publisher: SnapshotPublisher): () => CompiledSnapshot {
  let cached: { seq: number; compiled: CompiledSnapshot } | null = null;
  return () => {
    const current: PublishedSnapshot | null = publisher.current();
    if (current === null)
      throw new TurnoutError('not_found', 'no routing snapshot is published yet');
    if (cached?.seq !== current.seq) {
      const snapshot = parseSnapshot(current.json, `snapshot ${current.version}`);
      cached = { seq: current.seq, compiled: compileSnapshot(snapshot) };
    }
    return cached.compiled;
  };
}

/** Host to product as the edge does it: the Host as sent, then without its port. */
function productOf(compiled: CompiledSnapshot, host: string): string {
  let hostname: string;
  try {
    hostname = new URL(`http://${host}/`).hostname;
  } catch {
    throw new TurnoutError('invalid_argument', `host: "${host}" is not a host name`, 'host');
  }
  const product =
    compiled.productByHost.get(host.toLowerCase()) ?? compiled.productByHost.get(hostname);
  if (product === undefined)
    throw new TurnoutError('not_found', `host: no product serves host ${host}`, 'host');
  return product;
}

/** The product the body names, by `product` or by `host`. */
function productNamed(c: CompiledSnapshot, b: Body) {
  const name = b.product ?? productOf(c, b.host ?? '');
  const product = c.products.get(name);
  if (product === undefined) {
    const field = b.product === undefined ? 'host' : 'product';
    throw new TurnoutError(
      'not_found',
      `${field}: no product ${name} in the routing snapshot`,
      field,
    );
  }
  return product;
}

function queryOf(b: Body): string {
  const q = b.path.indexOf('?');
  if (q !== -1 && b.query !== undefined)
    throw new TurnoutError(
      'invalid_argument',
      'query: give the query string once, in path after ? or in query',
      'query',
    );
  return q === -1 ? (b.query ?? '') : b.path.slice(q + 1);
}

function nameOf(b: Body, entry: string): { name: string; path: Path } {
  const name = b.name ?? `/svc/${entry}`;
  try {
    return { name, path: parsePath(name) };
  } catch (error) {
    throw new TurnoutError('invalid_argument', `name: ${(error as Error).message}`, 'name');
  }
}

function lowerCased(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const key = k.toLowerCase();
    out[key] = out[key] === undefined ? v : `${out[key]}${key === 'cookie' ? '; ' : ', '}${v}`;
  }
  return out;
}

export const explainPlugin: FastifyPluginAsyncZod<ExplainPluginOptions> = async (app, options) => {
  const compiled = compiledOf(options.publisher);
  app.post(
    '/explain',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['routing'],
        description:
          'How the edge would route a request, rule by rule, against the snapshot the proxies run now. Changes nothing.',
        body,
        response: { 200: answerSchema, ...errorResponses },
      },
    },
    async (req) => {
      const b = req.body;
      const c = compiled();
      const product = productNamed(c, b);
      const query = queryOf(b);
      const { name, path } = nameOf(b, product.entry);
      const assignment =
        b.lane !== undefined
          ? { lane: b.lane, ruleIndex: null, reason: 'given with lane', rules: [] }
          : explainLaneAssignment(product.rules, {
              headers: lowerCased(b.headers ?? {}),
              query,
              clientAddress: b.clientIp ?? '127.0.0.1',
              // Trusted hops are each proxy's own configuration, unknown here: explained as a
              // request that came through one (a rule's trust still shows in its description).
              trustedHop: true,
            });
      const known =
        assignment.lane === null ||
        c.snapshot.products.some(
          (p) => p.name === product.name && p.lanes.some((l) => l.name === assignment.lane),
        );
      // dtabFor answers the stable dtab for a lane the product does not have, as the proxy routes.
      const dtab = c.router.dtabFor(product.name, assignment.lane) ?? [];
      const e = explain(dtab, path, { namers: [versionNamer(c.endpoints)] });
      return {
        snapshotVersion: c.version,
        host: b.host ?? null,
        path: b.path,
        product: product.name,
        name,
        lane: { ...assignment, known },
        dtab: dtab.map(showDentry),
        explanation: e.tree,
        result: bindResultJson(e.result) as z.output<typeof answerSchema>['result'],
      };
    },
  );
};
