import fastifyCors from '@fastify/cors';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyError, type FastifyReply } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type Access, type AccessCheck, createAccessCheck } from '../access.ts';
import type { ChatService } from '../chat-service.ts';
import type { Config } from '../config.ts';
import { HEADERS_TIMEOUT_MS, type Protocol } from '../constants.ts';
import { ChatError } from '../errors.ts';
import { createLogger, type Logger } from '../logger.ts';
import { fastifyTlsOptions } from '../tls.ts';
import { apiByteCount, metricsRoute } from './metrics-route.ts';
import { openapiOptions } from './openapi.ts';
import {
  ErrorResponseSchema,
  HealthSchema,
  HistorySchema,
  SessionListQuerySchema,
  SessionListSchema,
  SessionParamsSchema,
  SessionSchema,
  ShareBodySchema,
  StatsSchema,
  sessionErrors,
} from './schemas.ts';
import { securityHeaders } from './security-headers.ts';
import { acceptTraceContext } from './trace-context.ts';
import { OPEN_UI_PATHS, uiRoutes } from './ui.ts';

export interface HttpAppOptions {
  protocol: Protocol;
  config: Config;
  chat: ChatService;
  /** Shown at the top of the OpenAPI document. */
  description?: string;
  /** The process's logger (default: `createLogger(config, { protocol })`). */
  logger?: Logger;
  /**
   * The access check (default: one made from `config`). A server that also checks what bypasses
   * Fastify's routes (the WebSocket upgrade) passes the one it uses, so one check guards both.
   */
  access?: AccessCheck;
}

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * Who is calling, set by the access check before any route runs (every request but a CORS
     * preflight, which carries no credentials and reaches no route).
     */
    access: Access;
  }
}

/** The realm a 401 names in its `www-authenticate` challenge. */
const AUTH_REALM = 'genai-transports';

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
  } else if (fastifyError?.code === 'FST_ERR_MAX_PARAM_LENGTH' || fastifyError?.code === 'FST_ERR_BAD_URL') {
    // Fastify's own router errors: said in our shape, never echoing the (attacker's) URL.
    const tooLong = fastifyError.code === 'FST_ERR_MAX_PARAM_LENGTH';
    const message = tooLong ? 'a path parameter is longer than the server accepts' : 'the URL is not valid';
    return {
      status: tooLong ? 414 : 400,
      body: { error: new ChatError('invalid_request', message).toJSON() },
    };
  } else if (fastifyError?.statusCode === 413) {
    chatError = new ChatError('payload_too_large', 'request body is larger than BODY_LIMIT_BYTES allows');
  } else if (fastifyError?.statusCode && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    // Malformed JSON, a wrong content type, an empty body: the client's fault, said plainly.
    chatError = new ChatError('invalid_request', fastifyError.message ?? 'invalid request');
  } else chatError = ChatError.from(error);
  return { status: chatError.httpStatus, body: { error: chatError.toJSON() } };
}

/**
 * Answer with an error in the contract's shape, with the headers its code calls for: a 401's
 * `www-authenticate` challenge, a `retry-after` when the error says how long to wait.
 */
export function sendError(reply: FastifyReply, error: unknown): FastifyReply {
  const { status, body } = errorResponse(error);
  if (body.error.code === 'unauthorized') reply.header('www-authenticate', `Bearer realm="${AUTH_REALM}"`);
  if (body.error.retryAfterSeconds !== undefined) {
    reply.header('retry-after', String(body.error.retryAfterSeconds));
  }
  return reply.code(status).send(body);
}

/**
 * A Fastify app with everything the four HTTP servers share: the access check, zod validation,
 * the error shape, health, stats, session and history routes, the OpenAPI document and Swagger
 * UI. Each protocol's server.ts adds its own chat route(s) to it.
 */
export async function createHttpApp(options: HttpAppOptions) {
  const { protocol, config, chat } = options;
  const access = options.access ?? createAccessCheck(config);
  const app = Fastify({
    bodyLimit: config.bodyLimitBytes,
    // The process's one pino logger; its `req` serializer keeps ?access_token= out of every line.
    loggerInstance: options.logger ?? createLogger(config, { protocol }),
    // At shutdown, after the preClose hooks have ended the streams, every connection still open
    // is closed, so close() never waits on a keep-alive or a spare connection.
    forceCloseConnections: true,
    return503OnClosing: true,
    // A request (headers and body) must arrive within REQUEST_TIMEOUT_MS, its headers within
    // HEADERS_TIMEOUT_MS: a body that never finishes is answered 408 and closed (Fastify 5 leaves
    // requestTimeout at 0, never). Node checks every connectionsCheckingInterval, so that is a
    // fraction of the timeout. Responses are not bounded by it: SSE and NDJSON streams go on.
    requestTimeout: config.requestTimeoutMs,
    http: {
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(config.requestTimeoutMs / 4))),
    },
    // Fastify's router errors (a 414 path parameter, a bad URL) come in our shape (errorResponse).
    frameworkErrors: (error, _request, reply) => sendError(reply, error),
    // TLS_CERT_FILE + TLS_KEY_FILE: HTTPS, HTTP/2 with HTTP/1.1 by ALPN (core/src/tls.ts).
    ...fastifyTlsOptions(config.tls),
  }).withTypeProvider<ZodTypeProvider>();
  app.server.headersTimeout = Math.min(HEADERS_TIMEOUT_MS, config.requestTimeoutMs);
  // Shared limits live in Redis with REDIS_URL; a check made here is closed here.
  if (!options.access) app.addHook('onClose', async () => access.close());
  // JSON bodies: JSON.parse, then refuse prototype-poisoning keys by name (Fastify's own parser
  // refuses them too, but as "not valid JSON", which sends a client looking for a syntax error).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(new ChatError('invalid_request', 'the JSON body is empty'), undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body as string, (key, value) => {
        if (
          key === '__proto__' ||
          (key === 'constructor' && value && typeof value === 'object' && 'prototype' in value)
        ) {
          throw new ChatError(
            'invalid_request',
            `the JSON body must not contain a "${key}" key (prototype poisoning)`,
          );
        }
        return value;
      });
    } catch (error) {
      return done(
        error instanceof ChatError ? error : new ChatError('invalid_request', 'the body is not valid JSON'),
        undefined,
      );
    }
    done(null, parsed);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((error, request, reply) => {
    const { status, body } = errorResponse(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    chat.stats.recordError(body.error.code);
    return sendError(reply, error);
  });

  // The one access check (core/src/access.ts: rate limit, Origin, token), before anything else
  // runs: an unauthenticated body is never parsed, and unknown routes count against the rate
  // limit too (the hook runs for the not-found handler). The health probe is open and not
  // counted, and so are the design's files, the favicon, /demo and /demo.js (ui.ts: OPEN_UI_PATHS, they
  // carry no data). A CORS preflight passes to @fastify/cors: it carries no credentials by design.
  app.decorateRequest('access', null as unknown as Access);
  app.addHook('onRequest', async (request) => {
    if (request.method === 'OPTIONS') return;
    request.access = await access.check({
      transport: 'http',
      headers: request.headers,
      url: request.url,
      peer: request.socket.remoteAddress,
      probe:
        (request.method === 'GET' || request.method === 'HEAD') &&
        (request.routeOptions.url === '/health' || OPEN_UI_PATHS.has(request.routeOptions.url ?? '')),
    });
  });
  // CORS: the headers that let a page of ALLOWED_ORIGINS read the answers, for exactly those
  // origins (no wildcard, so credentials are never offered to any site). Which origins may call
  // at all is the access check's rule: the server's own pages, ALLOWED_ORIGINS, and no Origin.
  await app.register(fastifyCors, {
    origin: config.allowedOrigins.length ? config.allowedOrigins : false,
    methods: ['GET', 'HEAD', 'POST', 'DELETE'],
    exposedHeaders: ['retry-after'],
  });
  // Security headers on every answer (pages above all): a CSP that runs only the server's own
  // script files and frames nowhere, and the rest securityHeaders() lists. Swagger UI
  // (/docs) sets its own CSP for its bundle (`staticCSP`).
  await app.register(fastifyHelmet, {
    ...securityHeaders(),
    // The demos are read across origins by nobody, but /openapi.json may be: leave CORP out.
    crossOriginResourcePolicy: false,
  });

  // Unknown routes are answered in the error shape.
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ChatError('not_found', `no route ${request.method} ${request.url}`)),
  );

  await app.register(
    fastifySwagger,
    openapiOptions(protocol, options.description ?? `The ${protocol} server of genai-transports.`),
  );
  // Operations (metrics-route.ts, trace-context.ts): the API's bytes, GET /metrics, trace context.
  await apiByteCount(app, { chat });
  acceptTraceContext(app);
  await metricsRoute(app, { chat });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: true });
  await app.register(uiRoutes, { title: `${protocol} server`, protocol }); // the shared page design, favicon, GET /

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
      const healthy = reachable.store && reachable.broker && reachable.log;
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
    async (request, reply) => reply.code(201).send(await chat.createSession(caller(request))),
  );

  app.get(
    '/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: "The caller's sessions, oldest first, a page at a time (follow nextCursor)",
        querystring: SessionListQuerySchema,
        response: { 200: SessionListSchema, 400: ErrorResponseSchema },
      },
    },
    async (request) => chat.listSessions({ ...caller(request), ...request.query }),
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
    async (request) => chat.getSession(request.params.id, caller(request)),
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
      await chat.deleteSession(request.params.id, caller(request));
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
    async (request) => ({ messages: await chat.history(request.params.id, caller(request)) }),
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
      await chat.clearHistory(request.params.id, caller(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/sessions/:id/members',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Invite another principal into the session (its owner only)',
        params,
        body: ShareBodySchema,
        response: { 200: SessionSchema, 403: ErrorResponseSchema, ...sessionErrors },
      },
    },
    async (request) => chat.shareSession(request.params.id, request.body.principal, caller(request)),
  );

  return app;
}

/** The caller of a request, as ChatService methods take it. */
export function caller(request: { access: Access }): { principal: string } {
  return { principal: request.access.principal };
}

export type HttpApp = Awaited<ReturnType<typeof createHttpApp>>;
