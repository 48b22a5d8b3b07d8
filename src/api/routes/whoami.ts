// GET /v1/whoami: who the request's token is, so a client (the dashboard) can show the name and hide
// what the role may not do. Insecure local mode answers the local admin.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnoutError } from '../../errors.js';
import { TOKEN_ROLES } from '../auth.js';
import { errorResponses } from '../schemas.js';

const principalSchema = z.object({
  name: z.string().describe("the token's name: the actor the audit log records"),
  role: z.enum(TOKEN_ROLES).describe('viewer < releaser < admin; agent: a host agent'),
});

export const whoamiPlugin: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/whoami',
    {
      config: { role: 'viewer' },
      schema: { tags: ['auth'], response: { 200: principalSchema, ...errorResponses } },
    },
    async (req) => {
      if (req.principal === null) throw new TurnoutError('unauthorized', 'not authenticated');
      return { name: req.principal.name, role: req.principal.role };
    },
  );
};
