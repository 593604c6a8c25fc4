import { readFileSync } from 'node:fs';
import type { SwaggerOptions } from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { Protocol } from '../constants.ts';
import { ErrorResponseSchema } from './schemas.ts';

/** The version in the OpenAPI and AsyncAPI documents: core's package.json. */
export const API_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Stable operation ids of the routes the servers share, and of each protocol's own. */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /health': 'getHealth',
  'GET /stats': 'getStats',
  'GET /metrics': 'getMetrics',
  'POST /sessions': 'createSession',
  'GET /sessions': 'listSessions',
  'GET /sessions/:id': 'getSession',
  'DELETE /sessions/:id': 'deleteSession',
  'GET /sessions/:id/messages': 'getHistory',
  'DELETE /sessions/:id/messages': 'clearHistory',
  'POST /sessions/:id/messages': 'sendMessage',
  'GET /sessions/:id/events': 'streamSessionEvents',
  'POST /sessions/:id/cancel': 'cancelReply',
  'GET /ws': 'openWebSocket',
  'GET /asyncapi.json': 'getAsyncApi',
};

/** Routes that answer without the access check (a probe must not need credentials). */
const OPEN_ROUTES = new Set(['GET /health']);

/** An operation id for a route nobody named: `get` + `SessionsIdEvents`-style path words. */
function derivedOperationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter(Boolean)
    .map((part) => part.replace(/^:/, 'by-'))
    .flatMap((part) => part.split(/[^a-zA-Z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const ACCESS_ERRORS = {
  401: 'unauthorized: no credentials, or a wrong token or JWT (AUTH_TOKEN, JWT_SECRET/JWT_JWKS_URL); see www-authenticate',
  403: 'forbidden: an Origin that is not the server itself or in ALLOWED_ORIGINS',
  429: 'rate_limited: over RATE_LIMIT_MAX requests per window (see retry-after)',
} as const;

type Schema = Record<string, unknown>;

/**
 * @fastify/swagger options for the four HTTP servers: the zod route schemas as JSON Schema, and
 * what a reviewer's tools look for: an operationId on every operation, the security schemes
 * (AUTH_TOKEN bearer, JWT bearer, `?access_token=`) and `security`, the access check's
 * 401/403/429 on every route it guards, 204s without a body, the version from package.json.
 */
export function openapiOptions(protocol: Protocol, description: string): SwaggerOptions {
  return {
    openapi: {
      openapi: '3.0.3',
      info: { title: `genai-transports: ${protocol}`, description, version: API_VERSION },
      components: {
        securitySchemes: {
          bearerToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'AUTH_TOKEN, when the server sets it: `Authorization: Bearer <AUTH_TOKEN>`',
          },
          jwt: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description: 'A JWT verified with JWT_SECRET or JWT_JWKS_URL; its `sub` is the principal',
          },
          accessTokenQuery: {
            type: 'apiKey',
            in: 'query',
            name: 'access_token',
            description:
              'The same token or JWT as a query parameter, for what cannot set headers (EventSource, a WebSocket upgrade)',
          },
        },
      },
      // Any one of them; with no AUTH_TOKEN and no JWT settings the server asks for none.
      security: [{ bearerToken: [] }, { jwt: [] }, { accessTokenQuery: [] }, {}],
    },
    transform: (input) => {
      const key = `${input.route.method} ${input.url}`;
      const schema = { ...((input.schema ?? {}) as Schema) };
      if (!schema.hide) {
        schema.operationId ??=
          OPERATION_IDS[key] ?? derivedOperationId(String(input.route.method), input.url);
        if (OPEN_ROUTES.has(key)) schema.security = [];
        else {
          const response = { ...((schema.response as Schema | undefined) ?? {}) };
          for (const [status, text] of Object.entries(ACCESS_ERRORS)) {
            response[status] ??= ErrorResponseSchema.describe(text);
          }
          schema.response = response;
        }
      }
      return jsonSchemaTransform({ ...input, schema } as typeof input);
    },
    transformObject: (documentObject) => {
      const document = (documentObject as { openapiObject: Schema }).openapiObject as Schema & {
        paths?: Record<string, Record<string, { responses?: Record<string, Schema> }>>;
      };
      for (const operations of Object.values(document.paths ?? {})) {
        for (const operation of Object.values(operations)) {
          const noContent = operation.responses?.['204'];
          if (noContent) delete noContent.content; // "No Content" has no body
        }
      }
      return document;
    },
  };
}
