/**
 * One pino logger per server process, the same for all five: Fastify takes it as its
 * `loggerInstance`, the gRPC server and ChatService log through it, and the Redis classes get a
 * child of it. LOG_LEVEL sets its level; `silent` turns it off. A URL's `access_token` never
 * reaches a line (see `redactUrl`).
 */
import { type Logger, pino } from 'pino';
import { redactUrl } from './auth.ts';
import type { Config } from './config.ts';

export type { Logger } from 'pino';

export function createLogger(
  config: Pick<Config, 'logLevel'>,
  bindings: Record<string, unknown> = {},
): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid, ...bindings },
    serializers: {
      err: pino.stdSerializers.errWithCause,
      req: (req: { method?: string; url?: string; ip?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ''),
        remoteAddress: req.ip,
      }),
    },
  });
}

/** A logger that writes nothing: the default of library classes constructed without one. */
export const silentLogger: Logger = pino({ level: 'silent' });
