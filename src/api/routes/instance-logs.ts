// GET /v1/instances/:id/logs: the tail of an instance's output, from the runtime that runs it on
// this control plane's host. Instances run elsewhere (agents, Kubernetes) answer not_found here.

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { TurnoutError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Store } from '../../store/store.js';
import { errorResponses, keySchema } from '../schemas.js';
import { found } from './common.js';

export interface InstanceLogsOptions {
  store: Store;
  runtime: Runtime | null;
}

const logsSchema = z.object({
  id: z.string(),
  lines: z.array(z.string()),
  /** Where the lines come from when not the instance's own log here (an agent's last report). */
  from: z.string().optional(),
});

export const instanceLogsPlugin: FastifyPluginAsyncZod<InstanceLogsOptions> = async (
  app,
  options,
) => {
  app.get(
    '/instances/:id/logs',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['instances'],
        params: z.object({ id: keySchema }),
        querystring: z.strictObject({
          tail: z.coerce.number().int().min(1).max(10_000).default(200),
        }),
        response: { 200: logsSchema, ...errorResponses },
      },
    },
    async (req) => {
      const instance = found(
        await options.store.getInstance(req.params.id),
        'instance',
        req.params.id,
      );
      const runtime = options.runtime;
      if (runtime === null) {
        throw new TurnoutError(
          'not_found',
          `instance ${instance.id}: no runtime on this control plane keeps its logs`,
        );
      }
      const text = await runtime.logs(instance.id, { tailLines: req.query.tail });
      const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
      const from = (await runtime.logOrigin?.(instance.id)) ?? null;
      return { id: instance.id, lines, ...(from === null ? {} : { from }) };
    },
  );
};
