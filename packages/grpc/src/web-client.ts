/**
 * A Node client of the gRPC-Web listener (src/web.ts) over connect-node's gRPC-Web transport and
 * the generated protobuf-es code: what `pnpm compare` measures as its gRPC-Web row, beside the
 * grpc-js client (client.ts). StreamMessage for a reply (server streaming: no Chat, gRPC-Web has
 * no bidi); aborting `send` aborts the call.
 *
 * `new GrpcWebAdapter(webUrl, { ca, token, httpVersion })`: http:// is HTTP/1.1 (what a browser
 * uses there); https:// is HTTP/2 by default, as a browser negotiates it with the TLS listener,
 * trusting `ca` (TLS_CA_FILE) besides the system's; `token` goes as `authorization: Bearer`.
 */
import { type MessageShape, toBinary } from '@bufbuild/protobuf';
import { type Client, ConnectError, createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcWebTransport } from '@connectrpc/connect-node';
import {
  ChatError,
  type ChatEvent,
  type ErrorCode,
  type FinishReason,
  type Message,
  type Session,
  type StatsSnapshot,
} from '@gtp/core';
import type { ClientAdapter, Health, SendOptions } from '@gtp/core/cli';
import {
  ChatService,
  FinishReason as PbFinishReason,
  type Session as PbSession,
  Role,
} from '../generated/es/genai/chat/v1/chat_pb.js';

/** A gRPC-Web frame's prefix: flag (1 byte) and length (4 bytes). */
const FRAME_PREFIX_BYTES = 5;

const FINISH: Record<number, FinishReason> = {
  [PbFinishReason.STOP]: 'stop',
  [PbFinishReason.CANCELLED]: 'cancelled',
  [PbFinishReason.MAX_TOKENS]: 'max_tokens',
};

const session = (s: PbSession | undefined): Session => {
  if (!s) throw new ChatError('internal', 'the answer carried no session');
  return { ...s, model: s.model ?? { provider: '', id: '' } } as unknown as Session;
};

/** A ConnectError as the project's ChatError: our code is in its ErrorInfo's reason. */
function chatErrorOf(error: unknown): ChatError {
  if (error instanceof ChatError) return error;
  const failure = ConnectError.from(error);
  const reason = failure.details
    .map((d) => ('debug' in d ? (d.debug as { reason?: string } | undefined)?.reason : undefined))
    .find(Boolean);
  const code = (reason?.toLowerCase() ?? 'internal') as ErrorCode;
  return new ChatError(code, failure.rawMessage, { cause: error });
}

export interface GrpcWebAdapterOptions {
  /** The CA of an https:// listener's certificate (PEM). */
  ca?: Buffer | undefined;
  /** AUTH_TOKEN or a JWT: sent as `authorization: Bearer <token>` on every call. */
  token?: string | undefined;
  /** Default: '2' for https://, '1.1' for http:// (connect-node has no cleartext HTTP/2 here). */
  httpVersion?: '1.1' | '2';
}

export class GrpcWebAdapter implements ClientAdapter {
  readonly protocol = 'grpc' as const;
  readonly target: string;
  readonly demoUrl: string;
  readonly #client: Client<typeof ChatService>;
  #bytes = 0;

  constructor(target: string, options: GrpcWebAdapterOptions = {}) {
    this.target = target;
    this.demoUrl = `${target}/demo`;
    // The payload received: each answer message as its frame (prefix + protobuf bytes).
    const count: Interceptor = (next) => async (request) => {
      const response = await next(request);
      const output = request.method.output;
      const add = (message: MessageShape<typeof output>) => {
        this.#bytes += FRAME_PREFIX_BYTES + toBinary(output, message).byteLength;
      };
      if (!response.stream) {
        add(response.message);
        return response;
      }
      const messages = response.message;
      return {
        ...response,
        message: (async function* () {
          for await (const m of messages) {
            add(m);
            yield m;
          }
        })(),
      };
    };
    const auth: Interceptor = (next) => (request) => {
      if (options.token) request.header.set('authorization', `Bearer ${options.token}`);
      return next(request);
    };
    const https = target.startsWith('https:');
    this.#client = createClient(
      ChatService,
      createGrpcWebTransport({
        baseUrl: target,
        httpVersion: options.httpVersion ?? (https ? '2' : '1.1'),
        interceptors: [auth, count],
        ...(options.ca ? { nodeOptions: { ca: options.ca } } : {}),
      }),
    );
  }

  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw chatErrorOf(error);
    }
  }

  async health(): Promise<Health> {
    const stats = await this.#call(() => this.#client.getServerStats({}));
    return {
      status: 'ok',
      protocol: 'grpc-web',
      model: stats.model ?? { provider: '', id: '' },
      uptimeSeconds: Number(stats.uptimeSeconds),
    } as Health;
  }
  async stats(): Promise<StatsSnapshot> {
    return (await this.#call(() => this.#client.getServerStats({}))) as unknown as StatsSnapshot;
  }
  async createSession(): Promise<Session> {
    return session((await this.#call(() => this.#client.createSession({}))).session);
  }
  async getSession(id: string): Promise<Session> {
    return session((await this.#call(() => this.#client.getSession({ sessionId: id }))).session);
  }
  async listSessions(): Promise<Session[]> {
    return (await this.#call(() => this.#client.listSessions({}))).sessions.map(session);
  }
  async deleteSession(id: string): Promise<void> {
    await this.#call(() => this.#client.deleteSession({ sessionId: id }));
  }
  async history(id: string): Promise<Message[]> {
    const { messages } = await this.#call(() => this.#client.getHistory({ sessionId: id }));
    return messages.map((m) => ({
      role: m.role === Role.USER ? 'user' : 'model',
      text: m.text,
      ...(m.interrupted ? { interrupted: true } : {}),
    })) as Message[];
  }
  async clearHistory(id: string): Promise<void> {
    await this.#call(() => this.#client.clearHistory({ sessionId: id }));
  }

  async *send(sessionId: string, text: string, options: SendOptions = {}): AsyncGenerator<ChatEvent> {
    try {
      const stream = this.#client.streamMessage(
        { sessionId, text },
        options.signal ? { signal: options.signal } : {},
      );
      for await (const { event } of stream) {
        switch (event.case) {
          case 'start':
            yield { type: 'start', ...event.value };
            break;
          case 'delta':
            yield { type: 'delta', ...event.value };
            break;
          case 'done': {
            const { messageId, finishReason, usage, timings } = event.value;
            yield {
              type: 'done',
              messageId,
              finishReason: FINISH[finishReason] ?? 'stop',
              usage: { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 },
              timings: { ttftMs: timings?.ttftMs ?? 0, totalMs: timings?.totalMs ?? 0 },
            } as ChatEvent;
            return;
          }
          case 'error':
            yield {
              type: 'error',
              messageId: event.value.messageId,
              error: { code: event.value.error?.code, message: event.value.error?.message },
            } as ChatEvent;
            return;
        }
      }
    } catch (error) {
      throw chatErrorOf(error);
    }
  }

  bytesReceived(): number {
    return this.#bytes;
  }
  async close(): Promise<void> {}
}
