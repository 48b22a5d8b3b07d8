// /v1/artifacts (docs/artifacts.md): the content-addressed artifact store over HTTP. PUT streams an
// upload straight into the store (a content-type parser hands Fastify's raw request through, so no
// body is buffered whole, and the API's JSON body limit does not apply: --max-artifact-bytes
// does); HEAD and GET (with one Range) are open to agents, which download what their hosts run.

import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ArtifactMeta, ArtifactStore } from '../../artifacts/artifact-store.js';
import { parseRange } from '../../artifacts/range.js';
import { tooLarge } from '../../artifacts/verify.js';
import { TurnoutError } from '../../errors.js';
import { sha256Schema } from '../../store/model.js';
import type { Store } from '../../store/store.js';
import { actorOf } from '../auth.js';
import { errorResponses } from '../schemas.js';

/** The default of --max-artifact-bytes: 512 MiB. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 512 * 1024 * 1024;

export interface ArtifactsPluginOptions {
  store: Store;
  /** None: every artifact route answers not_found (an API built without one, in tests). */
  artifacts: ArtifactStore | null;
  maxBytes: number;
}

const params = z.object({ sha256: sha256Schema });
const metaSchema = z.object({ sha256: z.string(), size: z.number(), createdAt: z.string() });
const listSchema = z.object({
  artifacts: z.array(
    metaSchema.extend({
      versions: z.array(z.object({ module: z.string(), version: z.string() })),
    }),
  ),
});

/** Streamed as they are, never serialized; described for the OpenAPI document. */
const bytesSchema = z.unknown().describe('the artifact bytes (application/gzip)');

/** Bodies of these types reach the PUT handler as the request stream itself. */
const RAW_TYPES = ['application/gzip', 'application/octet-stream'];

function present(artifacts: ArtifactStore | null): ArtifactStore {
  if (artifacts === null)
    throw new TurnoutError('not_found', 'this control plane has no artifact store');
  return artifacts;
}

async function existing(artifacts: ArtifactStore, sha256: string): Promise<ArtifactMeta> {
  const meta = await artifacts.head(sha256);
  if (meta === null) throw new TurnoutError('not_found', `no artifact with sha256 ${sha256}`);
  return meta;
}

/**
 * The download's two log lines, `artifact_download_started` and `artifact_download_ended` (with
 * the bytes sent and whether the body went out whole): who fetched what and when, for an operator
 * watching a release's downloads — and, being lines of one process in order, the exact count of
 * downloads in flight (the fleet test measures the throttle with them). At info level whatever the
 * server's level: few (one pair per host and artifact), and what an operator asks about.
 */
function logged(
  log: FastifyBaseLogger,
  req: FastifyRequest,
  reply: FastifyReply,
  meta: ArtifactMeta,
  body: Readable,
  range: { start: number; end: number } | null,
): Readable {
  const who = { sha256: meta.sha256, peer: req.ip, token: req.principal?.name ?? null };
  const expected = range === null ? meta.size : range.end - range.start + 1;
  log.info(
    { event: 'artifact_download_started', ...who, bytes: expected, range },
    `artifact ${meta.sha256}: download to ${req.ip} started (${expected} bytes)`,
  );
  let sent = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      sent += chunk.length;
      done(null, chunk);
    },
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    const whole = reply.raw.writableFinished && sent === expected;
    log.info(
      { event: 'artifact_download_ended', ...who, bytes: sent, complete: whole },
      `artifact ${meta.sha256}: download to ${req.ip} ${whole ? 'done' : 'broke off'} (${sent} of ${expected} bytes)`,
    );
  };
  reply.raw.once('finish', end);
  reply.raw.once('close', end);
  body.once('error', (error) => counter.destroy(error));
  return body.pipe(counter);
}

function describeBytes(reply: FastifyReply, meta: ArtifactMeta): FastifyReply {
  return reply
    .header('content-type', 'application/gzip')
    .header('accept-ranges', 'bytes')
    .header('etag', `"${meta.sha256}"`);
}

export const artifactsPlugin: FastifyPluginAsyncZod<ArtifactsPluginOptions> = async (
  app,
  { store, artifacts, maxBytes },
) => {
  const downloads = app.log.child({ component: 'artifacts' }, { level: 'info' });
  // Scoped to this plugin: no other route accepts a raw body.
  app.addContentTypeParser(RAW_TYPES, (_req, payload, done) => done(null, payload));

  app.get(
    '/artifacts',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['artifacts'],
        description: 'Every stored artifact, with the versions that name it.',
        response: { 200: listSchema, ...errorResponses },
      },
    },
    async () => {
      const [all, refs] = await Promise.all([
        present(artifacts).list(),
        store.listArtifactReferences(),
      ]);
      return {
        artifacts: all.map((a) => ({
          ...a,
          versions: refs
            .filter((r) => r.sha256 === a.sha256)
            .map(({ module, version }) => ({ module, version })),
        })),
      };
    },
  );

  app.put(
    '/artifacts/:sha256',
    {
      config: { role: 'releaser' },
      schema: {
        tags: ['artifacts'],
        description:
          'Uploads an artifact (a gzip tarball) as the raw body, content-type application/gzip or application/octet-stream. Stored only whole and with this sha256; 201 when new, 200 when it was already there.',
        params,
        response: { 200: metaSchema, 201: metaSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const store_ = present(artifacts);
      const { sha256 } = req.params;
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      // Refused before a byte is read when the client says how big it is.
      if (declared > maxBytes) throw tooLarge(maxBytes);
      if (req.body === undefined || req.body === null)
        throw new TurnoutError('bad_request', 'body: the artifact bytes are required', 'body');
      const before = await store_.head(sha256);
      const meta = await store_.put(sha256, req.body as Readable, { maxBytes });
      if (before === null) {
        await store.appendAudit({
          actor: actorOf(req),
          action: 'artifact.create',
          target: `artifact/${sha256}`,
          after: { ...meta },
        });
      }
      return reply.code(before === null ? 201 : 200).send(meta);
    },
  );

  // Before the GET: Fastify then keeps this HEAD instead of deriving one that opens the bytes.
  app.head(
    '/artifacts/:sha256',
    {
      config: { role: 'viewer', agents: true },
      schema: { tags: ['artifacts'], params, response: errorResponses },
    },
    async (req, reply) => {
      const meta = await existing(present(artifacts), req.params.sha256);
      return describeBytes(reply, meta).header('content-length', meta.size).send();
    },
  );

  app.get(
    '/artifacts/:sha256',
    {
      config: { role: 'viewer', agents: true },
      schema: {
        tags: ['artifacts'],
        description:
          'Downloads an artifact (role viewer, or an agent); one `Range: bytes=a-b` answers 206 with content-range, a bad one 416. HEAD answers the same headers (content-length) without the bytes, 404 when absent.',
        params,
        response: { 200: bytesSchema, 206: bytesSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      const store_ = present(artifacts);
      const meta = await existing(store_, req.params.sha256);
      let range: ReturnType<typeof parseRange>;
      try {
        range = parseRange(req.headers.range, meta.size);
      } catch (error) {
        reply.header('content-range', `bytes */${meta.size}`);
        throw error;
      }
      const body = await store_.read(meta.sha256, range ?? undefined);
      if (body === null)
        throw new TurnoutError('not_found', `no artifact with sha256 ${meta.sha256}`);
      describeBytes(reply, meta);
      const bytes = logged(downloads, req, reply, meta, body, range);
      if (range === null) return reply.header('content-length', meta.size).send(bytes);
      return reply
        .code(206)
        .header('content-range', `bytes ${range.start}-${range.end}/${meta.size}`)
        .header('content-length', range.end - range.start + 1)
        .send(bytes);
    },
  );
};
