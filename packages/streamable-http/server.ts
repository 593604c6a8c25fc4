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
 * - Cancellation is the connection, after a grace: when the client disconnects (Ctrl+C, a closed
 *   tab, Stop in the demo) and nobody resumes the reply within RESUME_GRACE_MS, the AbortSignal
 *   handed to the model fires, generation stops, and the partial reply is kept, `interrupted`.
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
  isFinalType,
  isMain,
  type LoggedEvent,
  loadConfig,
  messageIdOf,
  type ReplyListener,
  runMain,
  runServer,
  type Stats,
} from '@gtp/core';
import {
  ChatEventSchema,
  createHttpApp,
  ErrorResponseSchema,
  httpChatServer,
  MessageBodySchema,
  SessionParamsSchema,
  sessionErrors,
} from '@gtp/core/http';

/** The media type of the streamed answer: newline-delimited JSON, one ChatEvent per line. */
export const NDJSON_CONTENT_TYPE = 'application/x-ndjson; charset=utf-8';

/**
 * A client that disconnects mid-reply has this long to resume it (GET …/replies/:messageId)
 * before the reply is cancelled, as a disconnect always cancelled it: a mobile client that
 * drops and reconnects loses nothing, and a client that really left stops costing tokens.
 */
export const RESUME_GRACE_MS = 10_000;

/** A reader with more than this many bytes waiting is cut off (it can resume from its last seq). */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/** The broker channel on which a resume says "someone reads reply <messageId> again" to every instance. */
const ATTACHED_CHANNEL = 'ndjson:attached';

export interface StreamableHttpServerOptions {
  /** Defaults to the environment (`loadConfig()`). */
  config?: Config;
  /** Defaults to a service with the store and model the configuration asks for. */
  chat?: ChatService;
  /** How long a reply whose client disconnected waits for a resume before it is cancelled, ms. */
  resumeGraceMs?: number;
}

const DESCRIPTION = `The Streamable HTTP server of genai-transports: one POST whose answer streams.

\`POST /sessions/{id}/messages\` answers \`application/x-ndjson\`: one ChatEvent per line
(\`start\`, \`delta\`…, then \`done\` or \`error\`), each written as the model produces it.
Errors found before the stream starts are \`{"error": {"code", "message"}}\` with their HTTP status;
a failure after it started is a final \`error\` line. Every line carries \`seq\`: a dropped client
resumes with \`GET /sessions/{id}/replies/{messageId}?after={seq}\`. A reply nobody reads or resumes
for ${RESUME_GRACE_MS / 1000} s after a disconnect is cancelled.`;

/** One ChatEvent as one NDJSON line. JSON.stringify never emits a raw newline, so a line is an event. */
export function toLine(event: ChatEvent): string {
  return `${JSON.stringify(event)}\n`;
}

/** A logged event as one line with its `seq` first: `{"seq":12,"type":"delta",…}`, not re-encoded. */
export function loggedLine({ seq, data }: LoggedEvent): string {
  return `{"seq":${seq},${data.slice(1)}\n`;
}

/** `?after=` or `Last-Event-ID` as a seq; anything malformed counts as none (read from the start). */
export function parseAfter(value: string | string[] | undefined): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,15}$/.test(text.trim())) return undefined;
  return Number(text.trim());
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
    graces.clear();
    for (const reader of readers) reader.end();
  });
  const graces = new Graces(options.resumeGraceMs ?? RESUME_GRACE_MS);
  const unsubscribeAttached = await chat.broker.subscribe(ATTACHED_CHANNEL, (messageId) =>
    graces.attached(messageId),
  );
  app.addHook('onClose', async () => {
    await unsubscribeAttached().catch(() => undefined);
  });
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
      const sessionId = request.params.id;
      // The reply runs into the session's log; this response is its first reader. When the client
      // goes away before the end, the reply waits RESUME_GRACE_MS for a resume, then is cancelled.
      const controller = new AbortController();
      // startReply() throws ChatError for an unknown session, a bad text, a busy session (history
      // untouched), BEFORE we commit to a 200: the app's error handler answers with the status.
      const { start, seq } = await chat.startReply(sessionId, request.body.text, {
        signal: controller.signal,
        principal: request.access.principal,
      });
      openStream(reply);
      const reader = new ReplyReader(reply.raw, start.messageId, stats, {
        onDetached: () => graces.start(reader, () => controller.abort(disconnected)),
        onEnded: () => graces.forget(reader),
      });
      await readReply(reader, sessionId, seq - 1);
      request.log.info(
        { statusCode: 200, responseTime: reply.elapsedTime, lastEvent: reader.lastType },
        'request completed',
      );
    },
  );

  app.get(
    '/sessions/:id/replies/:messageId',
    {
      schema: {
        tags: ['chat'],
        summary: 'Resume a reply: its events after a seq, as NDJSON, live to the end',
        description:
          'For a client whose POST stream dropped: the lines of reply `messageId` after `after` (or ' +
          '`Last-Event-ID`), each with its `seq`, then live until `done`/`error`. When the log no longer ' +
          'holds that point, the first line is `{"type":"reset","reason","replaying"}`: with replaying ' +
          'true the reply follows from its `start`; with false it is over, read it from the history.',
        params: SessionParamsSchema.extend({ messageId: SessionParamsSchema.shape.id }),
        response: {
          200: {
            description: 'The rest of the reply, one line per event',
            content: { 'application/x-ndjson': { schema: ChatEventSchema } },
          },
          ...sessionErrors,
        },
      },
    },
    async (request, reply) => {
      const { id: sessionId, messageId } = request.params;
      await chat.authorize(sessionId, request.access); // unknown session (or another principal's): 404
      // `?after=<seq>`, or the `Last-Event-ID` header (the same number); none: from the start.
      const { after: afterQuery } = request.query as { after?: string };
      const after = parseAfter(afterQuery) ?? parseAfter(request.headers['last-event-id']);
      // Every instance stops the grace of this reply: someone reads it again.
      await chat.broker.publish(ATTACHED_CHANNEL, messageId).catch(() => undefined);
      openStream(reply);
      const reader = new ReplyReader(reply.raw, messageId, stats, {
        onDetached: () =>
          graces.start(
            reader,
            () => void chat.cancelReply(sessionId, disconnected.message).catch(() => undefined),
          ),
        onEnded: () => graces.forget(reader),
      });
      await readReply(reader, sessionId, after ?? 0);
    },
  );

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

/**
 * One response reading one reply from the log: it writes that reply's events as lines (a session's
 * log also holds its other replies) and ends with the reply's final event. When the client goes
 * before that, it stays subscribed, detached, writing nothing, so that it sees the reply end.
 */
class ReplyReader implements ReplyListener {
  readonly #res: ServerResponse;
  readonly messageId: string;
  readonly #stats: Stats;
  readonly #onDetached: () => void;
  readonly #onEnded: () => void;
  /** Lines that arrive during the replay, written after the reset line (if any) at caughtUp. */
  #replay: string[] | undefined = [];
  #reset: { latestSeq: number; reason: string } | undefined;
  #resolve!: () => void;
  readonly ended = new Promise<void>((resolve) => {
    this.#resolve = resolve;
  });
  unsubscribe: () => void = () => undefined;
  closed = false;
  /** Set when the client went away before the end. */
  detached = false;
  lastType: string | undefined;

  constructor(
    res: ServerResponse,
    messageId: string,
    stats: Stats,
    options: { onDetached: () => void; onEnded: () => void },
  ) {
    this.#res = res;
    this.messageId = messageId;
    this.#stats = stats;
    this.#onDetached = options.onDetached;
    this.#onEnded = options.onEnded;
    res.once('close', () => {
      if (this.closed) return;
      // The client went before the end: keep watching, detached, for a resume or the final event.
      this.detached = true;
      this.#resolve();
      this.#onDetached();
    });
  }

  send(item: LoggedEvent): void {
    if (this.closed) return;
    if (messageIdOf(item) !== this.messageId) return; // another reply of the session
    this.lastType = item.type;
    if (this.detached) {
      if (isFinalType(item.type)) this.end();
    } else if (this.#replay) {
      this.#replay.push(loggedLine(item)); // written, and the reader ended, at caughtUp
    } else {
      this.#write(loggedLine(item));
      if (isFinalType(item.type)) this.end();
    }
  }

  reset(latestSeq: number, reason: string): void {
    this.#reset = { latestSeq, reason };
  }

  caughtUp(inFlight: string | undefined): void {
    const lines = this.#replay ?? [];
    this.#replay = undefined;
    if (this.closed) return;
    const ours = inFlight === this.messageId;
    const over = lines.at(-1)?.includes('"type":"done"') || lines.at(-1)?.includes('"type":"error"');
    if (this.#reset || (!ours && lines.length === 0)) {
      // The log cannot give this reply from the point asked: say so, plainly, first.
      this.#write(
        `${JSON.stringify({
          seq: this.#reset?.latestSeq ?? 0,
          type: 'reset',
          reason: this.#reset?.reason ?? `reply ${this.messageId} has no events after that point in the log`,
          // True: the reply follows from its `start`. False: it is over, or only its tail follows
          // (its start is older than the log); either way its whole text is in the history.
          replaying: ours && (lines[0]?.includes('"type":"start"') ?? false),
        })}\n`,
      );
    }
    for (const line of lines) this.#write(line);
    // Over (its final event was replayed, or it is not running): nothing more will come.
    if (!ours || over) this.end();
  }

  /** A failure of the log itself, as the stream's final line. */
  fail(error: ChatError): void {
    if (this.closed) return;
    this.#write(toLine({ type: 'error', messageId: this.messageId, error: error.toJSON() }));
    this.end();
  }

  /** The log is done with us (shutdown, the session deleted or expired): end the response. */
  close(): void {
    this.end();
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (!this.#res.writableEnded) this.#res.end();
    this.#resolve();
    this.#onEnded();
  }

  #write(line: string): void {
    if (this.#res.destroyed || this.#res.writableEnded) return;
    this.#stats.addBytesSent(Buffer.byteLength(line));
    // write() never blocks: it queues when the socket is full. The log does not wait for one
    // reader, so a reader that falls behind is cut off; it resumes from its last seq.
    this.#res.write(line);
    if (this.#res.writableLength > MAX_QUEUED_BYTES) {
      this.#res.destroy(new Error('reader too slow: send queue over its limit'));
    }
  }
}

/**
 * The grace after a disconnect: a detached reader waits RESUME_GRACE_MS (or `resumeGraceMs`) for a resume of its
 * reply (announced on the broker by whichever instance serves it), then cancels the reply. It
 * stops waiting when the reply ends by itself.
 */
class Graces {
  readonly #graceMs: number;
  readonly #waiting = new Map<ReplyReader, { messageId: string; timer: NodeJS.Timeout }>();

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  start(reader: ReplyReader, cancel: () => void): void {
    if (reader.closed) return;
    const timer = setTimeout(() => {
      this.#waiting.delete(reader);
      if (!reader.closed) cancel();
      reader.end();
    }, this.#graceMs);
    timer.unref();
    this.#waiting.set(reader, { messageId: reader.messageId, timer });
  }

  /** Someone reads `messageId` again: its detached readers stop waiting. */
  attached(messageId: string): void {
    for (const [reader, waiting] of this.#waiting) {
      if (waiting.messageId !== messageId) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(reader);
      reader.end();
    }
  }

  /** A detached reader saw its reply end: nothing to cancel. */
  forget(reader: ReplyReader): void {
    const waiting = this.#waiting.get(reader);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.#waiting.delete(reader);
  }

  clear(): void {
    for (const { timer } of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
