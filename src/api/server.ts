// The control plane's HTTP API: Fastify, JSON under /v1, one plugin per resource (registered here
// and nowhere else), zod schemas at the edge for validation, serialisation and the OpenAPI document
// at /openapi.json. Every error answers `{ error: { code, message, field? } }` with the status of
// its code in the one error table (src/errors.ts). The dashboard's built files are served at `/`
// (src/api/web.ts), never shadowing /v1 or /openapi.json.

import swagger from '@fastify/swagger';
import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifySchemaCompiler,
} from 'fastify';
import Fastify from 'fastify';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { SnapshotPublisher } from '../control/publisher.js';
import { ERROR_CODES, TurnoutError } from '../errors.js';
import type { StatsWindow } from '../release/stats-window.js';
import type { Runtime } from '../runtime/runtime.js';
import { boundMessage } from '../safe-text.js';
import type { Store } from '../store/store.js';
import { fieldOf } from '../store/validate.js';
import type { ApiAuth } from './auth.js';
import { installAuth, isInsecureLocal } from './auth.js';
import { ChangeWatch } from './change-watch.js';
import { applyPlugin } from './routes/apply.js';
import { artifactsPlugin, DEFAULT_MAX_ARTIFACT_BYTES } from './routes/artifacts.js';
import { assignmentsPlugin } from './routes/assignments.js';
import { auditPlugin } from './routes/audit.js';
import { edgePlugin } from './routes/edge.js';
import type { EventsPluginOptions } from './routes/events.js';
import { eventsPlugin } from './routes/events.js';
import { explainPlugin } from './routes/explain.js';
import { hostsPlugin } from './routes/hosts.js';
import { instanceLogsPlugin } from './routes/instance-logs.js';
import { instancesPlugin } from './routes/instances.js';
import { lanesPlugin } from './routes/lanes.js';
import { modulesPlugin } from './routes/modules.js';
import { notifiersPlugin } from './routes/notifiers.js';
import { orgsPlugin } from './routes/orgs.js';
import { permitsPlugin } from './routes/permits.js';
import { productsPlugin } from './routes/products.js';
import { ticketsPlugin } from './routes/tickets.js';
import { trafficPlugin } from './routes/traffic.js';
import { tryPlugin } from './routes/try.js';
import { whoamiPlugin } from './routes/whoami.js';
import { streamPlugin } from './stream.js';
import { STREAMS_PER_TOKEN, StreamSlots } from './stream-slots.js';
import { DEFAULT_WEB_ROOT, webPlugin } from './web.js';

export interface ApiServerOptions {
  store: Store;
  auth: ApiAuth;
  /** A pino logger; none: the server logs nothing. */
  logger?: FastifyBaseLogger;
  /** The routing snapshot publisher (the caller starts and stops it); none: the server owns one. */
  publisher?: SnapshotPublisher;
  /** Live proxy traffic for /v1/traffic; none: those routes answer not_found. */
  statsWindow?: StatsWindow;
  /** Wakes the release engine after a ticket command; none: it finds the command on its next tick. */
  kickEngine?: () => void;
  /** Requests under way per endpoint address (from the stats scraper), shown on instances. */
  inFlight?: () => ReadonlyMap<string, number>;
  /** Feeds a host's pushed proxy stats to the stats bookkeeping (the scraper's push); none: not_found. */
  pushStats?: (host: string, json: unknown) => void;
  /** Tuning of the agents' assignment streams (keepalive, change poll); tests shorten them. */
  assignments?: { keepaliveMs?: number; pollMs?: number };
  /** The runtime whose instances' logs /v1/instances/:id/logs serves; none: not_found. */
  runtime?: Runtime | null;
  /** The built dashboard served at `/`. Default: this package's dist/web. */
  webRoot?: string;
  /** Tuning of GET /v1/events (keepalive, client bound, intervals); tests shorten them. */
  events?: Omit<EventsPluginOptions, 'store' | 'publisher' | 'statsWindow' | 'slots'>;
  /** The largest request body in bytes. Default API_BODY_LIMIT (1 MiB). */
  bodyLimit?: number;
  /** /v1/stream plus /v1/events streams one token may hold open. Default STREAMS_PER_TOKEN (32). */
  streamsPerToken?: number;
  /** The public edge's base URL for GET /v1/edge (`up` knows its own); none: that answers null. */
  edgeUrl?: () => string | null;
  /** The secret the edge accepts `x-turnout-override` with, for "try it"; none: tries answer not_found. */
  overrideSecret?: string;
  /** Serve HTTPS with this PEM certificate chain and key; none: plain HTTP. */
  tls?: ApiTls;
  /** The download throttle (routes/permits.ts): K hosts at once, permit ttl. */
  downloads?: { maxConcurrent?: number; ttlMs?: number };
  /** The artifact store /v1/artifacts serves; none: those routes answer not_found. */
  artifacts?: ArtifactStore | null;
  /** The largest artifact upload in bytes. Default DEFAULT_MAX_ARTIFACT_BYTES (512 MiB). */
  maxArtifactBytes?: number;
}

export interface ApiTls {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

/** Generous for configs (examples/shop.yaml is 3 KB as JSON), but bounded. */
export const API_BODY_LIMIT = 1024 * 1024;

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

const INSECURE_LOCAL = Symbol('turnout.insecureLocal');

/** Request validation with the store's wording ("is required") and the failing field's path. */
const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema, httpPart }) =>
  (data) => {
    const result = schema.safeParse(data, {
      error: (issue) =>
        issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined,
    });
    if (result.success) return { value: result.data };
    // An unknown field first: a misspelt one (`rn:` for `run:`) is also reported as missing, and
    // the unknown name is what points at the fix.
    const { issues } = result.error;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0];
    const unknownKey = issue?.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const path = issue === undefined ? [] : issue.path;
    const field = fieldOf(unknownKey === undefined ? path : [...path, unknownKey]);
    const what = httpPart === 'body' ? 'body' : (httpPart ?? 'request');
    const message =
      unknownKey === undefined ? (issue?.message ?? 'is invalid') : 'is not a known field';
    return {
      error: new TurnoutError(
        'invalid_argument',
        `${field === '' ? what : field}: ${message}`,
        field || undefined,
      ),
    };
  };

/** The JSON error; its message escaped and bounded, whatever input it quotes. */
function errorBody(error: TurnoutError) {
  return { error: { ...error.toJSON(), message: boundMessage(error.message) } };
}

/** Fastify's own client errors (bad JSON, wrong content type, body too large) as table errors. */
function clientError(error: FastifyError, bodyLimit: number): TurnoutError {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || error.statusCode === 413) {
    return new TurnoutError(
      'payload_too_large',
      `the request body is larger than the limit of ${bodyLimit} bytes (${sizeText(bodyLimit)})`,
    );
  }
  return new TurnoutError('bad_request', error.message);
}

function sizeText(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Builds the API (not listening: use listenApi, or app.inject in tests). */
export async function createApiServer(options: ApiServerOptions): Promise<FastifyInstance> {
  const { store, auth } = options;
  const bodyLimit = options.bodyLimit ?? API_BODY_LIMIT;
  // Over TLS Fastify types the instance by https.Server; the routes and hooks are the same, so
  // the rest of the API keeps one FastifyInstance type.
  const app = Fastify({
    ...(options.logger === undefined ? { logger: false } : { loggerInstance: options.logger }),
    ...(options.tls === undefined
      ? {}
      : { https: { cert: options.tls.cert, key: options.tls.key } }),
    bodyLimit,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  app.decorate(INSECURE_LOCAL, isInsecureLocal(auth));
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error: FastifyError | TurnoutError, request, reply) => {
    if (error instanceof TurnoutError) {
      return reply.code(ERROR_CODES[error.code].status).send(errorBody(error));
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const e = clientError(error, bodyLimit);
      return reply.code(ERROR_CODES[e.code].status).send(errorBody(e));
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
  });

  // A refusal answered before the request's body was read (declared over the size cap, no token,
  // a bad path) closes the connection after the answer: otherwise the client's upload blocks on
  // a socket nobody reads until a timeout, or the server reads and discards up to the cap.
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && !request.raw.complete) reply.header('connection', 'close');
    return payload;
  });

  app.setNotFoundHandler((request, reply) => {
    const e = new TurnoutError(
      'not_found',
      `no route ${request.method} ${request.url.split('?')[0]}`,
    );
    return reply.code(404).send(errorBody(e));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Turnout control plane',
        description: 'Catalog, lanes, instances, tickets and audit of a Turnout control plane.',
        version: '1',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });

  installAuth(app, auth);

  // One publisher for every plugin. A successful write wakes it before the answer goes out: a hook
  // rather than a notifying Store wrapper because it covers every route plugin (present and
  // future, e.g. apply) with nothing to keep in step with the Store interface, and runs after the
  // handler's transaction committed. Awaiting it means a client that got a 2xx for a write already
  // finds it in /v1/snapshot and /v1/stream. Writers outside HTTP (health checker, lease sweeper)
  // notify the publisher themselves (src/server/control-plane.ts).
  let publisher = options.publisher;
  if (publisher === undefined) {
    const own = new SnapshotPublisher(store, { logger: app.log });
    await own.start();
    app.addHook('onClose', async () => own.stop());
    publisher = own;
  }
  const pub = publisher;
  const slots = new StreamSlots(options.streamsPerToken ?? STREAMS_PER_TOKEN);
  const watch = new ChangeWatch(store, options.assignments?.pollMs);
  app.addHook('onClose', async () => watch.stop());
  app.addHook('onSend', async (request, reply) => {
    if (!READS.has(request.method) && reply.statusCode >= 200 && reply.statusCode < 300) {
      void watch.notify();
      await pub.notify();
    }
  });

  app.get('/openapi.json', { config: { role: 'public' }, schema: { hide: true } }, async () =>
    app.swagger(),
  );

  await app.register(
    async (v1) => {
      await v1.register(orgsPlugin, { store });
      await v1.register(productsPlugin, { store });
      await v1.register(modulesPlugin, { store });
      await v1.register(instancesPlugin, {
        store,
        onLeasesRenewed: () => pub.leasesRenewed(),
        ...(options.inFlight === undefined ? {} : { inFlight: options.inFlight }),
      });
      await v1.register(lanesPlugin, { store });
      await v1.register(ticketsPlugin, { store, kick: options.kickEngine });
      await v1.register(instanceLogsPlugin, { store, runtime: options.runtime ?? null });
      await v1.register(auditPlugin, { store });
      await v1.register(applyPlugin, { store });
      await v1.register(notifiersPlugin, { store });
      await v1.register(hostsPlugin, { store, onLeasesRenewed: () => pub.leasesRenewed() });
      await v1.register(assignmentsPlugin, {
        store,
        watch,
        slots,
        ...(options.pushStats === undefined ? {} : { pushStats: options.pushStats }),
        ...(options.assignments?.keepaliveMs === undefined
          ? {}
          : { keepaliveMs: options.assignments.keepaliveMs }),
      });
      await v1.register(permitsPlugin, { store, ...options.downloads });
      await v1.register(trafficPlugin, { window: options.statsWindow ?? null });
      await v1.register(streamPlugin, { store, publisher: pub, slots });
      await v1.register(whoamiPlugin);
      await v1.register(edgePlugin, { edgeUrl: options.edgeUrl ?? (() => null) });
      await v1.register(eventsPlugin, {
        ...options.events,
        store,
        publisher: pub,
        statsWindow: options.statsWindow ?? null,
        slots,
      });
      await v1.register(explainPlugin, { publisher: pub });
      await v1.register(artifactsPlugin, {
        store,
        artifacts: options.artifacts ?? null,
        maxBytes: options.maxArtifactBytes ?? DEFAULT_MAX_ARTIFACT_BYTES,
      });
      await v1.register(tryPlugin, {
        store,
        edgeUrl: options.edgeUrl ?? (() => null),
        overrideSecret: options.overrideSecret ?? null,
      });
    },
    { prefix: '/v1' },
  );
  await app.register(webPlugin, { root: options.webRoot ?? DEFAULT_WEB_ROOT });

  await app.ready();
  return app;
}

export interface ListenOptions {
  host: string;
  port: number;
}

/**
 * Starts listening; answers the bound address. An app built with `insecureLocal` listens only on
 * 127.0.0.1 or ::1, since anyone who can reach it can do anything.
 */
export async function listenApi(app: FastifyInstance, options: ListenOptions): Promise<string> {
  const insecure = (app as unknown as Record<symbol, boolean>)[INSECURE_LOCAL] === true;
  if (insecure && options.host !== '127.0.0.1' && options.host !== '::1') {
    throw new TurnoutError(
      'invalid_argument',
      `insecure local mode listens only on 127.0.0.1 or ::1, not ${options.host}`,
      'host',
    );
  }
  return app.listen({ host: options.host, port: options.port });
}
