/**
 * Streamable HTTP server: one POST whose answer streams, one JSON event per line (NDJSON).
 *
 * What it teaches:
 * - `POST /sessions/:id/messages {text}` answers `200 application/x-ndjson`: every ChatEvent
 *   (`start`, `delta`…, `done` | `error`) is one line of JSON, written to the socket the moment
 *   the model produces it. It is still plain HTTP/1.1 (chunked transfer encoding): curl, fetch,
 *   undici and any proxy understand it, and there is no second channel to manage.
 * - Errors before the stream (unknown session, bad body, too large, busy) are ordinary JSON
 *   error responses with their status: the first event is pulled BEFORE the headers are written.
 *   Once the 200 is out a status can no longer change, so a later failure is a final `error` line.
 * - Cancellation is the connection: when the client disconnects (Ctrl+C, a closed tab, Stop in the
 *   demo), the AbortSignal handed to the model fires, generation stops, and the partial reply is
 *   kept in the history marked `interrupted`.
 * - A browser demo at GET /demo (public/demo.html): fetch + the body's reader, no library.
 *
 * Run it:   pnpm server streamable-http       (http://127.0.0.1:8002, PORT overrides)
 * Try it:   pnpm client streamable-http       or the `curl -N` calls in README.md,
 *           or open http://127.0.0.1:8002/demo
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  ChatError,
  type ChatEvent,
  type ChatServer,
  ChatService,
  type Config,
  DEFAULT_PORTS,
  isMain,
  loadConfig,
  runMain,
  runServer,
} from '@gtp/core';
import {
  ChatEventSchema,
  createHttpApp,
  ErrorResponseSchema,
  httpChatServer,
  MessageBodySchema,
  SessionParamsSchema,
} from '@gtp/core/http';

/** The media type of the streamed answer: newline-delimited JSON, one ChatEvent per line. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

export interface StreamableHttpServerOptions {
  /** Defaults to the environment (`loadConfig()`). */
  config?: Config;
  /** Defaults to a service with the store and model the configuration asks for. */
  chat?: ChatService;
}

const DESCRIPTION = `The Streamable HTTP server of genai-transports: one POST whose answer streams.

\`POST /sessions/{id}/messages\` answers \`application/x-ndjson\`: one ChatEvent per line
(\`start\`, \`delta\`…, then \`done\` or \`error\`), each written as the model produces it.
Errors found before the stream starts are \`{"error": {"code", "message"}}\` with their HTTP status;
a failure after it started is a final \`error\` line. Closing the connection cancels the reply.`;

/** One ChatEvent as one NDJSON line. JSON.stringify never emits a raw newline, so a line is an event. */
export function toLine(event: ChatEvent): string {
  return `${JSON.stringify(event)}\n`;
}

export async function createServer(options: StreamableHttpServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  const chat = options.chat ?? ChatService.fromConfig(config, 'streamable-http');
  const stats = chat.stats;
  const demoPage = await readFile(new URL('./public/demo.html', import.meta.url), 'utf8');

  // Health, stats, sessions, history, /openapi.json and /docs come from core; the chat route is ours.
  const app = await createHttpApp({ protocol: 'streamable-http', config, chat, description: DESCRIPTION });

  // Graceful shutdown. close() cancels every reply first (httpChatServer), so each stream writes
  // its final `done` line (finishReason "cancelled") and ends. Fastify closes only the keep-alive
  // connections that are idle when preClose is over, so wait here for the streams to end: their
  // connections are then idle too, and close instead of lingering until the keep-alive timeout.
  const streaming = new Set<Promise<void>>();
  app.addHook('preClose', async () => {
    await Promise.all(streaming);
  });

  // "connections" in /stats: the TCP connections open right now (keep-alive ones included).
  app.server.on('connection', (socket) => socket.once('close', stats.connectionOpened()));

  app.post(
    '/sessions/:id/messages',
    {
      schema: {
        tags: ['chat'],
        summary: 'Send a message; the reply streams back as NDJSON, one ChatEvent per line',
        description:
          'The answer is `application/x-ndjson`: `start`, one `delta` per chunk of text, then `done` ' +
          '(finishReason stop | max_tokens | cancelled) or `error`. Each line is flushed as the model ' +
          'produces it. One reply at a time per session (409 session_busy). Closing the connection ' +
          'cancels the model; the partial reply is kept in the history, marked interrupted.',
        params: SessionParamsSchema,
        body: MessageBodySchema,
        response: {
          200: {
            description: 'The reply as a stream of lines; each line is one ChatEvent',
            content: { 'application/x-ndjson': { schema: ChatEventSchema } },
          },
          400: ErrorResponseSchema.describe('invalid_request: malformed JSON, a wrong type, a blank text'),
          404: ErrorResponseSchema.describe('session_not_found: no session with this id'),
          409: ErrorResponseSchema.describe('session_busy: the session is already replying'),
          413: ErrorResponseSchema.describe('payload_too_large: over MAX_MESSAGE_CHARS or BODY_LIMIT_BYTES'),
          500: ErrorResponseSchema.describe('internal: an unexpected failure'),
        },
      },
      onRequest: async (request) => {
        stats.addBytesReceived(Number(request.headers['content-length'] ?? 0) || 0);
      },
      // Error bodies are strings; the stream's lines are counted as they are written.
      onSend: async (_request, _reply, payload) => {
        if (typeof payload === 'string' || Buffer.isBuffer(payload))
          stats.addBytesSent(Buffer.byteLength(payload));
        return payload;
      },
    },
    async (request, reply) => {
      // The reply's lifetime is the connection's: if the client goes away before we end the
      // response, abort the model (it stops generating and stops costing tokens).
      const controller = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished)
          controller.abort(new ChatError('internal', 'the client disconnected'));
      });

      const events = chat.reply(request.params.id, request.body.text, { signal: controller.signal });
      // Pull the first event BEFORE committing to a 200. reply() throws ChatError for an unknown
      // session, a bad text, a busy session (history untouched); the app's error handler then
      // answers with the status and the JSON `{error}` body. After `start`, nothing throws.
      const first = await events.next();
      if (first.done) throw new ChatError('internal', 'the reply ended before it started');

      reply
        .code(200)
        .type(NDJSON_CONTENT_TYPE)
        // Never cached, never transformed by a proxy (a compressing proxy flushes in blocks).
        .header('cache-control', 'no-cache, no-transform')
        // nginx buffers proxied responses unless told not to; this turns it off for this response.
        .header('x-accel-buffering', 'no');
      // No compression on this route: a gzip stream holds bytes back until its block fills, which
      // would undo the per-line flush. (Core registers no compression; with @fastify/compress you
      // would set `compress: false` on this route.)

      // Known to the preClose hook until the response is over.
      const ended = new Promise<void>((resolve) => reply.raw.once('close', resolve));
      streaming.add(ended);
      void ended.then(() => streaming.delete(ended));

      // Why a Readable and not reply.hijack(): one request streams one async iterable, which is
      // exactly what Fastify's stream support is for. `reply.send(stream)` pipes it to the socket
      // with backpressure (a slow reader pauses the generator instead of growing a buffer), each
      // line goes out as its own chunk (Node sets TCP_NODELAY), and when the client disconnects
      // Fastify destroys the stream, which `return()`s our generator and so chat.reply's (the
      // AbortController above makes that immediate, even while the model is between tokens). Fastify
      // keeps owning the response: hooks, logging, and the 503-while-closing all still work.
      // hijack() is for servers that must own the socket, like the SSE fan-out with its own queue.
      const body = Readable.from(ndjson(first.value, events, (bytes) => stats.addBytesSent(bytes)));
      // The 200 schema documents ONE line (for /openapi.json); the payload is a stream of such
      // lines, which Fastify pipes without serialising. The type provider cannot say so: cast.
      return reply.send(body as unknown as ChatEvent);
    },
  );

  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(demoPage),
  );

  return httpChatServer('streamable-http', app, chat);
}

/** The events as NDJSON lines: the one already pulled, then the rest as they come. */
async function* ndjson(
  first: ChatEvent,
  rest: AsyncGenerator<ChatEvent, void>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<string> {
  const emit = (event: ChatEvent) => {
    const line = toLine(event);
    onBytes(Buffer.byteLength(line));
    return line;
  };
  try {
    yield emit(first);
    for await (const event of rest) yield emit(event);
  } catch (error) {
    // reply() reports failures as `error` events, so this is a broken store or a bug. The status
    // (200) has been sent already; the contract's way to fail now is a final `error` line.
    yield emit({
      type: 'error',
      messageId: first.type === 'start' ? first.messageId : undefined,
      error: ChatError.from(error).toJSON(),
    });
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), {
      port: config.port,
      defaultPort: DEFAULT_PORTS['streamable-http'],
      host: config.host,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
    });
  });
}
