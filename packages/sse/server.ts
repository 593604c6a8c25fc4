/**
 * Server-Sent Events server: a resumable one-way event stream plus plain POSTs.
 *
 * What it teaches:
 * - `GET /sessions/:id/events` is a `text/event-stream` that the browser's native EventSource
 *   (and undici's) can open. Every ChatEvent is a frame with `event:` (its type), `id:` (a
 *   per-session sequence number) and `data:` (its JSON); a `retry:` hint sets the reconnect
 *   delay and a comment line every HEARTBEAT_MS keeps proxies from closing an idle stream.
 * - Resume: on reconnect EventSource sends `Last-Event-ID`; the server replays exactly the events
 *   after it from core's reply log (`chat.log`, bounded per session), then continues live.
 * - The stream only reads. `POST /sessions/:id/messages` starts a reply (202 {messageId}) and the
 *   reply runs on the server whoever is listening; `POST /sessions/:id/cancel` stops it.
 *   Closing a stream is not a cancel: the reply goes on for the other listeners and the resume.
 * - Several instances: with REDIS_URL the log is a Redis Stream per session (core's RedisReplyLog),
 *   so a listener on any instance gets every reply and resumes anywhere; no sticky sessions.
 * - AUTH_TOKEN (checked by the shared app): `Authorization: Bearer`, or `?access_token=` for a
 *   browser EventSource, which cannot send headers.
 *
 * Run it: `pnpm serve sse` (port 8003), then `pnpm client sse`, or open http://127.0.0.1:8003/demo.
 */
import { readFile } from 'node:fs/promises';
import { type ChatServer, ChatService, type Config, isMain, loadConfig, runMain, runServer } from '@gtp/core';
import {
  createHttpApp,
  ErrorResponseSchema,
  httpChatServer,
  MessageBodySchema,
  SessionParamsSchema,
  sessionErrors,
} from '@gtp/core/http';
import { z } from 'zod';
import { DEFAULT_MAX_QUEUED_BYTES, SseStream } from './src/sse-stream.ts';

/** How long an EventSource waits before reconnecting (sent as `retry:`). Browsers default to ~3 s. */
export const DEFAULT_RETRY_MS = 1_000;

export interface SseServerOptions {
  config?: Config;
  chat?: ChatService;
  /**
   * Events kept per session for Last-Event-ID resume (the reply log's size; only when the server
   * makes its own ChatService: a `chat` passed in brings its own log).
   */
  bufferSize?: number;
  /** The `retry:` hint, ms. */
  retryMs?: number;
  /** A listener with more than this many bytes waiting is dropped (it resumes on reconnect). */
  maxQueuedBytes?: number;
}

const demoHtml = readFile(new URL('./public/demo.html', import.meta.url), 'utf8');

/** `Last-Event-ID` as a sequence number; anything malformed counts as no id (a fresh connection). */
export function parseLastEventId(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

export async function createServer(options: SseServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  // With REDIS_URL the sessions, the reply locks and cancels are shared with the other instances.
  // Its reply log (chat.log) numbers every event; in memory, or a Redis Stream per session.
  const chat =
    options.chat ??
    (await ChatService.create(config, 'sse', options.bufferSize ? { replyLogSize: options.bufferSize } : {}));
  const retryMs = options.retryMs ?? DEFAULT_RETRY_MS;
  const maxQueuedBytes = options.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES;
  /** The open event streams of this server, ended at shutdown. */
  const streams = new Set<SseStream>();
  const stats = chat.stats;

  const app = await createHttpApp({
    protocol: 'sse',
    config,
    chat,
    description:
      'Server-Sent Events: GET /sessions/{id}/events is an EventSource stream of ChatEvents with ids; ' +
      'Last-Event-ID resumes it. POST /sessions/{id}/messages starts a reply, POST /sessions/{id}/cancel stops it.',
  });
  const params = SessionParamsSchema;

  // Bodies are counted by the shared hook (core/src/http/metrics-route.ts); the event stream's
  // frames where they are written (onBytes below).
  // A deleted session's streams end through the log (chat.deleteSession, from any instance or
  // protocol). Shutdown (httpChatServer.close cancels every reply first): let each reply publish
  // its final `done cancelled` to the listeners, then end every stream so that Fastify can close.
  app.addHook('preClose', async () => {
    await chat.log.settle();
    for (const stream of streams) stream.close();
  });

  // Why reply.hijack() and not an SSE plugin: the frames are the lesson, and they are five lines
  // (src/sse-stream.ts). The server also fans one reply out to many listeners from the reply log,
  // with a write queue bounded per listener; plugins built around "one async iterable per
  // response" (@fastify/sse, fastify-sse-v2) would hide the format and still need the log.
  app.get(
    '/sessions/:id/events',
    {
      schema: {
        tags: ['chat'],
        summary: 'The session as an EventSource stream (text/event-stream)',
        description:
          'Frames: `event: start|delta|done|chat-error|reset`, `id: <sequence>`, `data: <ChatEvent JSON>` ' +
          '(for `delta`, `data:` is the text alone as a JSON string, e.g. `data: "Hel"`: the reply is the one whose `start` came before it) ' +
          "(a ChatEvent `error` is `event: chat-error`, apart from EventSource's own `error`), `retry: <ms>`, " +
          'and `: heartbeat` comments. ' +
          'Send `Last-Event-ID` to resume after that id; without it you get the reply in flight from its start.',
        params,
        headers: z.object({ 'last-event-id': z.string().optional() }).passthrough(),
        response: {
          200: {
            description:
              'An event stream: one frame per ChatEvent (`event:` its type, `id:` its sequence, `data:` its JSON), plus `reset`',
            content: {
              'text/event-stream': {
                schema: z.string().describe('event: <type>\nid: <seq>\ndata: <ChatEvent JSON>\n\n, repeated'),
              },
            },
          },
          404: ErrorResponseSchema,
        },
      },
    },
    async (request, reply) => {
      const sessionId = request.params.id;
      await chat.authorize(sessionId, request.access); // unknown (or another principal's): 404 before any event
      const lastEventId = parseLastEventId(request.headers['last-event-id']);

      // From here on we write the response ourselves: Fastify must not serialise or end it.
      reply.hijack();
      const res = reply.raw;
      // `connection` is a hop-by-hop header: HTTP/1.x only. HTTP/2 (TLS on) forbids it (RFC 9113
      // §8.2.2; Node drops it with a warning): there the stream is one of many on the connection.
      const hopByHop: Record<string, string> =
        request.raw.httpVersionMajor === 1 ? { connection: 'keep-alive' } : {};
      res.writeHead(200, {
        ...headersSet(reply.getHeaders()), // what the hooks set (CORS for a page of ALLOWED_ORIGINS)
        'content-type': 'text/event-stream; charset=utf-8',
        // Never cached, never transformed (no compression: a gzip stream is flushed in blocks).
        'cache-control': 'no-cache, no-transform',
        // nginx buffers proxied responses unless told not to.
        'x-accel-buffering': 'no',
        ...hopByHop,
      });

      const connectionClosed = stats.connectionOpened();
      const heartbeat = setInterval(() => stream.comment('heartbeat'), config.heartbeatMs);
      let unsubscribe: (() => void) | undefined;
      const stream: SseStream = new SseStream(res, {
        maxQueuedBytes,
        onBytes: (n) => stats.addBytesSent(n),
        onClose: () => {
          clearInterval(heartbeat);
          streams.delete(stream);
          unsubscribe?.();
          connectionClosed();
        },
      });
      streams.add(stream);
      stream.retry(retryMs);
      // Replays what this listener missed, then adds it for the live events.
      try {
        unsubscribe = await chat.log.subscribe(sessionId, stream, lastEventId);
      } catch (error) {
        // The event log is unreachable (Redis away): end the stream; EventSource retries.
        request.log.warn({ err: error }, 'cannot subscribe to the session events');
        stream.close();
        return;
      }
      // Gone already, while replaying (too slow) or before the subscription was complete.
      if (stream.closed) unsubscribe();
    },
  );

  app.post(
    '/sessions/:id/messages',
    {
      schema: {
        tags: ['chat'],
        summary: 'Start a reply; its events arrive on the session event stream',
        params,
        body: MessageBodySchema,
        response: {
          202: z.object({ messageId: z.uuid() }).describe('the reply is running'),
          409: ErrorResponseSchema,
          413: ErrorResponseSchema,
          ...sessionErrors,
        },
      },
    },
    async (request, reply) => {
      const sessionId = request.params.id;
      // No signal: this reply belongs to the session, not to this request or any stream. It runs
      // into the session's reply log, which every stream of the session reads.
      // startReply() throws (404, 400, 413, 409) before anything, with the history unchanged.
      const { start } = await chat.startReply(sessionId, request.body.text, {
        principal: request.access.principal,
      });
      return reply.code(202).send({ messageId: start.messageId });
    },
  );

  app.post(
    '/sessions/:id/cancel',
    {
      schema: {
        tags: ['chat'],
        summary: 'Stop the reply in flight (its stream ends with done, finishReason "cancelled")',
        params,
        response: { 200: z.object({ cancelled: z.boolean() }), ...sessionErrors },
      },
    },
    async (request) => {
      // Wherever the reply runs: here, or on another instance (through the broker).
      return { cancelled: await chat.cancelReply(request.params.id, undefined, request.access) };
    },
  );

  app.post(
    '/sessions/:id/events/drop',
    {
      schema: {
        tags: ['chat'],
        summary: 'Teaching aid: end every event stream of the session, as a proxy time-out would',
        description:
          'Each EventSource reconnects by itself after `retry` ms with Last-Event-ID and loses nothing.',
        params,
        response: { 200: z.object({ dropped: z.number().int() }), ...sessionErrors },
      },
    },
    async (request) => {
      await chat.authorize(request.params.id, request.access);
      return { dropped: chat.log.drop(request.params.id) };
    },
  );

  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(await demoHtml),
  );

  return httpChatServer('sse', app, chat, { ownsChat: !options.chat });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}

/** The headers Fastify's hooks set on a reply, without the unset ones (writeHead takes no undefined). */
function headersSet(headers: Record<string, number | string | string[] | undefined>) {
  return Object.fromEntries(Object.entries(headers).filter((entry) => entry[1] !== undefined)) as Record<
    string,
    number | string | string[]
  >;
}
