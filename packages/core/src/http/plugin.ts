import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { originAllowed, redactUrl, requestToken, tokenMatches } from '../auth.ts';
import type { ChatService } from '../chat-service.ts';
import type { Config } from '../config.ts';
import type { Protocol } from '../constants.ts';
import { ChatError, type ErrorCode } from '../errors.ts';
import {
  ErrorResponseSchema,
  HealthSchema,
  HistorySchema,
  SessionListSchema,
  SessionParamsSchema,
  SessionSchema,
  StatsSchema,
  sessionErrors,
} from './schemas.ts';

export interface HttpAppOptions {
  protocol: Protocol;
  config: Config;
  chat: ChatService;
  /** Shown at the top of the OpenAPI document. */
  description?: string;
}

/** The `{error:{code,message}}` body for any error, and its HTTP status. */
export function errorResponse(error: unknown): { status: number; body: z.infer<typeof ErrorResponseSchema> } {
  const fastifyError = error as Partial<FastifyError> | undefined;
  let chatError: ChatError;
  if (error instanceof ChatError) chatError = error;
  else if (hasZodFastifySchemaValidationErrors(error)) {
    const issue = error.validation[0];
    const where = issue?.instancePath
      ? `${error.validationContext ?? 'body'}${issue.instancePath.replaceAll('/', '.')}`
      : (error.validationContext ?? 'request');
    chatError = new ChatError('invalid_request', `${where}: ${issue?.message ?? 'invalid'}`);
  } else if (fastifyError?.statusCode === 413) {
    chatError = new ChatError('payload_too_large', 'request body is larger than BODY_LIMIT_BYTES allows');
  } else if (fastifyError?.statusCode === 429) {
    chatError = new ChatError('rate_limited', fastifyError.message ?? 'too many requests');
  } else if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Malformed JSON, a wrong content type, an empty body: the client's fault, said plainly.
    chatError = new ChatError('invalid_request', fastifyError.message ?? 'invalid request');
  } else chatError = ChatError.from(error);
  return { status: chatError.httpStatus, body: { error: chatError.toJSON() } };
}

/** Answer with an error in the contract's shape. */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body } = errorResponse(error);
  if (error instanceof ChatError && error.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(error.retryAfterSeconds));
  }
  return reply.code(status).send(body);
}

/**
 * A Fastify app with everything the four HTTP servers share: zod validation, the error shape,
 * health, stats, session and history routes, the OpenAPI document and Swagger UI. Each
 * protocol's server.ts adds its own chat route(s) to it.
 */
export async function createHttpApp(options: HttpAppOptions) {
  const { protocol, config, chat } = options;
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    logger:
      config.logLevel === 'silent'
        ? false
        : {
            level: config.logLevel,
            // An EventSource or a page may carry ?access_token=: never write it to the log.
            serializers: {
              req: (req) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
            },
          },
    // At shutdown, after the preClose hooks have ended the streams, every connection still open
    // is closed, so close() never waits on a keep-alive or a spare connection.
    forceCloseConnections: true,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    const { status } = errorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    chat.stats.recordError(errorResponse(error).body.error.code as ErrorCode);
    return sendError(reply, error);
  });
  // Browser origins: the server's own pages, plus ALLOWED_ORIGINS exactly (no wildcard, so
  // credentials are never offered to any site). Requests without Origin (curl, Node) pass.
  app.addHook('onRequest', async (request) => {
    if (!originAllowed(request.headers.origin, request.headers.host, config.allowedOrigins)) {
      throw new ChatError('forbidden', `origin ${request.headers.origin} is not allowed (ALLOWED_ORIGINS)`);
    }
  });
  await app.register(fastifyCors, {
    origin: config.allowedOrigins.length ? config.allowedOrigins : false,
    exposedHeaders: ['retry-after'],
  });

  // The rate limit (a route-level onRequest hook) runs before the token check (preParsing, so an
  // unauthenticated body is never parsed): refused tokens count too, guessing is throttled.
  if (config.rateLimitMax > 0) {
    await app.register(fastifyRateLimit, {
      max: config.rateLimitMax,
      timeWindow: config.rateLimitWindowMs,
      allowList: (request) => request.url === '/health',
      errorResponseBuilder: (_request, context) =>
        new ChatError(
          'rate_limited',
          `more than ${context.max} requests in ${Math.round(config.rateLimitWindowMs / 1000)} s; retry after ${context.after} (RATE_LIMIT_MAX)`,
        ),
    });
  }

  // Unknown routes are answered in the error shape, and count against the rate limit too.
  app.setNotFoundHandler(config.rateLimitMax > 0 ? { preHandler: app.rateLimit() } : {}, (request, reply) =>
    sendError(reply, new ChatError('not_found', `no route ${request.method} ${request.url}`)),
  );

  // AUTH_TOKEN: everything but the health probe needs it (header, or ?access_token= where a
  // browser cannot set one: see core/src/auth.ts).
  if (config.authToken) {
    const token = config.authToken;
    app.addHook('preParsing', async (request, reply) => {
      if (request.method === 'GET' && request.url === '/health') return;
      if (request.method === 'OPTIONS') return;
      if (!tokenMatches(requestToken(request.headers, request.url), token)) {
        reply.header('www-authenticate', 'Bearer realm="genai-transports"');
        throw new ChatError(
          'unauthorized',
          'missing or wrong token: send Authorization: Bearer <AUTH_TOKEN>',
        );
      }
    });
  }

  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: `genai-transports: ${protocol}`,
        description: options.description ?? `The ${protocol} server of genai-transports.`,
        version: '0.1.0',
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  const startedAt = performance.now();
  const params = SessionParamsSchema;

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get(
    '/health',
    {
      schema: {
        tags: ['server'],
        summary: 'Liveness, the model in use, and whether the shared store answers',
        response: { 200: HealthSchema, 503: HealthSchema },
      },
    },
    async (_request, reply) => {
      const reachable = await chat.dependencies();
      const healthy = reachable.store && reachable.broker;
      return reply.code(healthy ? 200 : 503).send({
        status: healthy ? ('ok' as const) : ('degraded' as const),
        protocol,
        model: chat.model.info,
        uptimeSeconds: Math.round((performance.now() - startedAt) / 1000),
        dependencies: {
          store: { kind: chat.store.kind, reachable: reachable.store },
          broker: { kind: chat.broker.kind, reachable: reachable.broker },
        },
      });
    },
  );

  app.get(
    '/stats',
    {
      schema: {
        tags: ['server'],
        summary: 'Counters and latency percentiles',
        response: { 200: StatsSchema },
      },
    },
    async () => chat.snapshot(),
  );

  app.post(
    '/sessions',
    { schema: { tags: ['sessions'], summary: 'Create a session', response: { 201: SessionSchema } } },
    async (_request, reply) => reply.code(201).send(await chat.createSession()),
  );

  app.get(
    '/sessions',
    { schema: { tags: ['sessions'], summary: 'List sessions', response: { 200: SessionListSchema } } },
    async () => ({ sessions: await chat.listSessions() }),
  );

  app.get(
    '/sessions/:id',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Get a session',
        params,
        response: { 200: SessionSchema, ...sessionErrors },
      },
    },
    async (request) => chat.getSession(request.params.id),
  );

  app.delete(
    '/sessions/:id',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Delete a session (cancels its reply in flight)',
        params,
        response: { 204: z.null().describe('deleted'), ...sessionErrors },
      },
    },
    async (request, reply) => {
      await chat.deleteSession(request.params.id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/sessions/:id/messages',
    {
      schema: {
        tags: ['history'],
        summary: 'The conversation so far',
        params,
        response: { 200: HistorySchema, ...sessionErrors },
      },
    },
    async (request) => ({ messages: await chat.history(request.params.id) }),
  );

  app.delete(
    '/sessions/:id/messages',
    {
      schema: {
        tags: ['history'],
        summary: 'Clear the conversation',
        params,
        response: { 204: z.null().describe('cleared'), 409: ErrorResponseSchema, ...sessionErrors },
      },
    },
    async (request, reply) => {
      await chat.clearHistory(request.params.id);
      return reply.code(204).send(null);
    },
  );

  return app;
}

export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;
