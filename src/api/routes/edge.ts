// GET /v1/edge: the base URL of the edge that serves products' hosts, as the control plane was told
// it (`turnout up` and `turnout demo` know their own edge listener); null when it was not. Clients
// print it in what people paste (the curl `release prerelease` prints), instead of guessing.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponses } from '../schemas.js';

const edgeSchema = z.object({
  url: z
    .string()
    .nullable()
    .describe('the edge base URL, e.g. http://127.0.0.1:8080; null: unknown to this control plane'),
});

export const edgePlugin: FastifyPluginAsyncZod<{ edgeUrl: () => string | null }> = async (
  app,
  options,
) => {
  app.get(
    '/edge',
    {
      config: { role: 'viewer' },
      schema: { tags: ['routing'], response: { 200: edgeSchema, ...errorResponses } },
    },
    async () => ({ url: options.edgeUrl() }),
  );
};
