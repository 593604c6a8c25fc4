/**
 * WebSocket server of genai-transports: one chat session shared live by several people.
 *
 * What it teaches, top to bottom:
 * - the upgrade: `GET /ws` of an ordinary HTTP server turns into a WebSocket, beside the REST
 *   routes (sessions, health, stats, /docs) Fastify serves on the same port; a refused upgrade is
 *   a real HTTP answer (429, 403, 401, 400, 404, 503) written to the socket (src/upgrade.ts, which
 *   runs the access check shared by every transport);
 * - a small JSON protocol over text frames (join, send, cancel, typing, ping), every client frame
 *   validated (src/frames.ts), every bad one answered with an `error` frame on a connection that
 *   stays open, and a frame rate limit per connection (src/rate-limit.ts);
 * - fan-out: every member of a session sees the reply stream, whoever asked (src/room.ts), across
 *   server instances through the broker (Redis pub/sub with REDIS_URL);
 * - heartbeats: protocol-level ping/pong, dead peers terminated (src/heartbeat.ts);
 * - backpressure: a connection that cannot keep up is closed (1013), never buffered without bound
 *   (src/connection.ts, which keeps each connection's room and sends);
 * - graceful shutdown: replies in flight end with `done` (cancelled), then sockets close with 1001.
 *
 * Run it:  pnpm serve websocket           (PORT=8004 by default; HEARTBEAT_MS, MAX_MESSAGE_CHARS,
 *                                         AUTH_TOKEN, ALLOWED_ORIGINS, RATE_LIMIT_MAX, REDIS_URL)
 * Then:    pnpm client websocket          (in two terminals, `--session <id>` to share one)
 *          open http://127.0.0.1:8004/demo in two browser tabs
 */
import { randomUUID } from 'node:crypto';
import {
  type Access,
  ChatError,
  type ChatServer,
  ChatService,
  type Config,
  createAccessCheck,
  isMain,
  loadConfig,
  redactUrl,
  runMain,
  runServer,
  withTraceContext,
} from '@gtp/core';
import { createHttpApp, httpChatServer } from '@gtp/core/http';
// Why `ws` with `noServer` rather than @fastify/websocket: the upgrade is the heart of this
// tutorial, and here it is in plain sight (the 'upgrade' event, the checks, handleUpgrade).
// The same lines work with any Node HTTP server, and `ws` is what @fastify/websocket wraps.
import { WebSocket, WebSocketServer } from 'ws';
import { closeWithin } from './src/close.ts';
import { Connection } from './src/connection.ts';
import { byteLength, parseFrame, protocolErrorCode } from './src/frames.ts';
import { startHeartbeat } from './src/heartbeat.ts';
import { openPresence } from './src/presence.ts';
import { CLOSE_CODES, type ClientFrame, MAX_BUFFERED_BYTES, maxPayloadBytes } from './src/protocol.ts';
import { FrameRateLimit } from './src/rate-limit.ts';
import { Rooms } from './src/room.ts';
import { addHttpRoutes } from './src/routes.ts';
import { checkUpgrade, rejectUpgrade, selectSubprotocol } from './src/upgrade.ts';

export interface WebSocketServerOptions {
  config?: Config;
  chat?: ChatService;
  /** Unsent bytes a connection may queue before it is cut off as a slow consumer. */
  maxBufferedBytes?: number;
  /** How long a reply waits for a member to (re)join after the last one left (LEAVE_GRACE_MS). */
  leaveGraceMs?: number;
}

export async function createServer(options: WebSocketServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  // With REDIS_URL, sessions, cancels and the rooms' frames are shared with the other instances;
  // without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'websocket'));
  const maxBufferedBytes = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  // One access check (core) guards both the HTTP routes and the upgrades, which bypass Fastify.
  const access = createAccessCheck(config);
  const app = await createHttpApp({
    protocol: 'websocket',
    config,
    chat,
    access,
    description:
      'Sessions over REST; the chat itself over the WebSocket at GET /ws (JSON text frames), every frame ' +
      'described in the AsyncAPI 3 document at [/asyncapi.json](/asyncapi.json).',
  });
  // Each server process is one instance; its id tells its own frames apart on the broker.
  const instanceId = randomUUID();
  const presence = await openPresence(config.redisUrl, chat, instanceId).catch(async (error) => {
    if (ownsChat) await chat.close();
    throw error;
  });
  const rooms = new Rooms({
    chat,
    instanceId,
    presence,
    onRelayError: (error) => app.log.warn({ err: error }, 'cannot relay room frames to other instances'),
    ...(options.leaveGraceMs !== undefined ? { leaveGraceMs: options.leaveGraceMs } : {}),
  });
  await addHttpRoutes(app); // GET /ws without an upgrade (426), GET /demo
  let closing = false;

  // --- The upgrade: `noServer` lets us decide, per request, which upgrades to accept. ---------
  const wss = new WebSocketServer({
    noServer: true,
    // Frames larger than this are refused while being read: `ws` closes with 1009 (too big).
    maxPayload: maxPayloadBytes(config.maxMessageChars),
    handleProtocols: selectSubprotocol,
  });

  // Every check happens here, before the handshake: a refusal is an ordinary HTTP response.
  // Fastify's hooks never see an upgrade: it bypasses its router.
  app.server.on('upgrade', (request, socket, head) => {
    // Until `ws` takes the socket, its errors (a client that gives up) are ours to handle.
    const dropSocket = () => socket.destroy();
    socket.on('error', dropSocket);
    checkUpgrade(request, { access, closing: () => closing }).then(
      (caller) => {
        socket.off('error', dropSocket);
        wss.handleUpgrade(request, socket, head, (ws) => onConnection(ws, caller));
      },
      (error: unknown) => {
        const refusal = ChatError.from(error);
        const url = redactUrl(request.url ?? '');
        if (refusal.code === 'internal') app.log.error({ err: error, url }, 'upgrade check failed');
        else app.log.info({ url, code: refusal.code }, 'upgrade refused');
        chat.stats.recordError(refusal.code);
        rejectUpgrade(socket, refusal);
      },
    );
  });

  const heartbeat = startHeartbeat(wss, config.heartbeatMs);

  // --- One connection: `caller` is who the access check let in. ------------------------------
  const shared = { rooms, stats: chat.stats, maxBufferedBytes, closing: () => closing }; // by every Connection
  function onConnection(ws: WebSocket, caller: Access): void {
    const endConnection = chat.stats.connectionOpened();
    const connectionId = randomUUID();
    const log = app.log.child({ connectionId, principal: caller.principal });
    const rateLimit = FrameRateLimit.fromConfig(config); // undefined when RATE_LIMIT_MAX=0
    /** Closing for abuse: frames still arriving are ignored. */
    let cutOff = false;
    // Frames of one connection are handled in order, so the answer to a `join` or `send` is the
    // next `joined`/`start`/`error` addressed to it. A reply then streams in the background.
    let queue = Promise.resolve();

    // Its room, and its sends with backpressure (a slow consumer is closed with 1013).
    const connection = new Connection(ws, { ...shared, id: connectionId, principal: caller.principal, log });
    const send = connection.send.bind(connection);
    const requireRoom = () => connection.requireRoom();

    // --- The frames: one switch is the whole protocol. ----------------------------------------
    const handle = async (frame: ClientFrame): Promise<void> => {
      switch (frame.type) {
        case 'join': {
          if (closing) throw new ChatError('shutting_down', 'the server is shutting down');
          const session = frame.sessionId
            ? await chat.getSession(frame.sessionId, caller) // another principal's: session_not_found
            : await chat.createSession(caller);
          if (ws.readyState !== WebSocket.OPEN) return; // it went away while we looked the session up
          send({ type: 'joined', session, connectionId, heartbeatMs: config.heartbeatMs });
          if (connection.room?.sessionId === session.id) return;
          // Replays from the reply log what came after `after` (none: the reply in flight from its
          // start), then live. Resolves once the room hears the other instances and all got `presence`.
          return connection.enter(session.id, frame.after);
        }
        case 'send':
          if (closing) throw new ChatError('shutting_down', 'the server is shutting down');
          // The frame's `traceparent` (if any) is the parent of the reply's span.
          return withTraceContext(frame, () => requireRoom().startReply(frame.text, connection));
        case 'cancel':
          // Wherever the reply runs: here, or on the instance of the member who asked.
          await chat.cancelReply(requireRoom().sessionId, 'cancelled by a member of the session', caller);
          return;
        case 'typing':
          requireRoom().broadcast(
            { type: 'typing', connectionId, active: frame.active },
            { except: connectionId },
          );
          return;
        case 'ping':
          send({ type: 'pong', ts: frame.ts });
          return;
        case 'share': {
          const { sessionId } = requireRoom();
          await chat.shareSession(sessionId, frame.principal, caller);
          send({ type: 'shared', sessionId, principal: frame.principal });
          return;
        }
      }
    };

    heartbeat.watch(ws);
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
        .then(() => {
          if (!allowed) throw rateLimit?.refusal();
          return handle(parseFrame(data, isBinary));
        })
        .catch((error: unknown) => {
          const failure = ChatError.from(error);
          if (failure.code === 'internal') log.error({ err: error }, 'frame failed');
          chat.stats.recordError(failure.code);
          send({ type: 'error', error: failure.toJSON() });
        });
    });
    // Protocol errors (an over-size frame: 1009, invalid UTF-8: 1007): `ws` closes the socket itself.
    ws.on('error', (error) => {
      log.info({ err: error }, 'protocol error; ws closes the connection');
      chat.stats.recordError(protocolErrorCode(error));
    });
    ws.on('close', (code, reason) => {
      log.debug({ code, reason: reason.toString() }, 'closed');
      connection.leave();
      endConnection();
    });
    log.debug('connected');
  }

  // --- Graceful shutdown (Fastify runs preClose before it stops the HTTP server) --------------
  app.addHook('preClose', async () => {
    closing = true;
    await rooms.cancelAll('the server is shutting down'); // members receive `done` (cancelled)
    await chat.log.settle(); // ...read back from the reply log (Redis) before the sockets close
    const closed = [...wss.clients].map((ws) => new Promise((resolve) => ws.once('close', resolve)));
    for (const ws of wss.clients) closeWithin(ws, CLOSE_CODES.GOING_AWAY, 'server shutting down');
    await Promise.all(closed); // bounded by CLOSE_HANDSHAKE_TIMEOUT_MS (src/close.ts)
    await new Promise((resolve) => wss.close(resolve));
    // The members' leaves reach the other instances (presence) before we stop talking to them.
    await rooms.drain();
    await presence.close();
  });

  return httpChatServer('websocket', app, chat, { ownsChat });
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
