import type { FastifyInstance } from 'fastify';

/** Any Fastify app (its logger and type provider vary: the HTTP servers use pino and zod). */
// biome-ignore lint/suspicious/noExplicitAny: the hooks and routes here need none of those types
type AnyApp = FastifyInstance<any, any, any, any, any>;

import { z } from 'zod';
import type { ChatService } from '../chat-service.ts';
import { dependencyProbe } from '../metrics-server.ts';

/**
 * GET /metrics: the Prometheus text exposition of this instance (prom-client), the same names and
 * labels on all five servers (the gRPC server serves it on METRICS_PORT, see metrics-server.ts).
 * Behind the same access check as every route but /health: give the scraper the token.
 */
export async function metricsRoute(app: AnyApp, options: { chat: ChatService }): Promise<void> {
  const { chat } = options;
  const probe = dependencyProbe(chat);
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['server'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics of this instance (text exposition format)',
        response: {
          200: {
            description: 'Counters, gauges and histograms named gtp_*, plus the process metrics',
            content: { 'text/plain': { schema: z.string() } },
          },
        },
      },
    },
    async (_request, reply) =>
      reply.type(chat.stats.metrics.contentType).send(await chat.stats.metrics.scrape(probe)),
  );
}

/** Whether a route's bytes count in /stats and /metrics: the API (sessions, history, chat). */
export function isApiRoute(url: string | undefined): boolean {
  return url === '/sessions' || (url?.startsWith('/sessions/') ?? false);
}

/**
 * The one byte count of the four HTTP servers: request and response bodies of the API routes.
 * What a route writes itself (SSE frames, NDJSON lines) it counts where it writes.
 */
export async function apiByteCount(app: AnyApp, options: { chat: ChatService }): Promise<void> {
  const { stats } = options.chat;
  app.addHook('onRequest', async (request) => {
    if (isApiRoute(request.routeOptions.url)) {
      stats.addBytesReceived(Number(request.headers['content-length'] ?? 0) || 0);
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const delivered = !reply.raw.destroyed; // not when the client has already gone
    if (delivered && isApiRoute(request.routeOptions.url)) {
      if (typeof payload === 'string' || Buffer.isBuffer(payload))
        stats.addBytesSent(Buffer.byteLength(payload));
    }
    return payload;
  });
}
