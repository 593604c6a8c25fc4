/**
 * gRPC client: the chat over a typed HTTP/2 channel with @grpc/grpc-js.
 *
 * What it teaches:
 * - a client from proto/chat.proto with the types proto-loader-gen-types generated;
 * - the chat as server streaming (StreamMessage): each ChatEvent arrives as its own message and
 *   its oneof says which event it is; Ctrl+C calls `call.cancel()`, which stops the model;
 * - a deadline on every call, so nothing waits forever on a server that went quiet;
 * - `/health` through the standard grpc.health.v1 service, `/ping` over the bidi Chat stream;
 * - status codes turned back into the project's ChatError; `/reconnect` opens a new channel;
 * - `--trace`: each message's 5-byte prefix and protobuf bytes from the client's own
 *   (de)serialisers, the metadata and the trailers from an interceptor.
 *
 * Everything else (readline, commands, the spinner, client-side stats) is the shared shell from
 * @gtp/core/cli.
 *
 * Run it:   pnpm serve grpc          (in one terminal)
 *           pnpm client grpc              (in another; --url host:port to point elsewhere, --trace to see each message)
 */
import * as grpc from '@grpc/grpc-js';
import { ChatError, type ChatEvent, isMain, type Message, type Session, type StatsSnapshot } from '@gtp/core';
import {
  type AdapterOptions,
  allSessions,
  type ClientAdapter,
  type ExtraCommand,
  type Health,
  hex,
  type LoggedEvent,
  type NoticeListener,
  printable,
  resumableReply,
  runClient,
  type SendOptions,
  type WireTrace,
} from '@gtp/core/cli';
import type { ChatServiceClient as ChatServiceClientType } from './generated/genai/chat/v1/ChatService.ts';
import type { CreateSessionResponse__Output } from './generated/genai/chat/v1/CreateSessionResponse.ts';
import type { GetHistoryResponse__Output } from './generated/genai/chat/v1/GetHistoryResponse.ts';
import type { GetServerStatsResponse__Output as ServerStats__Output } from './generated/genai/chat/v1/GetServerStatsResponse.ts';
import type { GetSessionResponse__Output } from './generated/genai/chat/v1/GetSessionResponse.ts';
import type { ListSessionsResponse__Output } from './generated/genai/chat/v1/ListSessionsResponse.ts';
import type { HealthClient as HealthClientType } from './generated/grpc/health/v1/Health.ts';
import { channelCredentials } from './src/credentials.ts';
import { chatEventFromProto, messageFromProto, sessionFromProto, statsFromProto } from './src/messages.ts';
import { CHAT_SERVICE_NAME, ChatServiceClient, HealthClient } from './src/proto.ts';
import { fromServiceError } from './src/status.ts';

/** Deadline of the short calls (sessions, history, stats, health, ping). */
export const UNARY_DEADLINE_MS = 5_000;
/** Deadline of one whole reply: generous, since a model may write for a while. */
export const REPLY_DEADLINE_MS = 5 * 60_000;

/**
 * Client keepalive: during a call, ping the server after 30 s of silence and give up on it
 * 10 s later, so a dead server (or network) fails a long reply instead of hanging it. Only
 * while calls are active: idle pings are what servers punish with GOAWAY "too_many_pings".
 */
const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.keepalive_time_ms': 30_000,
  'grpc.keepalive_timeout_ms': 10_000,
  'grpc.keepalive_permit_without_calls': 0,
  // After a failed connection grpc-js waits before it tries again (1 s, growing to 120 s), and
  // every call meanwhile fails UNAVAILABLE: keep the wait short, so a restarted server is found
  // within a second or so. `/reconnect` opens a fresh channel at once.
  'grpc.initial_reconnect_backoff_ms': 250,
  'grpc.max_reconnect_backoff_ms': 2_000,
  // grpc-js shares one connection between every channel of a process to the same target: two
  // adapters in one process (the bench's 200 clients, a test's second client) would be one HTTP/2
  // connection, held to the server's 100 concurrent streams. Each adapter is its own client.
  'grpc.use_local_subchannel_pool': 1,
};

/** How long the client waits for an HTTP /health answer when no gRPC server answered. */
const HTTP_PROBE_TIMEOUT_MS = 1_000;

/** Every gRPC message travels behind a 5-byte prefix: a compressed flag and a 4-byte big-endian length. */
const GRPC_PREFIX_BYTES = 5;

/** The 5-byte length prefix of an uncompressed message of this size. */
export function lengthPrefix(messageBytes: number): Buffer {
  const prefix = Buffer.alloc(GRPC_PREFIX_BYTES);
  prefix.writeUInt32BE(messageBytes, 1);
  return prefix;
}

type ServiceClientConstructor = typeof ChatServiceClient | typeof HealthClient;

/**
 * The same client with serialisers that report each message as it is encoded (sent) or decoded
 * (received): the exact protobuf bytes, so nothing is encoded twice to show or count it.
 */
function observedClient<C extends ServiceClientConstructor>(
  Client: C,
  serviceName: string,
  observe: (direction: 'sent' | 'received', method: string, bytes: Buffer, value: unknown) => void,
): C {
  const service = Object.fromEntries(
    Object.entries(Client.service).map(([name, method]) => [
      name,
      {
        ...method,
        requestSerialize: (value: unknown) => {
          const bytes = method.requestSerialize(value);
          observe('sent', method.path, bytes, value);
          return bytes;
        },
        responseDeserialize: (bytes: Buffer) => {
          const value = method.responseDeserialize(bytes);
          observe('received', method.path, bytes, value);
          return value;
        },
      },
    ]),
  );
  return grpc.makeClientConstructor(service, serviceName) as unknown as C;
}

/** `--trace`: the HTTP/2 HEADERS (metadata), the response headers and the trailers of each call. */
function traceInterceptor(trace: WireTrace): grpc.Interceptor {
  return (callOptions, nextCall) => {
    const path = callOptions.method_definition.path;
    return new grpc.InterceptingCall(nextCall(callOptions), {
      start: (metadata, _listener, next) => {
        trace.note(`HEADERS POST ${path} (HTTP/2, content-type application/grpc)`, metadataLines(metadata));
        next(metadata, {
          onReceiveMetadata: (received, nextMetadata) => {
            trace.note(`response HEADERS of ${path}`, metadataLines(received));
            nextMetadata(received);
          },
          onReceiveStatus: (status, nextStatus) => {
            trace.note(`trailers of ${path}: grpc-status ${status.code} (${grpc.status[status.code]})`, [
              ...(status.details ? [`grpc-message: ${printable(status.details)}`] : []),
              ...metadataLines(status.metadata),
            ]);
            nextStatus(status);
          },
        });
      },
    });
  };
}

function metadataLines(metadata: grpc.Metadata): string[] {
  return Object.entries(metadata.toJSON()).map(
    ([key, values]) => `${key}: ${values.map((v) => (Buffer.isBuffer(v) ? hex(v) : String(v))).join(', ')}`,
  );
}

const deadline = (ms: number) => Date.now() + ms;

export class GrpcAdapter implements ClientAdapter {
  readonly protocol = 'grpc' as const;
  readonly target: string;
  readonly commands: readonly ExtraCommand[];
  readonly trace: WireTrace | undefined;
  readonly #interceptors: grpc.Interceptor[] = [];
  #client!: ChatServiceClientType;
  #health!: HealthClientType;
  #bytesReceived = 0;
  readonly #noticeListeners: NoticeListener[] = [];
  #ca: Buffer | undefined;

  constructor(target: string, options: AdapterOptions = {}) {
    this.target = target.replace(/^(grpc|http):\/\//, '');
    // AUTH_TOKEN: `authorization: Bearer <token>` metadata on every call. Over TLS the idiom is
    // call credentials (`grpc.credentials.combineChannelCredentials(createSsl(),
    // createFromMetadataGenerator(…))`); grpc-js refuses to attach call credentials to an insecure
    // channel (they would travel in clear text), so on this loopback demo an interceptor adds it.
    const interceptors = this.#interceptors;
    const { token, trace } = options;
    this.trace = trace;
    this.#ca = options.ca;
    if (token) {
      interceptors.push(
        (callOptions, nextCall) =>
          new grpc.InterceptingCall(nextCall(callOptions), {
            start: (metadata, listener, next) => {
              metadata.set('authorization', `Bearer ${token}`);
              next(metadata, listener);
            },
          }),
      );
    }
    // Last, so it sees the metadata as sent (the token included).
    if (trace) interceptors.push(traceInterceptor(trace));
    this.#connect();
    this.commands = [
      {
        name: 'reconnect',
        description: 'close the channel and open a new one now (instead of waiting out its backoff)',
        run: async () => {
          const startedAt = performance.now();
          this.#client.close();
          this.#connect();
          await new Promise<void>((resolve, reject) =>
            this.#client.waitForReady(deadline(UNARY_DEADLINE_MS), (error) =>
              error
                ? reject(new ChatError('unavailable', `cannot reach ${this.target}: ${error.message}`))
                : resolve(),
            ),
          );
          return `connected to ${this.target} in ${(performance.now() - startedAt).toFixed(1)} ms (a new channel)`;
        },
      },
      {
        name: 'ping',
        description: 'round trip over the bidi Chat stream (ping → pong)',
        run: async () => {
          const { roundTripMs } = await this.ping();
          return `pong in ${roundTripMs.toFixed(1)} ms (over the Chat stream)`;
        },
      },
    ];
  }

  /** A new channel, with the chat and health clients on it. */
  #connect(): void {
    // --ca / TLS_CA_FILE: TLS, the certificate checked against that CA and the target's host.
    const credentials = channelCredentials(this.#ca);
    // Every message through the client's own (de)serialisers: counted (protobuf payload + the
    // 5-byte prefix) and, with --trace, shown byte for byte, with nothing encoded twice.
    const observe = (direction: 'sent' | 'received', method: string, bytes: Buffer, value: unknown) => {
      const wireBytes = bytes.length + GRPC_PREFIX_BYTES;
      if (direction === 'received') this.#bytesReceived += wireBytes;
      const trace = this.trace;
      if (!trace) return;
      const prefix = lengthPrefix(bytes.length);
      trace[direction](
        wireBytes,
        `message ${method.split('/').pop()} · prefix ${hex(prefix)} (not compressed, ${bytes.length} B) + ${bytes.length} B protobuf`,
        [`hex: ${hex(Buffer.concat([prefix, bytes]))}`, `decoded: ${printable(JSON.stringify(value))}`],
      );
    };
    const Client = observedClient(ChatServiceClient, CHAT_SERVICE_NAME, observe);
    this.#client = new Client(this.target, credentials, {
      ...CHANNEL_OPTIONS,
      interceptors: this.#interceptors,
    });
    // The health client shares the channel: one HTTP/2 connection for everything. (The server
    // leaves health open, but sending the token there too costs nothing.)
    const Health = observedClient(HealthClient, 'grpc.health.v1.Health', observe);
    this.#health = new Health(this.target, credentials, {
      channelOverride: this.#client.getChannel(),
      interceptors: this.#interceptors,
    });
  }

  /**
   * The chat call: StreamMessage, server streaming. Each message is one ChatEvent with its `seq`
   * in the session's reply log; the call's status at the end says whether it succeeded. Aborting
   * `signal` (Ctrl+C) calls CancelReply, then cancels the call: the server cannot tell a closed
   * call from a lost connection, and keeps a reply whose call closed for a grace. A call that breaks mid-reply with UNAVAILABLE (a dropped
   * connection) is resumed with ResumeStream {session_id, message_id, after: last seq}, with
   * backoff (resumableReply from @gtp/core/cli); the shell prints one dim "resumed" line.
   */
  send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent, void> {
    const { signal } = options;
    const stop = () => this.cancelReply(sessionId);
    return resumableReply({
      first: this.#read(
        () => this.#client.streamMessage({ sessionId, text }, { deadline: deadline(REPLY_DEADLINE_MS) }),
        signal,
        stop,
      ),
      resume: (messageId, after, resumeSignal) =>
        this.#read(
          () =>
            this.#client.resumeStream(
              { sessionId, messageId, after: String(after) },
              { deadline: deadline(REPLY_DEADLINE_MS) },
            ),
          resumeSignal,
          stop,
        ),
      history: () => this.history(sessionId),
      dropped: (error) => error instanceof ChatError && error.code === 'unavailable',
      notice: (notice) => {
        for (const listener of this.#noticeListeners) listener(notice, { dim: true });
      },
      signal,
    });
  }

  onNotice(listener: NoticeListener): void {
    this.#noticeListeners.push(listener);
  }

  /** One server-streaming reply call (StreamMessage or ResumeStream), message by message, with seq. */
  async *#read(
    open: () => grpc.ClientReadableStream<
      { event?: string; seq?: string } & Parameters<typeof chatEventFromProto>[0]
    >,
    signal: AbortSignal | undefined,
    stop: () => Promise<unknown>,
  ): AsyncGenerator<LoggedEvent> {
    const call = open();
    let stopping: Promise<unknown> | undefined;
    // The Stop first (the model stops, the history keeps the partial text), then the call.
    const cancel = () => {
      stopping = stop().catch(() => undefined);
      call.cancel();
    };
    signal?.addEventListener('abort', cancel, { once: true });
    let failed = false;
    let final: LoggedEvent | undefined;
    try {
      // The final event (`done` or `error`) is held until the call has ended with its status: a
      // consumer that stops at `done` would otherwise cancel a call whose trailers were on
      // their way (a RST_STREAM, and CANCELLED instead of OK in --trace).
      for await (const message of call) {
        const seq = Number(message.seq ?? 0);
        const reset = (message as { reset?: { reason?: string; replaying?: boolean } }).reset;
        if (message.event === 'reset' && reset) {
          yield { seq, reset: { reason: reset.reason ?? '', replaying: reset.replaying ?? false } };
          continue;
        }
        const event = chatEventFromProto(message);
        if (!event) continue;
        if (event.type === 'error') failed = true;
        if (event.type === 'done' || event.type === 'error') final = { seq, event };
        else yield { seq, event };
      }
      if (final) yield final;
    } catch (error) {
      // Ctrl+C: our own cancel() ends the call with CANCELLED; the shell reports "cancelled" once
      // the server has the CancelReply (so the next send does not find the session busy).
      if (signal?.aborted) {
        await stopping;
        return;
      }
      // After an in-band `error` event the server also fails the call; the event says it all.
      if (failed && final) {
        yield final;
        return;
      }
      // INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, UNAVAILABLE…
      throw this.#failure(error);
    } finally {
      signal?.removeEventListener('abort', cancel);
      // The consumer stopped early (break): close the call (the server stops reading; the reply
      // runs on for its resume grace unless CancelReply stops it).
      call.cancel();
    }
  }

  /** The standard health check, plus the model in use (from GetServerStats). */
  async health(): Promise<Health> {
    let status: string;
    try {
      ({ status } = await this.#unary<{ status: string }>((cb) =>
        this.#health.check({ service: CHAT_SERVICE_NAME }, { deadline: deadline(UNARY_DEADLINE_MS) }, cb),
      ));
    } catch (error) {
      throw (await this.#httpServerThere()) ?? error;
    }
    if (status !== 'SERVING') throw new ChatError('unavailable', `${CHAT_SERVICE_NAME} is ${status}`);
    const stats = await this.#stats();
    return { status: 'ok', protocol: stats.protocol, model: stats.model, uptimeSeconds: stats.uptimeSeconds };
  }

  async stats(): Promise<StatsSnapshot> {
    const { model: _model, ...stats } = await this.#stats();
    return stats;
  }

  async createSession(): Promise<Session> {
    return sessionFromProto(
      (
        await this.#unary<CreateSessionResponse__Output>((cb) =>
          this.#client.createSession({}, this.#options(), cb),
        )
      ).session,
    );
  }

  async getSession(id: string): Promise<Session> {
    return sessionFromProto(
      (
        await this.#unary<GetSessionResponse__Output>((cb) =>
          this.#client.getSession({ sessionId: id }, this.#options(), cb),
        )
      ).session,
    );
  }

  /** Every session of the caller, following next_page_token (bounded, as on every client). */
  listSessions(): Promise<Session[]> {
    return allSessions((cursor) => this.sessionsPage(cursor));
  }

  /** One page of ListSessions; `cursor` is the previous page's next_page_token. */
  async sessionsPage(cursor?: string): Promise<{ sessions: Session[]; nextCursor?: string }> {
    const { sessions, nextPageToken } = await this.#unary<ListSessionsResponse__Output>((cb) =>
      this.#client.listSessions({ pageToken: cursor ?? '' }, this.#options(), cb),
    );
    return {
      sessions: sessions.map(sessionFromProto),
      ...(nextPageToken ? { nextCursor: nextPageToken } : {}),
    };
  }

  async deleteSession(id: string): Promise<void> {
    await this.#unary((cb) => this.#client.deleteSession({ sessionId: id }, this.#options(), cb));
  }

  async history(id: string): Promise<Message[]> {
    const { messages } = await this.#unary<GetHistoryResponse__Output>((cb) =>
      this.#client.getHistory({ sessionId: id }, this.#options(), cb),
    );
    return messages.map(messageFromProto);
  }

  /** CancelReply: stop the session's reply wherever it runs; true when one was running. */
  async cancelReply(id: string): Promise<boolean> {
    const { cancelled } = await this.#unary<{ cancelled: boolean }>((cb) =>
      this.#client.cancelReply({ sessionId: id }, this.#options(), cb),
    );
    return cancelled;
  }

  async clearHistory(id: string): Promise<void> {
    await this.#unary((cb) => this.#client.clearHistory({ sessionId: id }, this.#options(), cb));
  }

  /** Ping over a short-lived bidi Chat stream: write `ping`, wait for `pong`, half-close. */
  ping(): Promise<{ roundTripMs: number; serverTs: number }> {
    return new Promise((resolve, reject) => {
      const call = this.#client.chat({ deadline: deadline(UNARY_DEADLINE_MS) });
      const sentAt = performance.now();
      call.on('data', (message: { event?: string; pong?: { serverTs: string } | null }) => {
        if (message.event !== 'pong') return;
        resolve({ roundTripMs: performance.now() - sentAt, serverTs: Number(message.pong!.serverTs) });
        call.end();
      });
      call.on('error', (error) => reject(this.#failure(error)));
      call.write({ ping: { ts: String(Date.now()) } });
    });
  }

  bytesReceived(): number {
    return this.#bytesReceived;
  }

  /**
   * When the health check could not reach a gRPC server: is an HTTP/1.1 server of this project
   * listening there instead (`--url` of a REST, NDJSON, SSE or WebSocket server)? Its /health
   * names its protocol, and the user learns which client to use instead of "is it running?".
   */
  async #httpServerThere(): Promise<ChatError | undefined> {
    try {
      const response = await fetch(`http://${this.target}/health`, {
        signal: AbortSignal.timeout(HTTP_PROBE_TIMEOUT_MS),
      });
      const { protocol } = (await response.json()) as { protocol?: unknown };
      if (typeof protocol !== 'string') return undefined;
      return new ChatError(
        'invalid_request',
        `${this.target} is a ${protocol} server; use pnpm client ${protocol} (this is the grpc client)`,
      );
    } catch {
      return undefined;
    }
  }

  async close(): Promise<void> {
    this.#client.close();
  }

  #stats() {
    return this.#unary<ServerStats__Output>((cb) =>
      this.#client.getServerStats({}, this.#options(), cb),
    ).then(statsFromProto);
  }

  /**
   * A failed call as a ChatError. UNAVAILABLE from the channel itself (no server answered) says
   * so plainly: grpc-js's own text ("No connection established. Last error: … Resolution note:")
   * is kept short and /reconnect offered.
   */
  #failure(error: unknown): ChatError {
    const failure = fromServiceError(error, this.target);
    const status = error as Partial<grpc.ServiceError>;
    if (
      status.code === grpc.status.UNAVAILABLE &&
      /No connection established|connect|ECONNREFUSED/i.test(status.details ?? '')
    ) {
      // e.g. "connect ECONNREFUSED 127.0.0.1:50051. Resolution note: ": keep the code and the address.
      const cause = /(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH)( [\w.:[\]]*\w)?/.exec(
        status.details ?? '',
      )?.[0];
      return new ChatError(
        'unavailable',
        `cannot reach ${this.target}: is the server running?${cause ? ` (${cause.trim()})` : ''} /reconnect tries again now`,
        { cause: error },
      );
    }
    return failure;
  }

  #options(): grpc.CallOptions {
    return { deadline: deadline(UNARY_DEADLINE_MS) };
  }

  /** A callback-style unary call as a promise; a failed status becomes a ChatError. */
  #unary<T>(start: (callback: grpc.requestCallback<T>) => grpc.ClientUnaryCall): Promise<T> {
    return new Promise((resolve, reject) => {
      start((error, response) => {
        if (error) reject(this.#failure(error));
        else resolve(response!);
      });
    });
  }
}

if (isMain(import.meta.url)) runClient('grpc', (target, options) => new GrpcAdapter(target, options));
