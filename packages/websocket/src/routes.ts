/**
 * The plain HTTP routes of the WebSocket server, beside the shared ones of @gtp/core/http
 * (sessions, health, stats, docs): `GET /ws` without an upgrade, documented in the OpenAPI
 * document and answered with 426, and the browser demo at `GET /demo` (public/demo.html).
 */
import { readFile } from 'node:fs/promises';
import { ErrorResponseSchema, type HttpApp } from '@gtp/core/http';
import { WS_PATH } from './protocol.ts';

export async function addHttpRoutes(app: HttpApp): Promise<void> {
  // A plain GET /ws (no Upgrade header) reaches Fastify: say what is expected, and document it.
  app.get(
    WS_PATH,
    {
      schema: {
        tags: ['chat'],
        summary: 'WebSocket endpoint (JSON text frames; see the package README)',
        description:
          'Upgrade to a WebSocket. Client frames: join {sessionId?}, send {text}, cancel, typing {active}, ping {ts}. ' +
          'Server frames: joined, presence, message, typing, start/delta/done/error, pong.',
        response: { 426: ErrorResponseSchema },
      },
    },
    async (_request, reply) =>
      reply
        .code(426)
        .header('upgrade', 'websocket')
        .send({ error: { code: 'invalid_request', message: `GET ${WS_PATH} needs a WebSocket upgrade` } }),
  );

  const demoPage = await readFile(new URL('../public/demo.html', import.meta.url), 'utf8');
  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(demoPage),
  );
}
