/**
 * A plain grpc-js client of proto/chat.proto and grpc.health.v1, loaded here from the .proto
 * files (not the package's own client), so the suite checks the server against the contract.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ChatEvent, ErrorCode, Message } from '@gtp/core';
import { protoPath as HEALTH_PROTO_PATH } from 'grpc-health-check';
import { EventQueue, WAIT_MS, WireError } from './events.ts';

const CHAT_PROTO_PATH = fileURLToPath(new URL('../../../proto/genai/chat/v1/chat.proto', import.meta.url));

const definition = protoLoader.loadSync([CHAT_PROTO_PATH, HEALTH_PROTO_PATH], {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
// biome-ignore lint/suspicious/noExplicitAny: the loaded package is dynamic; the suite reads it loosely
const loaded = grpc.loadPackageDefinition(definition) as any;
const ChatServiceClient = loaded.genai.chat.v1.ChatService as typeof grpc.Client;
export const HealthClient = loaded.grpc.health.v1.Health as typeof grpc.Client;

/** Methods of the dynamically loaded clients, called by name. */
type Unary = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, response?: unknown) => void,
) => grpc.ClientUnaryCall;
type ServerStreaming = (
  request: unknown,
  metadata: grpc.Metadata,
  options?: grpc.CallOptions,
) => grpc.ClientReadableStream<PbEvent>;
type Bidi = (
  metadata: grpc.Metadata,
  options?: grpc.CallOptions,
) => grpc.ClientDuplexStream<unknown, PbEvent>;

/** A ChatEvent or ChatServerEvent as proto-loader decodes it (`event` names the oneof member). */
export interface PbEvent {
  event?: string;
  start?: { sessionId: string; messageId: string };
  delta?: { messageId: string; index: number; text: string };
  done?: {
    messageId: string;
    finishReason: string;
    usage?: { inputTokens: number; outputTokens: number };
    timings?: { ttftMs: number; totalMs: number };
  };
  error?: { messageId: string; error?: { code: string; message: string } };
  pong?: { ts: string };
  typing?: unknown;
}

const FINISH: Record<string, 'stop' | 'cancelled' | 'max_tokens'> = {
  FINISH_REASON_STOP: 'stop',
  FINISH_REASON_CANCELLED: 'cancelled',
  FINISH_REASON_MAX_TOKENS: 'max_tokens',
};

export function fromPb(event: PbEvent): ChatEvent | undefined {
  switch (event.event) {
    case 'start':
      return { type: 'start', ...event.start! };
    case 'delta':
      return { type: 'delta', text: event.delta!.text };
    case 'done':
      return {
        type: 'done',
        messageId: event.done!.messageId,
        finishReason: FINISH[event.done!.finishReason] ?? 'stop',
        usage: event.done!.usage ?? { inputTokens: 0, outputTokens: 0 },
        timings: event.done!.timings ?? { ttftMs: 0, totalMs: 0 },
      };
    case 'error':
      return {
        type: 'error',
        messageId: event.error!.messageId,
        error: {
          code: (event.error!.error?.code ?? 'internal') as ErrorCode,
          message: event.error!.error?.message ?? '',
        },
      };
    default:
      return undefined;
  }
}

/** The contract's error code of a failed call: the `chat-error-code` trailer, else from the status. */
export function codeOf(error: grpc.ServiceError): string {
  const sent = error.metadata?.get('chat-error-code')[0];
  return typeof sent === 'string' ? sent : (grpc.status[error.code] ?? 'UNKNOWN');
}

export class GrpcClient {
  readonly target: string;
  readonly #chat: grpc.Client;
  readonly #health: grpc.Client;
  readonly #token: string | undefined;

  constructor(target: string, options: { token?: string; channel?: grpc.ChannelOptions } = {}) {
    this.target = target;
    this.#token = options.token;
    // A channel of its own (no subchannel sharing between clients): closing it affects nobody else.
    const channel = { 'grpc.use_local_subchannel_pool': 1, ...options.channel };
    this.#chat = new ChatServiceClient(target, grpc.credentials.createInsecure(), channel);
    this.#health = new HealthClient(target, grpc.credentials.createInsecure(), channel);
  }

  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.#token) metadata.set('authorization', `Bearer ${this.#token}`);
    return metadata;
  }

  /** A unary call by method name; a failure is a WireError with the status code. */
  unary<T>(method: string, request: unknown): Promise<T> {
    const fn = (this.#chat as unknown as Record<string, Unary>)[method]!.bind(this.#chat);
    return new Promise((resolve, reject) => {
      fn(request, this.metadata(), { deadline: Date.now() + WAIT_MS }, (error, response) => {
        if (error) reject(new WireError(codeOf(error), error.details, { grpcCode: error.code }));
        else resolve(response as T);
      });
    });
  }

  async createSession(): Promise<string> {
    return (await this.unary<{ session: { id: string } }>('CreateSession', {})).session.id;
  }

  async history(sessionId: string): Promise<Message[]> {
    const { messages } = await this.unary<{
      messages: { role: string; text: string; interrupted: boolean }[];
    }>('GetHistory', { sessionId });
    return messages.map((m) => ({
      role: m.role === 'ROLE_USER' ? 'user' : 'model',
      text: m.text,
      ...(m.interrupted ? { interrupted: true } : {}),
    }));
  }

  async stats(): Promise<{ streams: { active: number }; connections: { active: number } }> {
    const stats = await this.unary<{ streams?: { active?: unknown }; connections?: { active?: unknown } }>(
      'GetServerStats',
      {},
    );
    return {
      streams: { active: Number(stats.streams?.active ?? 0) },
      connections: { active: Number(stats.connections?.active ?? 0) },
    };
  }

  /** grpc.health.v1 Check of the whole server: true when SERVING. Sends no credentials. */
  health(): Promise<boolean> {
    const check = (this.#health as unknown as Record<string, Unary>).Check!.bind(this.#health);
    return new Promise((resolve) => {
      check({ service: '' }, new grpc.Metadata(), { deadline: Date.now() + WAIT_MS }, (error, response) =>
        resolve(!error && (response as { status?: string }).status === 'SERVING'),
      );
    });
  }

  /** StreamMessage: events into a queue; a failed call becomes a final error event with its code. */
  streamMessage(
    sessionId: string,
    text: string,
  ): { queue: EventQueue; call: grpc.ClientReadableStream<PbEvent> } {
    const fn = (this.#chat as unknown as Record<string, ServerStreaming>).StreamMessage!.bind(this.#chat);
    const call = fn({ sessionId, text }, this.metadata());
    const queue = new EventQueue();
    call.on('data', (message: PbEvent) => {
      const event = fromPb(message);
      if (event) queue.push(event);
    });
    call.on('error', (error: grpc.ServiceError) => {
      queue.push({
        type: 'error',
        error: { code: codeOf(error) as ErrorCode, message: error.details },
        grpcCode: error.code,
      });
      queue.end();
    });
    call.on('end', () => queue.end());
    return { queue, call };
  }

  /** The bidi Chat stream, raw: what the server sends goes into a queue (pong and typing too). */
  chat(): { call: grpc.ClientDuplexStream<unknown, PbEvent>; frames: PbEvent[]; next: NextFrame } {
    const fn = (this.#chat as unknown as Record<string, Bidi>).Chat!.bind(this.#chat);
    const call = fn(this.metadata());
    const frames: PbEvent[] = [];
    const waiters: (() => void)[] = [];
    let status: grpc.ServiceError | undefined;
    call.on('data', (message: PbEvent) => {
      frames.push(message);
      for (const wake of waiters.splice(0)) wake();
    });
    call.on('error', (error: grpc.ServiceError) => {
      status = error;
      for (const wake of waiters.splice(0)) wake();
    });
    call.on('end', () => {
      for (const wake of waiters.splice(0)) wake();
    });
    /** The next frame matching `predicate` (frames are consumed as they are matched). */
    const next: NextFrame = async (predicate, timeoutMs = WAIT_MS) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = frames.findIndex(predicate);
        if (index >= 0) return frames.splice(index, 1)[0]!;
        if (status) throw new WireError(codeOf(status), status.details, { grpcCode: status.code });
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching Chat frame within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    };
    return { call, frames, next };
  }

  /** Hand-made unary call with a raw (unserialised) body: for requests the typed client cannot send. */
  rawUnary(method: string, body: Buffer): Promise<grpc.ServiceError | undefined> {
    return new Promise((resolve) => {
      this.#chat.makeUnaryRequest(
        `/genai.chat.v1.ChatService/${method}`,
        (b: Buffer) => b,
        (b: Buffer) => b,
        body,
        this.metadata(),
        { deadline: Date.now() + WAIT_MS },
        (error) => resolve(error ?? undefined),
      );
    });
  }

  close(): void {
    this.#chat.close();
    this.#health.close();
  }
}

export type NextFrame = (predicate: (frame: PbEvent) => boolean, timeoutMs?: number) => Promise<PbEvent>;

export { grpc };
