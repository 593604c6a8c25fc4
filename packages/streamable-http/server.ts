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
 * Run it:   pnpm serve streamable-http   (http://127.0.0.1:8002, PORT overrides)
 * Try it:   pnpm client streamable-http       or the `curl -N` calls in README.md,
 *           or open http://127.0.0.1:8002/demo
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import {
  ChatError,
  type ChatEvent,
  type ChatServer,
  ChatService,
  type Config,
  isMain,
  loadConfig,
  runMain,
  runServer,
  type Stats,
  writeWithBackpressure,
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
  // With REDIS_URL, sessions (and cancels) are shared with every other instance, whatever its
  // protocol; without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'streamable-http'));
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
          429: ErrorResponseSchema.describe(
            'rate_limited: RATE_LIMIT_MAX requests per window or MAX_CONCURRENT_STREAMS replies in flight (see retry-after)',
          ),
          500: ErrorResponseSchema.describe('internal: an unexpected failure'),
        },
      },
      // Bodies are counted by the shared hook (core/src/http/metrics-route.ts); the lines as written.
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

      // Known to the preClose hook until the response is over.
      const res = reply.raw;
      const ended = new Promise<void>((resolve) => res.once('close', resolve));
      streaming.add(ended);
      void ended.then(() => streaming.delete(ended));

      // From here on we write the response ourselves: hijack() tells Fastify not to send one.
      // Why not `reply.send(Readable.from(lines))`? It works, but every line then crosses a stream
      // pipe and extra event-loop turns before it reaches the socket: per-line CPU, and usually a
      // separate socket write per line even when the model produced many in the same instant.
      // Writing to the response directly is what the bare node:http floor of the benchmark does.
      //
      // Flushing without losing batching: Node corks a chunked response for the rest of the current
      // tick on every write() and uncorks on process.nextTick. So a token that arrives alone (the
      // normal, paced case) is on the wire at the end of the tick it arrived in, with no timer and no
      // added latency; tokens that arrive together (a fast model, or a reader that fell behind) leave
      // in ONE write. No explicit cork()/uncork() is needed, and adding a delay to batch more would
      // only trade latency for fewer syscalls.
      //
      // What hijacking costs: Fastify's onSend/onResponse hooks and its "request completed" log no
      // longer run for this response (we log it below), and headers set on `reply` must be copied.
      reply
        .code(200)
        .type(NDJSON_CONTENT_TYPE)
        // Never cached, never transformed by a proxy (a compressing proxy flushes in blocks).
        .header('cache-control', 'no-cache, no-transform')
        // nginx buffers proxied responses unless told not to; this turns it off for this response.
        .header('x-accel-buffering', 'no')
        .hijack();
      // Hijacked, Fastify no longer writes the headers set on `reply`: these, and those the app's
      // hooks set (CORS). Copy them to the raw response and send the head.
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if (value !== undefined) res.setHeader(name, value);
      }
      res.writeHead(200);
      // No compression on this route: a gzip stream holds bytes back until its block fills, which
      // would undo the per-line flush. (Core registers no compression; with @fastify/compress you
      // would set `compress: false` on this route.)

      // Each event, one line, as soon as it is produced. A terminal event (`done`, `error`) goes out
      // with end(), so the last line and the end of the chunked body leave in one packet and the
      // client's keep-alive connection is free for the next request at once.
      let event: ChatEvent = first.value;
      try {
        while ((await writeEvent(res, event, stats)) === 'open') {
          const step = await events.next();
          if (step.done) break;
          event = step.value;
        }
      } catch (error) {
        // reply() reports failures as `error` events, so this is a broken store or a bug. The status
        // (200) has been sent already; the contract's way to fail now is a final `error` line.
        request.log.error({ err: error }, 'reply stream failed');
        const messageId = first.value.type === 'start' ? first.value.messageId : undefined;
        await writeEvent(res, { type: 'error', messageId, error: ChatError.from(error).toJSON() }, stats);
      } finally {
        // Ended early (the client went, or a bug): stop the model and keep the partial reply.
        await events.return();
        if (!res.writableEnded) res.end();
        request.log.info(
          { statusCode: 200, responseTime: reply.elapsedTime, lastEvent: event.type },
          'request completed',
        );
      }
    },
  );

  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(demoPage),
  );

  return httpChatServer('streamable-http', app, chat, { ownsChat });
}

/**
 * Write one event as one line and wait while the socket is full. A terminal event ends the
 * response. Resolves to 'closed' once the response is over (ended, or the client went away).
 */
async function writeEvent(res: ServerResponse, event: ChatEvent, stats: Stats): Promise<'open' | 'closed'> {
  if (res.destroyed || res.writableEnded) return 'closed';
  const line = toLine(event);
  stats.addBytesSent(Buffer.byteLength(line));
  if (event.type === 'done' || event.type === 'error') {
    res.end(line);
    return 'closed';
  }
  // Backpressure: write() returns false when the client reads slower than the model writes.
  // Waiting for 'drain' pauses the generator (and so the model) instead of growing a buffer.
  await writeWithBackpressure(res, line);
  return res.destroyed ? 'closed' : 'open';
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
