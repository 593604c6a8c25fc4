/**
 * gRPC server: the chat as a typed service over HTTP/2 with @grpc/grpc-js.
 *
 * What it teaches:
 * - a service from proto/genai/chat/v1/chat.proto, loaded by @grpc/proto-loader, with handler types generated
 *   by proto-loader-gen-types (generated/, `pnpm --filter @gtp/grpc gen`);
 * - the three call shapes: unary (SendMessage and the session RPCs), server streaming
 *   (StreamMessage) and bidirectional streaming (Chat: send, cancel, typing, ping);
 * - errors as status codes (ChatError.grpcStatus) with a message that says why;
 * - a client whose deadline passes, or who calls CancelReply, stops the model (the partial reply
 *   is kept); a StreamMessage call that closes early leaves its reply a resume grace
 *   (core's ResumeGraces) for ResumeStream, since gRPC cannot tell a cancel from a lost connection;
 * - one server interceptor for every call: the shared access check (src/interceptors.ts);
 * - grpc.health.v1 following Redis (src/health.ts), reflection, keepalive, message size limits,
 *   and a graceful shutdown: NOT_SERVING, replies end with `done`, streams end, server stops.
 *
 * Run it: `pnpm serve grpc` (port 50051), then `pnpm client grpc` in another terminal.
 */
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  ChatError,
  type ChatServer,
  ChatService,
  type Config,
  createAccessCheck,
  createLogger,
  DEFAULT_HOST,
  GRPC_MAX_CALLS_PER_ADDRESS,
  isMain,
  type Logger,
  loadConfig,
  RESUME_GRACE_MS,
  ResumeGraces,
  runMain,
  runServer,
  writeWithBackpressure,
} from '@gtp/core';
import type { ChatServiceHandlers } from './generated/genai/chat/v1/ChatService.ts';
import { cancelSignal, deadlineIn } from './src/cancel.ts';
import { chatCommands } from './src/chat-call.ts';
import { ChatStreams } from './src/chat-stream.ts';
import { callFailures } from './src/failures.ts';
import { addHealthService } from './src/health.ts';
import { InFlight } from './src/in-flight.ts';
import { accessInterceptor, accessOf } from './src/interceptors.ts';
import { bindServer, SideListeners } from './src/listeners.ts';
import { chatEventToProto, logItemToProto } from './src/messages.ts';
import { ChatServiceClient, countingService, packageDefinition } from './src/proto.ts';
import { type LoggedChatEvent, readReplyFromLog, streamReply } from './src/reply-reader.ts';
import { serverOptions } from './src/server-options.ts';
import { sessionRpcs } from './src/session-rpcs.ts';
import { toServiceError } from './src/status.ts';
import { requireSessionId, unaryHandlers } from './src/unary.ts';

export interface CreateServerOptions {
  config?: Config;
  chat?: ChatService;
  /** Where the server logs (pino); by default one at LOG_LEVEL. Tests pass a silent one. */
  logger?: Logger;
  /** The gRPC-Web/Connect listener's port (src/web.ts); default 8005, or any free one when listen() gets port 0. */
  webPort?: number;
  /** How long a StreamMessage reply whose call closed waits for a ResumeStream, ms (RESUME_GRACE_MS). */
  resumeGraceMs?: number;
}

/** The server, plus where its gRPC-Web/Connect listener is (once listening). */
export type GrpcChatServer = ChatServer & { readonly webUrl: string | undefined };

export async function createServer(options: CreateServerOptions = {}): Promise<GrpcChatServer> {
  const config = options.config ?? loadConfig();
  const logger = options.logger ?? options.chat?.logger ?? createLogger(config, { protocol: 'grpc' });
  // With REDIS_URL, sessions (and cancels) are shared with every other instance, whatever its
  // protocol; without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'grpc', { logger }));
  const stats = chat.stats;

  const access = createAccessCheck(config);
  const graces = await ResumeGraces.create(chat.broker, options.resumeGraceMs ?? RESUME_GRACE_MS);
  // Every call of every service passes the access check (rate limit, Origin, credentials) before
  // its handler runs; a handler reads who is calling with accessOf(call). Calls open at once per
  // client address are bounded too, the health probe's Watch included.
  const server = new grpc.Server(
    serverOptions(config, [
      accessInterceptor({ access, stats, logger, maxCallsPerAddress: GRPC_MAX_CALLS_PER_ADDRESS }),
    ]),
  );

  /** Turns in flight (any RPC) and open Chat streams, so close() can end them all. */
  const turnsInFlight = new InFlight();
  const chatStreams = new ChatStreams();
  // Each failed call counted and logged once with its cause (a reply's error event by ChatService).
  const { fail, fromReply } = callFailures(stats, logger);

  /** A unary handler from an async function (src/unary.ts): its result or its status code. */
  const unary = unaryHandlers(turnsInFlight, fail);

  const handlers: ChatServiceHandlers = {
    // The session RPCs and GetServerStats (src/session-rpcs.ts), as the caller's principal.
    ...sessionRpcs(chat, unary),

    // Unary: fold the reply's events into one ChatReply. A cancelled call still stops the model.
    SendMessage: unary(async ({ sessionId, text }, signal, caller) => {
      const events = chat.reply(requireSessionId(sessionId), text, { signal, principal: caller.principal });
      let reply = '';
      for await (const event of events) {
        if (event.type === 'delta') reply += event.text;
        if (event.type === 'error') throw fromReply(event);
        if (event.type === 'done') return { ...chatEventToProto(event).done!, text: reply };
      }
      throw new ChatError('internal', 'the reply ended without a done event');
    }),

    // Server streaming: one ChatEvent per message, in order, flushed as the model writes. The
    // reply runs through the session's reply log (src/reply-reader.ts): each message has its seq.
    // A call that closes before the end leaves the reply running for the resume grace.
    StreamMessage: (call) => {
      const signal = cancelSignal(call);
      const turn = async () => {
        let events: AsyncGenerator<LoggedChatEvent, void>;
        let step: IteratorResult<LoggedChatEvent, void>;
        try {
          // The reply throws bad input, unknown and busy sessions before its first event: pull
          // that event before writing anything, so those become the call's status code.
          events = streamReply(chat, requireSessionId(call.request.sessionId), call.request.text, {
            signal,
            graces,
            deadlineIn: () => deadlineIn(call),
            traceContext: call.metadata.getMap(),
            principal: accessOf(call).principal,
          });
          step = await events.next();
        } catch (error) {
          call.emit('error', toServiceError(fail(call, error)));
          return;
        }
        let failure: ChatError | undefined;
        for (; !step.done; step = await events.next()) {
          const { seq, event } = step.value;
          if (event.type === 'error') failure = fromReply(event);
          if (!call.cancelled)
            await writeWithBackpressure(call, { ...chatEventToProto(event), seq: String(seq) });
        }
        if (call.cancelled) return;
        // A failed reply also fails the call, so a client that ignores the oneof (grpcurl)
        // still sees it; our client has already read the `error` event.
        if (failure) call.emit('error', toServiceError(failure));
        else call.end();
      };
      void turnsInFlight.track(turn());
    },

    // Server streaming: one reply read back from the log from `after` (a resume); never cancels it.
    ResumeStream: (call) => {
      const signal = cancelSignal(call);
      const read = async () => {
        const { sessionId, messageId, after } = call.request;
        try {
          if (!messageId) throw new ChatError('invalid_request', 'message_id is required');
          const items = readReplyFromLog(chat, requireSessionId(sessionId), messageId, Number(after), {
            signal,
            graces,
            principal: accessOf(call).principal,
          });
          for await (const item of items) {
            if (call.cancelled) return;
            await writeWithBackpressure(call, logItemToProto(item));
          }
        } catch (error) {
          if (!call.cancelled) call.emit('error', toServiceError(fail(call, error)));
          return;
        }
        if (!call.cancelled) call.end();
      };
      void turnsInFlight.track(read());
    },

    // Unary: the Stop. Closing a StreamMessage call is not one (see ResumeStream's grace above).
    CancelReply: unary(async ({ sessionId }, _signal, caller) => ({
      cancelled: await chat.cancelReply(requireSessionId(sessionId), 'cancelled by the client', caller),
    })),

    // Bidi: a long-lived stream. Each command (send, cancel, typing, ping) is handled as it
    // arrives (src/chat-call.ts); replies are written to the stream as they come, several at once.
    Chat: (call) => {
      const stream = chatStreams.open(call);
      const closeConnection = stats.connectionOpened();
      const signal = cancelSignal(call);
      const turns = new InFlight();
      const track = (turn: Promise<void>) => void turns.track(turnsInFlight.track(turn));
      call.on('data', chatCommands({ chat, config, stream, streams: chatStreams, signal, track, fail }));

      // The client half-closed: finish the replies it asked for, then end our side too. (After a
      // cancel grpc-js may emit `end` instead of `cancelled`: cancelSignal() covers that case.)
      call.on('end', () => void turns.settled().then(() => stream.end()));
      call.on('error', () => undefined);
      signal.addEventListener('abort', () => stream.end(), { once: true });
      call.once('close', closeConnection);
    },
  };

  // Count payload bytes both ways, so GetServerStats is truthful: the service's own
  // (de)serialisers report each message's size as they make it, so nothing is encoded twice.
  server.addService(countingService(ChatServiceClient.service, stats), handlers);
  const health = addHealthService(server, chat, logger);
  // Server reflection (v1 and v1alpha): grpcurl and friends discover the services and their
  // message types at run time, with no copy of the .proto files.
  new ReflectionService(packageDefinition).addToServer(server);

  // GET /metrics, and gRPC-Web/Connect for browsers, each on a listener of its own (src/listeners.ts).
  const side = new SideListeners({ chat, config, access, logger, graces, webPort: options.webPort });
  let closing: Promise<void> | undefined;
  return {
    protocol: 'grpc',
    chat,
    get webUrl() {
      return side.webUrl;
    },
    get metricsUrl() {
      return side.metricsUrl;
    },
    async listen({ port = 0, host = DEFAULT_HOST } = {}) {
      await side.listen(port, host);
      const address = await bindServer(server, host, port, config);
      logger.info(
        { address, metrics: `${side.metricsUrl}/metrics`, model: chat.model.info },
        'gRPC server listening',
      );
      return address;
    },
    close() {
      closing ??= (async () => {
        logger.info('shutting down: ending the calls in flight');
        health.shutdown();
        // Replies in flight end with `done` (finishReason cancelled), then every Chat stream
        // is ended, then the server stops; calls still open after the grace period are cut.
        chat.cancelAll();
        await graces.close();
        await turnsInFlight.settled();
        chatStreams.endAll();
        const force = setTimeout(() => server.forceShutdown(), config.shutdownTimeoutMs);
        await promisify(server.tryShutdown.bind(server))();
        clearTimeout(force);
        await access.close();
        await side.close();
        if (ownsChat) await chat.close();
        logger.info('gRPC server stopped');
      })();
      return closing;
    },
  };
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
