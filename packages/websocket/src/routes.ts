/**
 * The plain HTTP routes of the WebSocket server, beside the shared ones of @gtp/core/http
 * (sessions, health, stats, docs): `GET /ws` without an upgrade, documented in the OpenAPI
 * document and answered with 426, the protocol's AsyncAPI document at `GET /asyncapi.json`
 * (src/asyncapi.ts), and the browser demo at `GET /demo` (public/demo.html).
 */
import { readFile } from 'node:fs/promises';
import { API_VERSION, ErrorResponseSchema, type HttpApp } from '@gtp/core/http';
import { z } from 'zod';
import { asyncApiDocument } from './asyncapi.ts';
import { WS_PATH } from './protocol.ts';

/** The path of the WebSocket protocol's AsyncAPI document. */
export const ASYNCAPI_PATH = '/asyncapi.json';

export async function addHttpRoutes(app: HttpApp): Promise<void> {
  // A plain GET /ws (no Upgrade header) reaches Fastify: say what is expected, and document it.
  app.get(
    WS_PATH,
    {
      schema: {
        tags: ['chat'],
        summary: 'WebSocket endpoint (JSON text frames; see the package README)',
        description:
          'Upgrade to a WebSocket. Client frames: join {sessionId?, after?}, send {text}, cancel, typing {active}, ping {ts}, share {principal}. ' +
          'Server frames: joined, presence, message, typing, start/delta/done/error, pong, shared, reset. ' +
          `Every frame and field: the AsyncAPI 3 document at ${ASYNCAPI_PATH}.`,
        response: { 426: ErrorResponseSchema },
      },
    },
    async (_request, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send({ error: { code: 'invalid_request', message: `GET ${WS_PATH} needs a WebSocket upgrade` } }),
  );

  app.get(
    ASYNCAPI_PATH,
    {
      schema: {
        tags: ['chat'],
        summary: 'The WebSocket protocol as an AsyncAPI 3 document (every client and server frame)',
        response: {
          200: {
            description: 'AsyncAPI 3, generated from the zod frame schemas',
            content: { 'application/json': { schema: z.looseObject({ asyncapi: z.string() }) } },
          },
        },
      },
    },
    // The server entry names the host this request reached, so the document works as it is fetched.
    async (request) =>
      asyncApiDocument({ version: API_VERSION, host: request.host, secure: request.protocol === 'https' }),
  );

  const demoPage = await readFile(new URL('../public/demo.html', import.meta.url), 'utf8');
  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(demoPage),
  );
}
