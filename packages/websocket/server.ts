/**
 * WebSocket server of genai-transports: one chat session shared live by several people.
 *
 * What it teaches:
 * - accepting WebSocket upgrades on one path (`GET /ws`) of an ordinary HTTP server, beside the
 *   REST routes (sessions, health, stats, /docs) that Fastify serves on the same port;
 * - a small JSON protocol over text frames, every client frame validated (a zod discriminated
 *   union), every bad frame answered with an `error` frame while the connection stays open;
 * - refusing an upgrade before it happens: too many from one address (429), a foreign Origin (403),
 *   a missing token (401), as real HTTP answers written to the socket; and the subprotocol a
 *   browser uses to carry its token;
 * - fan-out: every member of a session sees the reply stream, whoever asked (src/room.ts), across
 *   server instances through the broker (Redis pub/sub with REDIS_URL);
 * - a per-connection frame rate limit: over it, an `error` frame and the frame is dropped;
 * - heartbeats: protocol-level ping/pong, dead peers terminated (the pattern from the ws README);
 * - backpressure: a connection that cannot keep up is closed (1013), never buffered without bound;
 * - graceful shutdown: replies in flight end with `done` (cancelled), then sockets close with 1001.
 *
 * Run it:  pnpm serve websocket      (PORT=8004 by default; HEARTBEAT_MS, MAX_MESSAGE_CHARS,
 *                                         AUTH_TOKEN, ALLOWED_ORIGINS, RATE_LIMIT_MAX, REDIS_URL)
 * Then:    pnpm client websocket          (in two terminals, `--session <id>` to share one)
 *          open http://127.0.0.1:8004/demo in two browser tabs
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  AddressRateLimit,
  ChatError,
  type ChatServer,
  ChatService,
  type Config,
  isMain,
  loadConfig,
  originAllowed,
  redactUrl,
  requestToken,
  runMain,
  runServer,
  tokenMatches,
  WS_BEARER_PREFIX,
} from '@gtp/core';
import { createHttpApp, ErrorResponseSchema, httpChatServer } from '@gtp/core/http';
// Why `ws` with `noServer` rather than @fastify/websocket: the upgrade is the heart of this
// tutorial, and here it is in plain sight (the 'upgrade' event, the path check, handleUpgrade).
// The same ten lines work with any Node HTTP server, and `ws` is what @fastify/websocket wraps.
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { LocalPresence, type Presence } from './src/presence.ts';
import {
  CLOSE_CODES,
  type ClientFrame,
  ClientFrameSchema,
  MAX_BUFFERED_BYTES,
  maxPayloadBytes,
  type ServerFrame,
  WS_PATH,
  WS_SUBPROTOCOL,
} from './src/protocol.ts';
import { FrameRateLimit } from './src/rate-limit.ts';
import { type Room, type RoomMember, Rooms } from './src/room.ts';

export interface WebSocketServerOptions {
  config?: Config;
  chat?: ChatService;
  /** Unsent bytes a connection may queue before it is cut off as a slow consumer. */
  maxBufferedBytes?: number;
}

/** How long a closing handshake may take before `ws` destroys the socket (a peer that stopped reading). */
const CLOSE_HANDSHAKE_TIMEOUT_MS = 2_000;

const FRAME_TYPES = ClientFrameSchema.options.map((option) => option.shape.type.value);

export async function createServer(options: WebSocketServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  // With REDIS_URL, sessions, cancels and the rooms' frames are shared with the other instances;
  // without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'websocket'));
  const maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  const app = await createHttpApp({
    protocol: 'websocket',
    config,
    chat,
    description: 'Sessions over REST; the chat itself over the WebSocket at GET /ws (JSON text frames).',
  });
  // Each server process is one instance; its id tells its own frames apart on the broker.
  const instanceId = randomUUID();
  let presence: Presence = new LocalPresence();
  if (config.redisUrl && chat.broker.kind === 'redis') {
    const { RedisPresence } = await import('./src/redis-presence.ts'); // loads the Redis client only then
    presence = await RedisPresence.connect(config.redisUrl, instanceId).catch(async (error: unknown) => {
      if (ownsChat) await chat.close();
      throw error;
    });
  }
  const rooms = new Rooms({
    chat,
    instanceId,
    presence,
    onRelayError: (error) => app.log.warn({ err: error }, 'cannot relay room frames to other instances'),
  });
  const demoPage = await readFile(new URL('./demo.html', import.meta.url), 'utf8');
  let closing = false;

  // --- The upgrade: `noServer` lets us decide, per request, which upgrades to accept. ---------
  const wss = new WebSocketServer({
    noServer: true,
    // Frames larger than this are refused while being read: `ws` closes with 1009 (too big).
    maxPayload: maxPayloadBytes(config.maxMessageChars),
    // Answer with our subprotocol when it is offered. Never with a `bearer.<token>` entry: the
    // answer is a response header, and a token does not belong in one.
    handleProtocols: (offered) => (offered.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
  });

  // New connections per client address, the HTTP routes' budget (RATE_LIMIT_MAX per window):
  // without it a client could open sockets without end, each with its own frame budget.
  const upgradeLimit =
    config.rateLimitMax > 0 ? new AddressRateLimit(config.rateLimitMax, config.rateLimitWindowMs) : undefined;

  /** Why this upgrade must be refused, or undefined to accept it. */
  const checkUpgrade = (request: IncomingMessage): ChatError | undefined => {
    // Counted first, like @fastify/rate-limit before the token check: refused attempts count too,
    // so guessing tokens is throttled. (The peer's address: there is no proxy in front of us.)
    const retryAfterSeconds = upgradeLimit?.take(request.socket.remoteAddress ?? 'unknown') ?? 0;
    if (retryAfterSeconds > 0) {
      return new ChatError(
        'rate_limited',
        `more than ${config.rateLimitMax} connections in ${Math.round(config.rateLimitWindowMs / 1000)} s ` +
          `from this address; retry after ${retryAfterSeconds} s (RATE_LIMIT_MAX)`,
        { retryAfterSeconds },
      );
    }
    const { pathname } = new URL(request.url ?? '/', 'http://localhost');
    if (pathname !== WS_PATH)
      return new ChatError('not_found', `no WebSocket at ${pathname}; use ${WS_PATH}`);
    if (closing) return new ChatError('shutting_down', 'the server is shutting down');
    // Browsers send Origin on every handshake and apply no CORS to WebSockets: without this check
    // any web page could open a socket to us from a visitor's browser (cross-site WebSocket
    // hijacking). The demo (same origin), Node clients (no Origin) and ALLOWED_ORIGINS pass.
    if (!originAllowed(request.headers.origin, request.headers.host, config.allowedOrigins)) {
      return new ChatError('forbidden', `origin ${request.headers.origin} is not allowed (ALLOWED_ORIGINS)`);
    }
    // AUTH_TOKEN: `Authorization: Bearer` (Node), `?access_token=`, or the subprotocol
    // `bearer.<token>`, the one place a browser's WebSocket can carry a secret.
    if (config.authToken && !tokenMatches(requestToken(request.headers, request.url), config.authToken)) {
      return new ChatError(
        'unauthorized',
        `missing or wrong token: send Authorization: Bearer <AUTH_TOKEN>, or offer the subprotocols ` +
          `"${WS_SUBPROTOCOL}" and "${WS_BEARER_PREFIX}<AUTH_TOKEN>"`,
      );
    }
    // A client that offers subprotocols must get one of them back, or it fails the handshake
    // itself (browsers do): say so plainly instead.
    const offered = request.headers['sec-websocket-protocol'];
    if (offered !== undefined && !offered.split(',').some((p) => p.trim() === WS_SUBPROTOCOL)) {
      return new ChatError(
        'invalid_request',
        `offer the subprotocol "${WS_SUBPROTOCOL}" (next to any "${WS_BEARER_PREFIX}<token>")`,
      );
    }
    return undefined;
  };

  // Every check happens here, before the handshake: a refusal is an ordinary HTTP response.
  // Fastify's hooks (origin, auth, rate limit) never see an upgrade: it bypasses its router.
  app.server.on('upgrade', (request, socket, head) => {
    const refusal = checkUpgrade(request);
    if (refusal) {
      app.log.info({ url: redactUrl(request.url ?? ''), code: refusal.code }, 'upgrade refused');
      chat.stats.recordError(refusal.code);
      return rejectUpgrade(socket, refusal);
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  });

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

  app.get('/demo', { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(demoPage),
  );

  // --- Heartbeat: the ws README pattern. Each tick pings; no pong since the last tick = dead. ---
  const alive = new WeakSet<WebSocket>();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate(); // no close handshake with a peer that does not answer
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, config.heartbeatMs);
  wss.on('close', () => clearInterval(heartbeat));

  // --- One connection -------------------------------------------------------------------------
  wss.on('connection', (ws) => {
    const endConnection = chat.stats.connectionOpened();
    const connectionId = randomUUID();
    const log = app.log.child({ connectionId });
    const rateLimit =
      config.rateLimitMax > 0 ? new FrameRateLimit(config.rateLimitMax, config.rateLimitWindowMs) : undefined;
    let room: Room | undefined;
    /** Closing for abuse: frames still arriving are ignored. */
    let cutOff = false;
    // Frames of one connection are handled in order, so the answer to a `join` or `send` is the
    // next `joined`/`start`/`error` addressed to it. A reply then streams in the background.
    let queue = Promise.resolve();

    const member: RoomMember = {
      id: connectionId,
      deliver(data) {
        if (ws.readyState !== WebSocket.OPEN) return;
        // Backpressure: `bufferedAmount` is what `send()` queued but the network has not taken.
        // The model does not wait for the slowest reader, so a reader that falls behind is cut off.
        if (ws.bufferedAmount > maxBufferedBytes) {
          log.warn({ bufferedAmount: ws.bufferedAmount }, 'slow consumer: closing');
          chat.stats.recordError('rate_limited');
          closeWithin(
            ws,
            CLOSE_CODES.TRY_AGAIN_LATER,
            `slow consumer: over ${maxBufferedBytes} bytes unsent`,
          );
          queueMicrotask(leaveRoom); // not inside the broadcast that is delivering to us
          return;
        }
        ws.send(data);
        chat.stats.addBytesSent(Buffer.byteLength(data));
      },
    };
    const send = (frame: ServerFrame) => member.deliver(JSON.stringify(frame));
    const leaveRoom = () => {
      if (room) rooms.leave(room, member);
      room = undefined;
    };
    const refuseOverRate = (): never => {
      const seconds = config.rateLimitWindowMs / 1000;
      throw new ChatError(
        'rate_limited',
        `more than ${config.rateLimitMax} frames in ${seconds} s on this connection (RATE_LIMIT_MAX); this frame was dropped, slow down`,
      );
    };
    const requireRoom = (): Room => {
      if (!room) throw new ChatError('invalid_request', 'join a session first: {"type":"join"}');
      return room;
    };

    const handle = async (frame: ClientFrame): Promise<void> => {
      switch (frame.type) {
        case 'join': {
          if (closing) throw new ChatError('shutting_down', 'the server is shutting down');
          const session = frame.sessionId
            ? await chat.getSession(frame.sessionId)
            : await chat.createSession();
          if (ws.readyState !== WebSocket.OPEN) return; // it went away while we looked the session up
          send({ type: 'joined', session, connectionId: member.id, heartbeatMs: config.heartbeatMs });
          if (room?.sessionId === session.id) return;
          leaveRoom();
          room = rooms.open(session.id);
          try {
            // Resolves once the room hears the other instances and everyone got `presence`.
            await room.join(member);
          } catch (error) {
            leaveRoom();
            throw error;
          }
          return;
        }
        case 'send':
          if (closing) throw new ChatError('shutting_down', 'the server is shutting down');
          return requireRoom().startReply(frame.text, member);
        case 'cancel':
          // Wherever the reply runs: here, or on the instance of the member who asked.
          await chat.cancelReply(requireRoom().sessionId, 'cancelled by a member of the session');
          return;
        case 'typing':
          requireRoom().broadcast(
            { type: 'typing', connectionId: member.id, active: frame.active },
            { except: member.id },
          );
          return;
        case 'ping':
          send({ type: 'pong', ts: frame.ts });
          return;
      }
    };

    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (data, isBinary) => {
      chat.stats.addBytesReceived(byteLength(data));
      if (cutOff) return;
      // RATE_LIMIT_MAX frames per RATE_LIMIT_WINDOW_MS on this connection, counted before parsing.
      // A frame over it is dropped and answered, in its turn, with a `rate_limited` error frame.
      const allowed = rateLimit?.take() ?? true;
      if (!allowed && rateLimit?.abusive) {
        cutOff = true;
        chat.stats.recordError('rate_limited');
        log.warn('still over its frame rate after being told: closing');
        queue = queue.then(() => closeWithin(ws, CLOSE_CODES.POLICY_VIOLATION, 'frame rate limit exceeded'));
        return;
      }
      queue = queue
        .then(() => (allowed ? handle(parseFrame(data, isBinary)) : refuseOverRate()))
        .catch((error: unknown) => {
          const failure = ChatError.from(error);
          if (failure.code === 'internal') log.error({ err: error }, 'frame failed');
          chat.stats.recordError(failure.code);
          send({ type: 'error', error: failure.toJSON() });
        });
    });
    // Protocol errors (an over-size frame: 1009, invalid UTF-8: 1007): `ws` closes the socket itself.
    ws.on('error', (error) => {
      log.info({ reason: error.message }, 'protocol error; ws closes the connection');
      chat.stats.recordError(
        'code' in error && error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? 'payload_too_large'
          : 'invalid_request',
      );
    });
    ws.on('close', (code, reason) => {
      log.debug({ code, reason: reason.toString() }, 'closed');
      leaveRoom();
      endConnection();
    });
    log.debug('connected');
  });

  // --- Graceful shutdown (Fastify runs preClose before it stops the HTTP server) --------------
  app.addHook('preClose', async () => {
    closing = true;
    await rooms.cancelAll('the server is shutting down'); // members receive `done` (cancelled)
    const closed = [...wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    for (const ws of wss.clients) closeWithin(ws, CLOSE_CODES.GOING_AWAY, 'server shutting down');
    await Promise.all(closed); // bounded by CLOSE_HANDSHAKE_TIMEOUT_MS
    await new Promise((resolve) => wss.close(resolve));
    // The members' leaves reach the other instances (presence) before we stop talking to them.
    await rooms.drain();
    await presence.close();
  });

  return httpChatServer('websocket', app, chat, { ownsChat });
}

/**
 * Start the closing handshake; a peer that does not answer (it stopped reading: the close frame
 * waits behind everything still buffered) is dropped after CLOSE_HANDSHAKE_TIMEOUT_MS.
 */
function closeWithin(ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason);
  const timer = setTimeout(() => ws.terminate(), CLOSE_HANDSHAKE_TIMEOUT_MS);
  ws.once('close', () => clearTimeout(timer));
}

/** A text frame as a validated ClientFrame, or a ChatError that says what is wrong with it. */
function parseFrame(data: RawData, isBinary: boolean): ClientFrame {
  if (isBinary)
    throw new ChatError('invalid_request', 'binary frames are not accepted; send JSON text frames');
  let json: unknown;
  try {
    json = JSON.parse(rawToString(data));
  } catch (error) {
    throw new ChatError(
      'invalid_request',
      `malformed JSON: ${error instanceof Error ? error.message : 'cannot parse'}`,
    );
  }
  const type = (json as { type?: unknown } | null)?.type;
  if (typeof json !== 'object' || json === null || Array.isArray(json) || typeof type !== 'string') {
    throw new ChatError('invalid_request', 'a frame is a JSON object with a string "type"');
  }
  if (!FRAME_TYPES.includes(type as ClientFrame['type'])) {
    throw new ChatError(
      'invalid_request',
      `unknown frame type "${type}"; expected one of ${FRAME_TYPES.join(', ')}`,
    );
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) throw ChatError.from(parsed.error);
  return parsed.data;
}

/**
 * Answer a refused upgrade on the raw socket: there is no Fastify reply object here, so this is
 * the HTTP/1.1 response written by hand (a 401 also names the scheme it wants, a 429 says when to
 * come back).
 */
function rejectUpgrade(socket: Duplex, error: ChatError): void {
  const body = JSON.stringify({ error: error.toJSON() });
  const headers = [
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus]}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(error.code === 'unauthorized' ? ['WWW-Authenticate: Bearer realm="genai-transports"'] : []),
    ...(error.retryAfterSeconds !== undefined ? [`Retry-After: ${error.retryAfterSeconds}`] : []),
  ];
  socket.end(`${headers.join('\r\n')}\r\n\r\n${body}`);
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

function byteLength(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, chunk) => sum + chunk.length, 0);
  return data.byteLength;
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
