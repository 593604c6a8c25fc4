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
 *   (src/resume-grace.ts) for ResumeStream, since gRPC cannot tell a cancel from a lost connection;
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
  runMain,
  runServer,
  startMetricsServer,
  writeWithBackpressure,
} from '@gtp/core';
import type { ChatRequest__Output } from './generated/genai/chat/v1/ChatRequest.ts';
import type { ChatServiceHandlers } from './generated/genai/chat/v1/ChatService.ts';
import { cancelSignal, deadlinePassed } from './src/cancel.ts';
import { ChatStreams } from './src/chat-stream.ts';
import { CommandBudget } from './src/command-budget.ts';
import { serverCredentials } from './src/credentials.ts';
import { callFailures } from './src/failures.ts';
import { addHealthService } from './src/health.ts';
import { InFlight } from './src/in-flight.ts';
import { accessInterceptor, accessOf } from './src/interceptors.ts';
import { chatEventToProto, logItemToProto } from './src/messages.ts';
import { ChatServiceClient, countingService, packageDefinition } from './src/proto.ts';
import { type LoggedChatEvent, readReplyFromLog, streamReply } from './src/reply-reader.ts';
import { RESUME_GRACE_MS, ResumeGraces } from './src/resume-grace.ts';
import { serverOptions } from './src/server-options.ts';
import { sessionRpcs } from './src/session-rpcs.ts';
import { toServiceError } from './src/status.ts';
import { requireSessionId, unaryHandlers } from './src/unary.ts';
import { createWebServer, GRPC_WEB_DEFAULT_PORT } from './src/web.ts';

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
            deadlinePassed: () => deadlinePassed(call),
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

    // Bidi: a long-lived stream; each client event is handled as it arrives.
    Chat: (call) => {
      const stream = chatStreams.open(call);
      const closeConnection = stats.connectionOpened();
      const signal = cancelSignal(call);
      const turns = new InFlight();
      const refuse = (error: unknown) =>
        void stream.send({ error: { messageId: '', error: fail(call, error).toJSON() } });
      const caller = accessOf(call);
      // RATE_LIMIT_MAX commands per RATE_LIMIT_WINDOW_MS on this stream (src/command-budget.ts).
      const budget = new CommandBudget(config);

      const runTurn = async (sessionId: string, text: string) => {
        stream.sessions.add(sessionId);
        try {
          for await (const event of chat.reply(sessionId, text, {
            signal,
            traceContext: call.metadata.getMap(),
            principal: caller.principal,
          })) {
            await stream.send(chatEventToProto(event));
          }
        } catch (error) {
          refuse(error);
        }
      };

      call.on('data', (message: ChatRequest__Output) => {
        if (budget.exhausted) return; // ended below; grpc-js may still deliver
        try {
          const refused = budget.take();
          if (refused?.end) {
            if (!call.cancelled) call.emit('error', toServiceError(fail(call, refused.refusal)));
            return;
          }
          if (refused) throw refused.refusal;
          switch (message.event) {
            case 'send': {
              const { sessionId, text } = message.send!;
              void turns.track(turnsInFlight.track(runTurn(requireSessionId(sessionId), text)));
              return;
            }
            case 'cancel':
              // Idempotent: cancelling a session with no reply running does nothing. cancelReply
              // reaches the reply wherever it runs: here, or on another instance (REDIS_URL).
              chat.cancelReply(requireSessionId(message.cancel!.sessionId), undefined, caller).catch(refuse);
              return;
            case 'typing':
              // Only into a session the caller may use (another principal's: NOT_FOUND).
              chat
                .authorize(requireSessionId(message.typing!.sessionId), caller)
                .then(
                  () => chatStreams.typing(stream, message.typing!.sessionId, message.typing!.active),
                  refuse,
                );
              return;
            case 'ping':
              void stream.send({ pong: { ts: message.ping!.ts, serverTs: String(Date.now()) } });
              return;
            default:
              throw new ChatError(
                'invalid_request',
                'a ChatRequest must set one of send, cancel, typing, ping',
              );
          }
        } catch (error) {
          refuse(error);
        }
      });

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

  let closing: Promise<void> | undefined;
  // GET /metrics on a small HTTP listener of its own (METRICS_PORT; any free port when PORT=0).
  let metrics: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  // The same ChatService for browsers: gRPC-Web and Connect on a listener of their own (src/web.ts).
  const web = createWebServer({ chat, config, access, logger, graces });
  let webUrl: string | undefined;
  return {
    protocol: 'grpc',
    chat,
    get webUrl() {
      return webUrl;
    },
    get metricsUrl() {
      return metrics?.url;
    },
    async listen({ port = 0, host = DEFAULT_HOST } = {}) {
      metrics = await startMetricsServer({ chat, port: port === 0 ? 0 : config.metricsPort, host });
      webUrl = await web.listen(options.webPort ?? (port === 0 ? 0 : GRPC_WEB_DEFAULT_PORT), host);
      const shownHost = host.includes(':') ? `[${host}]` : host;
      const bind = promisify(server.bindAsync.bind(server));
      const address = `${shownHost}:${await bind(`${shownHost}:${port}`, serverCredentials(config.tls))}`;
      logger.info(
        { address, metrics: `${metrics.url}/metrics`, model: chat.model.info },
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
        web.closeAll();
        await web.close();
        await metrics?.close();
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
