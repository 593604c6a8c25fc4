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
 * - Every line carries `seq`, its place in the session's reply log (core's `chat.log`). A client
 *   whose connection dropped resumes with `GET /sessions/:id/replies/:messageId?after=<last seq>`
 *   (or `Last-Event-ID: <seq>`): the same NDJSON from that point, live to the end, on any instance.
 * - A dropped connection is not a Stop: when the client disconnects (a closed tab, a lost network)
 *   and nobody resumes the reply within RESUME_GRACE_MS, the AbortSignal handed to the model
 *   fires, generation stops, and the partial reply is kept, `interrupted`. The Stop (Ctrl+C in the
 *   client, Stop in the demo) is `POST /sessions/:id/cancel`, which stops it at once.
 * - A browser demo at GET /demo (public/demo.html): fetch + the body's reader, no library.
 *
 * Beside it, in src/: the line format (ndjson.ts), one response reading a reply from the log with
 * its reset line and slow-reader limit (reply-reader.ts), and the routes' OpenAPI description
 * (openapi.ts). The grace after a disconnect is core's (ResumeGraces, shared with gRPC).
 *
 * Run it:   pnpm serve streamable-http   (http://127.0.0.1:8002, PORT overrides)
 * Try it:   pnpm client streamable-http       or the `curl -N` calls in README.md,
 *           or open http://127.0.0.1:8002/demo
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ChatError,
  type ChatServer,
  ChatService,
  type Config,
  isMain,
  loadConfig,
  RESUME_GRACE_MS,
  ResumeGraces,
  runMain,
  runServer,
} from '@gtp/core';
import { createHttpApp, httpChatServer } from '@gtp/core/http';
import { NDJSON_CONTENT_TYPE, parseAfter } from './src/ndjson.ts';
import { cancelRouteSchema, DESCRIPTION, messageRouteSchema, resumeRouteSchema } from './src/openapi.ts';
import { ReplyReader } from './src/reply-reader.ts';

export { RESUME_GRACE_MS } from '@gtp/core';
export { loggedLine, NDJSON_CONTENT_TYPE, parseAfter, toLine } from './src/ndjson.ts';
export { MAX_QUEUED_BYTES } from './src/reply-reader.ts';

/** How long POST …/cancel waits for a reply of this instance to stop (it answers 204 then), and how often it looks. */
const CANCEL_WAIT_MS = 2_000;
const CANCEL_POLL_MS = 5;

export interface StreamableHttpServerOptions {
  /** Defaults to the environment (`loadConfig()`). */
  config?: Config;
  /** Defaults to a service with the store and model the configuration asks for. */
  chat?: ChatService;
  /** How long a reply whose client disconnected waits for a resume before it is cancelled, ms. */
  resumeGraceMs?: number;
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
  const readers = new Set<ReplyReader>();
  app.addHook('preClose', async () => {
    await chat.log.settle();
    await graces.close();
    for (const reader of readers) reader.end();
  });
  // A reply whose client went waits for a resume on any instance (core's ResumeGraces).
  const graces = await ResumeGraces.create(chat.broker, options.resumeGraceMs ?? RESUME_GRACE_MS);
  const disconnected = new ChatError('internal', 'the client disconnected and did not resume the reply');

  /** 200 and the NDJSON head, written by us: from here on Fastify no longer touches the response. */
  const openStream = (reply: StreamReply) => {
    // Why hijack() and not `reply.send(Readable.from(lines))`? It works, but every line then
    // crosses a stream pipe and extra event-loop turns before it reaches the socket. Writing to
    // the response directly is what the bare node:http floor of the benchmark does.
    //
    // Flushing without losing batching: Node corks a chunked response for the rest of the current
    // tick on every write() and uncorks on process.nextTick. So a token that arrives alone is on
    // the wire at the end of the tick it arrived in, with no timer; tokens that arrive together
    // leave in ONE write.
    //
    // What hijacking costs: Fastify's onSend/onResponse hooks and its "request completed" log no
    // longer run for this response (we log it), and headers set on `reply` must be copied.
    reply
      .code(200)
      .type(NDJSON_CONTENT_TYPE)
      // Never cached, never transformed by a proxy (a compressing proxy flushes in blocks).
      .header('cache-control', 'no-cache, no-transform')
      // nginx buffers proxied responses unless told not to; this turns it off for this response.
      .header('x-accel-buffering', 'no')
      .hijack();
    const res = reply.raw;
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) res.setHeader(name, value);
    }
    // No compression on this route: a gzip stream holds bytes back until its block fills.
    res.writeHead(200);
  };

  /** Read the reply from the log into the response until its final event (or the client goes). */
  const readReply = async (reader: ReplyReader, sessionId: string, after: number) => {
    readers.add(reader);
    try {
      reader.unsubscribe = await chat.log.subscribe(sessionId, reader, after);
      if (reader.closed) reader.unsubscribe();
    } catch (error) {
      // The log is unreachable (Redis away): say so in a final line; the client may resume later.
      reader.fail(ChatError.from(error));
    }
    await reader.ended;
    readers.delete(reader);
  };

  app.post(
    '/sessions/:id/messages',
    // Bodies are counted by the shared hook (core/src/http/metrics-route.ts); the lines as written.
    { schema: messageRouteSchema },
    async (request, reply) => {
      const sessionId = request.params.id;
      // The reply runs into the session's log; this response is its first reader. When the client
      // goes away before the end, the reply waits RESUME_GRACE_MS for a resume, then is cancelled.
      const controller = new AbortController();
      // startReply() throws ChatError for an unknown session, a bad text, a busy session (history
      // untouched), BEFORE we commit to a 200: the app's error handler answers with the status.
      const { start, seq, finished } = await chat.startReply(sessionId, request.body.text, {
        signal: controller.signal,
        principal: request.access.principal,
      });
      openStream(reply);
      const reader = new ReplyReader(reply.raw, start.messageId, stats, {
        onDetached: () => graces.hold(start.messageId, finished, () => controller.abort(disconnected)),
      });
      await readReply(reader, sessionId, seq - 1);
      request.log.info(
        { statusCode: 200, responseTime: reply.elapsedTime, lastEvent: reader.lastType },
        'request completed',
      );
    },
  );

  app.get('/sessions/:id/replies/:messageId', { schema: resumeRouteSchema }, async (request, reply) => {
    const { id: sessionId, messageId } = request.params;
    await chat.authorize(sessionId, request.access); // unknown session (or another principal's): 404
    // `?after=<seq>`, or the `Last-Event-ID` header (the same number); none: from the start.
    const { after: afterQuery } = request.query as { after?: string };
    const after = parseAfter(afterQuery) ?? parseAfter(request.headers['last-event-id']);
    // While this reads, the reply's grace pauses on whichever instance runs it; once this reader
    // ends too (its client gone again, or the reply over), the grace starts again.
    await graces.resumed(messageId);
    try {
      openStream(reply);
      await readReply(new ReplyReader(reply.raw, messageId, stats), sessionId, after ?? 0);
    } finally {
      void graces.stopped(messageId);
    }
  });

  // The Stop: closing the stream only starts the grace. 204 once the reply has stopped here (the
  // session takes the next message at once); 202 when another instance runs it (told by broker).
  app.post('/sessions/:id/cancel', { schema: cancelRouteSchema }, async (request, reply) => {
    const sessionId = request.params.id;
    const here = chat.isReplying(sessionId);
    const cancelled = await chat.cancelReply(sessionId, undefined, request.access);
    if (cancelled && !here) return reply.code(202).send({ cancelled: true as const });
    // Its history written and its lock released within moments; bounded, never a hang.
    const deadline = performance.now() + CANCEL_WAIT_MS;
    while (chat.isReplying(sessionId) && performance.now() < deadline) await sleep(CANCEL_POLL_MS);
    return reply.code(204).send(null);
  });

  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(demoPage),
  );

  return httpChatServer('streamable-http', app, chat, { ownsChat });
}

/** What openStream needs of Fastify's reply (this package does not depend on fastify's types). */
interface StreamReply {
  code(statusCode: number): StreamReply;
  type(contentType: string): StreamReply;
  header(name: string, value: string): StreamReply;
  hijack(): StreamReply;
  getHeaders(): Record<string, number | string | string[] | undefined>;
  raw: ServerResponse;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
