import type { FastifyInstance } from 'fastify';

/** Any Fastify app (its logger and type provider vary: the HTTP servers use pino and zod). */
// biome-ignore lint/suspicious/noExplicitAny: the hooks and routes here need none of those types
type AnyApp = FastifyInstance<any, any, any, any, any>;

import { withTraceContext } from '../tracing.ts';

/**
 * Every route handler runs with the caller's W3C trace context (`traceparent` / `tracestate`
 * headers) as the active one, so a turn it starts is a child of the caller's span. A no-op
 * without tracing (OTEL_EXPORTER_OTLP_ENDPOINT unset).
 */
export function acceptTraceContext(app: AnyApp): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function traced(request, reply) {
      return withTraceContext(request.headers, () => handler.call(this, request, reply));
    };
  });
}
