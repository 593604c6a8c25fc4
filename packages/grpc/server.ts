/**
 * gRPC server: the chat as a typed service over HTTP/2 with @grpc/grpc-js.
 *
 * What it teaches:
 * - a service from proto/chat.proto, loaded by @grpc/proto-loader, with handler types generated
 *   by proto-loader-gen-types (generated/, `pnpm --filter @gtp/grpc gen`);
 * - the three call shapes: unary (SendMessage and the session RPCs), server streaming
 *   (StreamMessage) and bidirectional streaming (Chat: send, cancel, typing, ping);
 * - errors as status codes (ChatError.grpcStatus) with a message that says why;
 * - a client that cancels or whose deadline passes stops the model (the partial reply is kept);
 * - server interceptors: AUTH_TOKEN and a per-address call rate limit (RATE_LIMIT_MAX);
 * - grpc.health.v1 (grpc-health-check; NOT_SERVING while Redis is away), server reflection
 *   (@grpc/reflection), message size limits, keepalive and a graceful shutdown.
 *
 * Run it: `pnpm serve grpc` (port 50051), then `pnpm client grpc` in another terminal.
 */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import {
  AddressRateLimit,
  bearerToken,
  ChatError,
  type ChatEvent,
  type ChatServer,
  ChatService,
  type Config,
  DEFAULT_HOST,
  isMain,
  loadConfig,
  runMain,
  runServer,
  tokenMatches,
} from '@gtp/core';
import { HealthImplementation } from 'grpc-health-check';
import {
  CHAT_SERVICE_NAME,
  ChatServiceClient,
  chatEventToProto,
  countingService,
  messageToProto,
  packageDefinition,
  sessionToProto,
  statsToProto,
  toServiceError,
} from './contract.ts';
import type { ChatClientEvent__Output } from './generated/genai/chat/v1/ChatClientEvent.ts';
import type { ChatServerEvent } from './generated/genai/chat/v1/ChatServerEvent.ts';
import type { ChatServiceHandlers } from './generated/genai/chat/v1/ChatService.ts';
import { peerAddress } from './rate-limit.ts';

/**
 * Keepalive: every KEEPALIVE_TIME (the configured HEARTBEAT_MS, 15 s by default) of silence the
 * server sends an HTTP/2 PING; a client that does not answer within KEEPALIVE_TIMEOUT_MS is
 * gone (a laptop lid closed, a NAT dropped the mapping). Its calls are then cancelled, which
 * stops the model: nobody pays for tokens nobody reads. 15 s is well under the idle timeouts of
 * common NATs and load balancers (60–350 s), so the pings also keep long streams alive.
 */
const KEEPALIVE_TIMEOUT_MS = 10_000;

/** grpc.health.v1 stays open (no token, no rate limit): probes carry no credentials. */
const HEALTH_PATH_PREFIX = '/grpc.health.v1.Health/';

/** How often, with Redis, the health service asks whether the store and the broker answer. */
const DEPENDENCY_CHECK_MS = 1_000;

/** A server-streaming or bidi call whose client we write to. */
type WritableCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

export interface CreateServerOptions {
  config?: Config;
  chat?: ChatService;
}

export async function createServer(options: CreateServerOptions = {}): Promise<ChatServer> {
  const config = options.config ?? loadConfig();
  // With REDIS_URL, sessions (and cancels) are shared with every other instance, whatever its
  // protocol; without it, everything lives in this process. A service we create, we close.
  const ownsChat = !options.chat;
  const chat = options.chat ?? (await ChatService.create(config, 'grpc'));
  const stats = chat.stats;

  /**
   * End a call from an interceptor, before any handler runs: the status code from the ChatError,
   * and its code in the trailers (chat-error-code) like every other failure of ours.
   */
  const refuseCall = (call: grpc.ServerInterceptingCallInterface, failure: ChatError) => {
    stats.recordError(failure.code);
    const status = toServiceError(failure);
    call.sendStatus({
      code: status.code ?? grpc.status.UNKNOWN,
      details: failure.message,
      ...(status.metadata ? { metadata: status.metadata } : {}),
    });
  };
  const interceptors: grpc.ServerInterceptor[] = [];

  // RATE_LIMIT_MAX calls per RATE_LIMIT_WINDOW_MS per client address, the budget the HTTP servers
  // give each address; 0 turns it off. It is the first interceptor, so it sees a call before the
  // token check: refused tokens count too, and guessing them is throttled. A call is one unit
  // whatever its shape (a whole Chat stream counts once; MAX_CONCURRENT_STREAMS bounds replies).
  if (config.rateLimitMax > 0) {
    const callLimit = new AddressRateLimit(config.rateLimitMax, config.rateLimitWindowMs);
    const windowSeconds = Math.round(config.rateLimitWindowMs / 1000);
    const limitRate: grpc.ServerInterceptor = (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              const retryAfter = method.path.startsWith(HEALTH_PATH_PREFIX)
                ? 0
                : callLimit.take(peerAddress(call.getPeer()));
              if (retryAfter === 0) {
                nextMetadata(metadata);
                return;
              }
              // RESOURCE_EXHAUSTED (code 8): the handler never runs.
              refuseCall(
                call,
                new ChatError(
                  'rate_limited',
                  `more than ${config.rateLimitMax} calls in ${windowSeconds} s from this address; ` +
                    `retry after ${retryAfter} s (RATE_LIMIT_MAX)`,
                  { retryAfterSeconds: retryAfter },
                ),
              );
            },
          }),
      });
    interceptors.push(limitRate);
  }

  // AUTH_TOKEN: every call needs `authorization: Bearer <token>` metadata, except the health
  // service (load balancers and orchestrators probe it without credentials). One interceptor
  // guards every method of every service, whatever its shape (unary, server streaming, bidi): it
  // sees the call's metadata before any handler runs and answers UNAUTHENTICATED instead.
  // Reflection is guarded too: it tells whoever asks what the API is; grpcurl sends the header
  // with `-H 'authorization: Bearer …'`.
  const token = config.authToken;
  if (token) {
    const requireToken: grpc.ServerInterceptor = (method, call) =>
      new grpc.ServerInterceptingCall(call, {
        start: (next) =>
          next({
            onReceiveMetadata: (metadata, nextMetadata) => {
              const presented = bearerToken(metadata.get('authorization').map(String));
              if (method.path.startsWith(HEALTH_PATH_PREFIX) || tokenMatches(presented, token)) {
                nextMetadata(metadata);
                return;
              }
              // The handler never runs: the call ends here with UNAUTHENTICATED (code 16).
              refuseCall(
                call,
                new ChatError(
                  'unauthorized',
                  'missing or wrong token: send the metadata authorization: Bearer <AUTH_TOKEN>',
                ),
              );
            },
          }),
      });
    interceptors.push(requireToken);
  }

  const server = new grpc.Server({
    // A request larger than this is refused by grpc-js with RESOURCE_EXHAUSTED before any
    // handler runs. The longest valid message (MAX_MESSAGE_CHARS) fits well within it.
    'grpc.max_receive_message_length': config.bodyLimitBytes,
    'grpc.keepalive_time_ms': config.heartbeatMs,
    'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
    interceptors,
  });

  /** Turns in flight (any RPC) and open Chat streams, so close() can end them all. */
  const turnsInFlight = new Set<Promise<void>>();
  const chatStreams = new Set<ChatStream>();

  /** Run a turn and remember it until it settles. */
  const track = (turn: Promise<void>) => {
    turnsInFlight.add(turn);
    void turn.finally(() => turnsInFlight.delete(turn));
    return turn;
  };

  const requireSessionId = (sessionId: string) => {
    if (!sessionId) throw new ChatError('invalid_request', 'session_id is required');
    return sessionId;
  };

  /** A unary handler from an async function: its result or its ChatError goes to the callback. */
  function unary<Req, Res>(
    run: (request: Req, signal: AbortSignal) => Promise<Res>,
  ): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      run(call.request, cancelSignal(call)).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const failure = ChatError.from(error);
          stats.recordError(failure.code);
          callback(toServiceError(failure));
        },
      );
    };
  }

  const handlers: ChatServiceHandlers = {
    CreateSession: unary(async () => sessionToProto(await chat.createSession())),
    GetSession: unary(async (request) =>
      sessionToProto(await chat.getSession(requireSessionId(request.sessionId))),
    ),
    ListSessions: unary(async () => ({ sessions: (await chat.listSessions()).map(sessionToProto) })),
    DeleteSession: unary(async (request) => {
      await chat.deleteSession(requireSessionId(request.sessionId));
      return {};
    }),
    GetHistory: unary(async (request) => ({
      messages: (await chat.history(requireSessionId(request.sessionId))).map(messageToProto),
    })),
    ClearHistory: unary(async (request) => {
      await chat.clearHistory(requireSessionId(request.sessionId));
      return {};
    }),
    GetServerStats: unary(async () => statsToProto(await chat.snapshot(), chat.model.info)),

    // Unary: fold the reply's events into one ChatReply. A cancelled call still stops the model.
    SendMessage: unary((request, signal) => {
      const turn = (async () => {
        const events = chat.reply(requireSessionId(request.sessionId), request.text, { signal });
        let text = '';
        for await (const event of events) {
          if (event.type === 'delta') text += event.text;
          if (event.type === 'error') throw ChatError.fromBody(event.error);
          if (event.type === 'done') {
            return {
              messageId: event.messageId,
              text,
              finishReason: chatEventToProto(event).done!.finishReason,
              usage: event.usage,
              timings: event.timings,
            };
          }
        }
        throw new ChatError('internal', 'the reply ended without a done event');
      })();
      track(
        turn.then(
          () => undefined,
          () => undefined,
        ),
      );
      return turn;
    }),

    // Server streaming: one ChatEvent per message, in order, flushed as the model writes.
    StreamMessage: (call) => {
      const signal = cancelSignal(call);
      const turn = (async () => {
        let events: AsyncGenerator<ChatEvent, void>;
        let first: IteratorResult<ChatEvent, void>;
        try {
          // reply() throws bad input, unknown and busy sessions before its first event: pull
          // that event before writing anything, so those become the call's status code.
          events = chat.reply(requireSessionId(call.request.sessionId), call.request.text, { signal });
          first = await events.next();
        } catch (error) {
          const failure = ChatError.from(error);
          stats.recordError(failure.code);
          call.emit('error', toServiceError(failure));
          return;
        }
        let failure: ChatError | undefined;
        for (let step = first; !step.done; step = await events.next()) {
          const event = step.value;
          if (event.type === 'error') failure = ChatError.fromBody(event.error);
          if (!call.cancelled) await write(call, chatEventToProto(event));
        }
        if (call.cancelled) return;
        // A failed reply also fails the call, so a client that ignores the oneof (grpcurl)
        // still sees it; our client has already read the `error` event.
        if (failure) call.emit('error', toServiceError(failure));
        else call.end();
      })();
      void track(turn);
    },

    // Bidi: a long-lived stream; each client event is handled as it arrives.
    Chat: (call) => {
      const stream = new ChatStream(call);
      chatStreams.add(stream);
      const closeConnection = stats.connectionOpened();
      const signal = cancelSignal(call);
      const turns = new Set<Promise<void>>();

      const refuse = (error: unknown) => {
        const failure = ChatError.from(error);
        stats.recordError(failure.code);
        stream.send({ error: { messageId: '', error: failure.toJSON() } });
      };

      const runTurn = async (sessionId: string, text: string) => {
        stream.sessions.add(sessionId);
        try {
          for await (const event of chat.reply(sessionId, text, { signal })) {
            await stream.send(chatEventToProto(event));
          }
        } catch (error) {
          refuse(error);
        }
      };

      call.on('data', (message: ChatClientEvent__Output) => {
        try {
          switch (message.event) {
            case 'send': {
              const { sessionId, text } = message.send!;
              const turn = track(runTurn(requireSessionId(sessionId), text));
              turns.add(turn);
              void turn.finally(() => turns.delete(turn));
              return;
            }
            case 'cancel':
              // Idempotent: cancelling a session with no reply running does nothing. cancelReply
              // reaches the reply wherever it runs: here, or on another instance (REDIS_URL).
              chat.cancelReply(requireSessionId(message.cancel!.sessionId)).catch(refuse);
              return;
            case 'typing': {
              const sessionId = requireSessionId(message.typing!.sessionId);
              stream.sessions.add(sessionId);
              const typing = { sessionId, active: message.typing!.active, connectionId: stream.id };
              for (const other of chatStreams) {
                if (other !== stream && other.sessions.has(sessionId)) void other.send({ typing });
              }
              return;
            }
            case 'ping':
              void stream.send({ pong: { ts: message.ping!.ts, serverTs: String(Date.now()) } });
              return;
            default:
              throw new ChatError(
                'invalid_request',
                'a ChatClientEvent must set one of send, cancel, typing, ping',
              );
          }
        } catch (error) {
          refuse(error);
        }
      });

      // The client half-closed: finish the replies it asked for, then end our side too. (After a
      // cancel grpc-js may emit `end` instead of `cancelled`, grpc-node#2583: cancelSignal()
      // covers that case, and the replies then stop at once.)
      call.on('end', () => {
        void Promise.allSettled(turns).then(() => stream.end());
      });
      call.on('error', () => undefined);
      signal.addEventListener('abort', () => stream.end(), { once: true });
      stream.closed.then(() => {
        chatStreams.delete(stream);
        closeConnection();
      });
    },
  };

  // Count payload bytes both ways, so GetServerStats is truthful: the service's own
  // (de)serialisers report each message's size as they make it, so nothing is encoded twice.
  server.addService(countingService(ChatServiceClient.service, stats), handlers);

  // grpc.health.v1: "" is the whole server; the service name is ours. Both flip to NOT_SERVING
  // when shutdown begins, so a load balancer stops sending new calls.
  const health = new HealthImplementation({ '': 'SERVING', [CHAT_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  // With Redis, health follows it: NOT_SERVING while the store or the broker does not answer
  // (a balancer sends the calls elsewhere, the calls here would fail), SERVING once it is back.
  // In memory there is nothing to lose. unref(): this timer never keeps the process alive.
  let closing: Promise<void> | undefined;
  let checking = false;
  let dependenciesUp = true;
  const dependencyCheck =
    chat.store.kind === 'redis' || chat.broker.kind === 'redis'
      ? setInterval(() => {
          if (checking) return; // a ping that waits for its time-out is not asked again meanwhile
          checking = true;
          chat
            .dependencies()
            .then(({ store, broker }) => {
              const up = store && broker;
              // Shutdown owns the status once it began. Only changes are set: a Health/Watch
              // stream sends one message per setStatus.
              if (closing || up === dependenciesUp) return;
              dependenciesUp = up;
              const status = dependenciesUp ? 'SERVING' : 'NOT_SERVING';
              health.setStatus('', status);
              health.setStatus(CHAT_SERVICE_NAME, status);
            })
            .catch(() => undefined)
            .finally(() => {
              checking = false;
            });
        }, DEPENDENCY_CHECK_MS).unref()
      : undefined;

  // Server reflection (v1 and v1alpha): grpcurl and friends discover the services and their
  // message types at run time, with no copy of the .proto files.
  new ReflectionService(packageDefinition).addToServer(server);

  return {
    protocol: 'grpc',
    chat,
    listen({ port = 0, host = DEFAULT_HOST } = {}) {
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return new Promise((resolve, reject) => {
        server.bindAsync(
          `${shownHost}:${port}`,
          grpc.ServerCredentials.createInsecure(),
          (error, boundPort) => {
            if (error) reject(error);
            else resolve(`${shownHost}:${boundPort}`);
          },
        );
      });
    },
    close() {
      closing ??= (async () => {
        clearInterval(dependencyCheck);
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(CHAT_SERVICE_NAME, 'NOT_SERVING');
        // Replies in flight end with `done` (finishReason cancelled), then every Chat stream
        // is ended, then the server stops; calls still open after the grace period are cut.
        chat.cancelAll();
        await Promise.allSettled(turnsInFlight);
        for (const stream of chatStreams) stream.end();
        await new Promise<void>((resolve) => {
          const force = setTimeout(() => server.forceShutdown(), config.shutdownTimeoutMs);
          server.tryShutdown(() => {
            clearTimeout(force);
            resolve();
          });
        });
        if (ownsChat) await chat.close();
      })();
      return closing;
    },
  };
}

/**
 * An AbortSignal that fires when the client goes away: it cancelled, its deadline passed, or
 * the connection died. grpc-js reports that as `cancelled`, but sometimes only as the call
 * closing early (grpc-node#2583), so both are handled.
 */
function cancelSignal(call: grpc.ServerUnaryCall<unknown, unknown> | WritableCall): AbortSignal {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted)
      controller.abort(new ChatError('internal', 'the client cancelled the call'));
  };
  const emitter: EventEmitter = call;
  emitter.once('cancelled', abort);
  // A stream that closes while we still owe it messages was cancelled, whatever the event said.
  if (call instanceof Writable) call.once('close', () => (call.writableFinished ? undefined : abort()));
  return controller.signal;
}

/** Write one message, waiting for the transport when its buffer is full (back-pressure). */
function write(call: WritableCall, message: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (call.write(message)) resolve();
    else {
      const done = () => {
        call.off('drain', done);
        call.off('close', done);
        resolve();
      };
      call.once('drain', done);
      call.once('close', done);
    }
  });
}

/** One open Chat call: its id (shown to others as connection_id) and the sessions it used. */
class ChatStream {
  readonly id = randomUUID();
  readonly sessions = new Set<string>();
  readonly call: grpc.ServerDuplexStream<ChatClientEvent__Output, ChatServerEvent>;
  readonly closed: Promise<void>;
  #ended = false;

  constructor(call: grpc.ServerDuplexStream<ChatClientEvent__Output, ChatServerEvent>) {
    this.call = call;
    this.closed = new Promise((resolve) => call.once('close', () => resolve()));
  }

  async send(message: ChatServerEvent): Promise<void> {
    if (this.#ended || this.call.cancelled || this.call.writableEnded) return;
    await write(this.call, message);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (!this.call.cancelled && !this.call.writableEnded) this.call.end();
  }
}

if (isMain(import.meta.url)) {
  runMain(async () => {
    const config = loadConfig();
    await runServer(await createServer({ config }), config);
  });
}
