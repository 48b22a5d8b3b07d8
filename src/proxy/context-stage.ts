// Stage 2, context: which product and lane a request is on. At the edge, whatever the client sent
// about lanes is discarded and the product's rules assign the lane; inside the mesh, the context
// travels in W3C baggage (or x-turnout-lane). A signed override is honoured in both, if valid.
// Segment headers and sticky keys are believed only as each rule's trust allows: from a trusted hop
// (by CIDR), as a signed value, or — where a rule says `any-client` — from anyone.

import type { IncomingMessage } from 'node:http';
import type { CompiledSnapshot } from '../config/compile.js';
import { assignLane } from '../routing/assign.js';
import type { Cidr } from '../routing/cidr.js';
import { extractContext } from '../routing/context.js';
import type { Dtab } from '../routing/index.js';
import { innerMap } from '../routing/inner-map.js';
import { verifyOverride } from '../routing/override.js';
import type { EdgeFacts } from './headers.js';
import type { Target } from './identify.js';
import { productForHost, serviceName } from './identify.js';
import type { ProxyError } from './respond-error.js';
import { isTrustedPeer } from './trusted-hops.js';

export interface RequestRoute {
  readonly product: string;
  readonly lane: string | null;
  /** The logical name to delegate, e.g. `/svc/orders`. */
  readonly name: string;
  readonly override: Dtab | undefined;
  /** The verified override token, forwarded so every hop applies the same override. */
  readonly overrideToken: string | undefined;
  /** At the edge: whether the client is a trusted hop and which headers to strip; null in the mesh. */
  readonly edge: EdgeFacts | null;
}

export type ContextResult =
  | { readonly ok: true; readonly route: RequestRoute }
  | { readonly ok: false; readonly error: ProxyError };

export interface ContextInputs {
  readonly compiled: CompiledSnapshot;
  readonly secrets: readonly Buffer[];
  /** Wall-clock time (Unix ms), for override and signed-value expiry. */
  readonly nowMs: number;
  /** Edge clients in these CIDRs are trusted hops. */
  readonly trustedHops: readonly Cidr[];
}

const NOTHING: ReadonlySet<string> = new Set();

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

interface Override {
  readonly dtab?: Dtab;
  readonly token?: string;
}

/** No override: nearly every request, so one shared object. */
const NO_OVERRIDE: Override = Object.freeze({});

function verifiedOverride(req: IncomingMessage, inputs: ContextInputs): Override {
  const token = single(req.headers['x-turnout-override']);
  if (token === undefined || inputs.secrets.length === 0) return NO_OVERRIDE;
  const r = verifyOverride(token, inputs.secrets, inputs.nowMs);
  return r.ok ? { dtab: r.dtab, token } : NO_OVERRIDE;
}

function queryOf(path: string): string {
  const q = path.indexOf('?');
  return q === -1 ? '' : path.slice(q + 1);
}

export function edgeContext(
  req: IncomingMessage,
  target: Target,
  inputs: ContextInputs,
): ContextResult {
  const productName = productForHost(inputs.compiled, target);
  const product = productName === undefined ? undefined : inputs.compiled.products.get(productName);
  if (product === undefined) {
    return {
      ok: false,
      error: { code: 'unknown_product', message: `no product serves host ${target.host}` },
    };
  }
  const clientAddress = req.socket.remoteAddress ?? '';
  const trustedHop = isTrustedPeer(inputs.trustedHops, req.socket);
  const assignment = assignLane(product.rules, {
    headers: req.headers,
    query: queryOf(target.path),
    clientAddress,
    trustedHop,
    signed: { secrets: inputs.secrets, nowMs: inputs.nowMs },
  });
  const override = verifiedOverride(req, inputs);
  return {
    ok: true,
    route: {
      product: product.name,
      lane: assignment.lane,
      name: `/svc/${product.entry}`,
      override: override.dtab,
      overrideToken: override.token,
      // What only a trusted hop may say is not passed on from anyone else either.
      edge: { trustedHop, strip: trustedHop ? NOTHING : product.rules.hopHeaders },
    },
  };
}

/**
 * Mesh contexts already worked out, by baggage header and then logical name: inside the mesh the
 * same few baggage values (a product, maybe a lane) arrive again and again, and what they decide
 * depends on nothing else when the request has no lane header or override and names its product.
 * Entries are immutable and shared; the map is emptied when full (a client sending endless
 * distinct baggage only costs itself the parse it would have paid anyway).
 */
const meshRoutes = new Map<string, Map<string, ContextResult>>();
let meshRouteCount = 0;
const MAX_MESH_ROUTES = 4_096;

function rememberMeshRoute(baggage: string, name: string, result: ContextResult): void {
  if (meshRouteCount >= MAX_MESH_ROUTES) {
    meshRoutes.clear();
    meshRouteCount = 0;
  }
  innerMap(meshRoutes, baggage).set(name, result);
  meshRouteCount++;
}

export function meshContext(
  req: IncomingMessage,
  target: Target,
  inputs: ContextInputs,
): ContextResult {
  const name = serviceName(target);
  if (name === null)
    return {
      ok: false,
      error: { code: 'unknown_service', message: `unknown service ${target.host}` },
    };
  const baggage = single(req.headers.baggage);
  const laneHeader = single(req.headers['x-turnout-lane']);
  // Only what the baggage alone decides is remembered: a lane header or an override is per request.
  const cacheable =
    baggage !== undefined &&
    laneHeader === undefined &&
    req.headers['x-turnout-override'] === undefined;
  if (cacheable) {
    const hit = meshRoutes.get(baggage)?.get(name);
    if (hit !== undefined) return hit;
  }
  const ctx = extractContext({ baggage, 'x-turnout-lane': laneHeader });
  if (!ctx.ok) {
    const code = ctx.error.code === 'baggage_too_large' ? 'baggage_too_large' : 'bad_request';
    return { ok: false, error: { code, message: `${ctx.error.field}: ${ctx.error.message}` } };
  }
  let product = ctx.context.product;
  if (product === null) {
    // Without context only an unambiguous configuration can route: exactly one product.
    const products = inputs.compiled.products;
    if (products.size !== 1) {
      return {
        ok: false,
        error: {
          code: 'missing_context',
          message:
            'no turnout-product in the baggage header: forward the baggage header your service received',
        },
      };
    }
    product = products.keys().next().value as string;
  }
  const override = verifiedOverride(req, inputs);
  const result: ContextResult = {
    ok: true,
    route: {
      product,
      lane: ctx.context.lane,
      name,
      override: override.dtab,
      overrideToken: override.token,
      edge: null,
    },
  };
  // A product guessed from a one-product configuration depends on the snapshot: not remembered.
  if (cacheable && ctx.context.product !== null) rememberMeshRoute(baggage, name, result);
  return result;
}
