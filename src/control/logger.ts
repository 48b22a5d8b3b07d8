// The logger the control plane's background workers take: a pino logger, or Fastify's `app.log`.

import type { Logger } from 'pino';

export type ControlLogger = Pick<Logger, 'error' | 'warn' | 'info' | 'debug'>;
