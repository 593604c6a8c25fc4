/**
 * The gRPC contract as the server and the client use it: proto/chat.proto loaded with
 * @grpc/proto-loader, typed by the code proto-loader-gen-types wrote into generated/, and the
 * mapping between the protobuf messages and the core's JSON shapes (ChatEvent, Session, stats).
 *
 * The one rule of the mapping: a oneof's virtual field (`event`, from `oneofs: true`) names the
 * field that is set, and that name is the JSON ChatEvent's `type`.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  ChatError,
  type ChatEvent,
  ERROR_HTTP_STATUS,
  type ErrorCode,
  type FinishReason,
  GRPC_STATUS,
  type Message,
  type ModelInfo,
  type Session,
  type StatsSnapshot,
} from '@gtp/core';
import { protoPath as HEALTH_PROTO_PATH } from 'grpc-health-check';
import type { ProtoGrpcType as ChatProto } from './generated/chat.ts';
import type {
  ChatEvent as PbChatEvent,
  ChatEvent__Output as PbChatEventOut,
} from './generated/genai/chat/v1/ChatEvent.ts';
import type { FinishReason__Output as PbFinishReason } from './generated/genai/chat/v1/FinishReason.ts';
import type { LatencySummary__Output as PbLatency } from './generated/genai/chat/v1/LatencySummary.ts';
import type { Message__Output as PbMessage } from './generated/genai/chat/v1/Message.ts';
import type { ServerStats, ServerStats__Output } from './generated/genai/chat/v1/ServerStats.ts';
import type {
  Session as PbSession,
  Session__Output as PbSessionOut,
} from './generated/genai/chat/v1/Session.ts';
import type { ProtoGrpcType as HealthProto } from './generated/health.ts';

export const CHAT_PROTO_PATH = fileURLToPath(new URL('../../proto/chat.proto', import.meta.url));
export { HEALTH_PROTO_PATH };

/** The fully-qualified service name: what health checks and reflection use. */
export const CHAT_SERVICE_NAME = 'genai.chat.v1.ChatService';

/**
 * The loader options the generated types were made with (package.json "gen" passes the same
 * flags): camelCase fields, 64-bit integers as strings, enums as their names, defaults filled
 * in, and a virtual field naming the member of each oneof that is set.
 */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** chat.proto and health.proto in one definition: the server registers both and reflects both. */
export const packageDefinition = protoLoader.loadSync([CHAT_PROTO_PATH, HEALTH_PROTO_PATH], LOADER_OPTIONS);
const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as ChatProto & HealthProto;

/** The typed client constructor and service definition of genai.chat.v1.ChatService. */
export const ChatServiceClient = loaded.genai.chat.v1.ChatService;
/** The typed client constructor of grpc.health.v1.Health. */
export const HealthClient = loaded.grpc.health.v1.Health;

/** Message sizes on the wire: the protobuf payload plus gRPC's 5-byte length prefix. */
const GRPC_FRAME_PREFIX_BYTES = 5;

/**
 * The service definition with (de)serialisers that also count bytes: each message's size is
 * known the moment it is encoded or decoded, so counting costs no second serialisation.
 */
export function countingService(
  service: grpc.ServiceDefinition,
  counter: { addBytesReceived(bytes: number): void; addBytesSent(bytes: number): void },
): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(service).map(([name, method]) => [
      name,
      {
        ...method,
        requestDeserialize: (bytes: Buffer) => {
          counter.addBytesReceived(bytes.length + GRPC_FRAME_PREFIX_BYTES);
          return method.requestDeserialize(bytes);
        },
        responseSerialize: (value: unknown) => {
          const bytes = method.responseSerialize(value);
          counter.addBytesSent(bytes.length + GRPC_FRAME_PREFIX_BYTES);
          return bytes;
        },
      },
    ]),
  );
}

/** The client side of the same idea: a ChatService client whose decoder counts received bytes. */
export function countingClient(onBytes: (bytes: number) => void): typeof ChatServiceClient {
  const counted = Object.fromEntries(
    Object.entries(ChatServiceClient.service).map(([name, method]) => [
      name,
      {
        ...method,
        responseDeserialize: (bytes: Buffer) => {
          onBytes(bytes.length + GRPC_FRAME_PREFIX_BYTES);
          return method.responseDeserialize(bytes);
        },
      },
    ]),
  );
  return grpc.makeClientConstructor(counted, CHAT_SERVICE_NAME) as unknown as typeof ChatServiceClient;
}

// ---------------------------------------------------------------------------------------------
// Errors: a ChatError travels as a status code + details, with its exact code in the trailers.

/** Trailing-metadata key carrying the contract's error code (`session_not_found`, …). */
export const ERROR_CODE_METADATA_KEY = 'chat-error-code';

/** A ChatError as the `ServiceError` a handler gives its callback or emits on its stream. */
export function toServiceError(error: unknown): Partial<grpc.ServiceError> {
  const chatError = ChatError.from(error);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, chatError.code);
  return { code: chatError.grpcStatus, details: chatError.message, metadata };
}

const CODE_BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [GRPC_STATUS.INVALID_ARGUMENT]: 'invalid_request',
  [GRPC_STATUS.UNAUTHENTICATED]: 'unauthorized',
  [GRPC_STATUS.PERMISSION_DENIED]: 'forbidden',
  [GRPC_STATUS.NOT_FOUND]: 'session_not_found',
  [GRPC_STATUS.FAILED_PRECONDITION]: 'session_busy',
  [GRPC_STATUS.RESOURCE_EXHAUSTED]: 'payload_too_large',
  [GRPC_STATUS.UNAVAILABLE]: 'unavailable',
  [GRPC_STATUS.DEADLINE_EXCEEDED]: 'unavailable',
};

/** A failed call's status as a ChatError: the code from the trailers, else from the status. */
export function fromServiceError(error: unknown, target: string): ChatError {
  const status = error as Partial<grpc.ServiceError>;
  if (typeof status.code !== 'number') return ChatError.from(error);
  const sent = status.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  const code =
    typeof sent === 'string' && sent in ERROR_HTTP_STATUS ? (sent as ErrorCode) : CODE_BY_STATUS[status.code];
  const details = status.details || grpc.status[status.code] || 'unknown error';
  if (status.code === GRPC_STATUS.UNAVAILABLE && !sent) {
    return new ChatError('unavailable', `cannot reach ${target}: ${details} (is the server running?)`, {
      cause: error,
    });
  }
  return new ChatError(code ?? 'internal', details, { cause: error });
}

// ---------------------------------------------------------------------------------------------
// Core JSON shapes ↔ protobuf messages

const FINISH_TO_PB: Record<FinishReason, PbFinishReason> = {
  stop: 'FINISH_REASON_STOP',
  cancelled: 'FINISH_REASON_CANCELLED',
  max_tokens: 'FINISH_REASON_MAX_TOKENS',
};
const FINISH_FROM_PB: Partial<Record<PbFinishReason, FinishReason>> = {
  FINISH_REASON_STOP: 'stop',
  FINISH_REASON_CANCELLED: 'cancelled',
  FINISH_REASON_MAX_TOKENS: 'max_tokens',
};

export function finishReasonToProto(reason: FinishReason): PbFinishReason {
  return FINISH_TO_PB[reason];
}
export function finishReasonFromProto(reason: PbFinishReason): FinishReason {
  return FINISH_FROM_PB[reason] ?? 'stop';
}

/** `{type:"delta", …}` → `{delta: {…}}`: the type becomes the name of the oneof member. */
export function chatEventToProto(event: ChatEvent): PbChatEvent {
  switch (event.type) {
    case 'start':
      return { start: { sessionId: event.sessionId, messageId: event.messageId } };
    case 'delta':
      return { delta: { messageId: event.messageId, index: event.index, text: event.text } };
    case 'done':
      return {
        done: {
          messageId: event.messageId,
          finishReason: finishReasonToProto(event.finishReason),
          usage: event.usage,
          timings: event.timings,
        },
      };
    case 'error':
      return { error: { messageId: event.messageId ?? '', error: event.error } };
  }
}

/** `{delta: {…}, event: "delta"}` → `{type:"delta", …}`; undefined for an empty oneof. */
export function chatEventFromProto(event: PbChatEventOut): ChatEvent | undefined {
  switch (event.event) {
    case 'start':
      return { type: 'start', sessionId: event.start!.sessionId, messageId: event.start!.messageId };
    case 'delta':
      return {
        type: 'delta',
        messageId: event.delta!.messageId,
        index: event.delta!.index,
        text: event.delta!.text,
      };
    case 'done': {
      const done = event.done!;
      return {
        type: 'done',
        messageId: done.messageId,
        finishReason: finishReasonFromProto(done.finishReason),
        usage: { inputTokens: done.usage?.inputTokens ?? 0, outputTokens: done.usage?.outputTokens ?? 0 },
        timings: { ttftMs: done.timings?.ttftMs ?? 0, totalMs: done.timings?.totalMs ?? 0 },
      };
    }
    case 'error': {
      const { messageId, error } = event.error!;
      const code = (error?.code && error.code in ERROR_HTTP_STATUS ? error.code : 'internal') as ErrorCode;
      return {
        type: 'error',
        ...(messageId ? { messageId } : {}),
        error: { code, message: error?.message ?? 'unknown error' },
      };
    }
    default:
      return undefined;
  }
}

export function sessionToProto(session: Session): PbSession {
  return session;
}

export function sessionFromProto(session: PbSessionOut): Session {
  return {
    id: session.id,
    createdAt: session.createdAt,
    updatedAt: session.updatedAt,
    messageCount: session.messageCount,
    model: modelFromProto(session.model),
  };
}

export function modelFromProto(model: { provider: string; id: string } | null): ModelInfo {
  return { provider: model?.provider === 'gemini' ? 'gemini' : 'simulated', id: model?.id ?? '' };
}

export function messageToProto(message: Message): PbMessage {
  return {
    role: message.role === 'user' ? 'ROLE_USER' : 'ROLE_MODEL',
    text: message.text,
    interrupted: message.interrupted ?? false,
  };
}

export function messageFromProto(message: PbMessage): Message {
  return {
    role: message.role === 'ROLE_USER' ? 'user' : 'model',
    text: message.text,
    ...(message.interrupted ? { interrupted: true } : {}),
  };
}

/** The stats JSON as ServerStats (int64 fields travel as strings with longs:String). */
export function statsToProto(stats: StatsSnapshot, model: ModelInfo): ServerStats {
  return {
    ...stats,
    uptimeSeconds: stats.uptimeSeconds,
    errors: { total: stats.errors.total, byCode: stats.errors.byCode },
    model,
  };
}

const latency = (l: PbLatency | null) => ({
  count: l?.count ?? 0,
  p50: l?.p50 ?? 0,
  p95: l?.p95 ?? 0,
  p99: l?.p99 ?? 0,
  mean: l?.mean ?? 0,
  max: l?.max ?? 0,
});

export function statsFromProto(stats: ServerStats__Output): StatsSnapshot & { model: ModelInfo } {
  return {
    protocol: stats.protocol,
    uptimeSeconds: Number(stats.uptimeSeconds),
    sessions: { active: stats.sessions?.active ?? 0 },
    streams: { active: stats.streams?.active ?? 0, total: stats.streams?.total ?? 0 },
    connections: { active: stats.connections?.active ?? 0, total: stats.connections?.total ?? 0 },
    turns: {
      completed: stats.turns?.completed ?? 0,
      cancelled: stats.turns?.cancelled ?? 0,
      failed: stats.turns?.failed ?? 0,
    },
    errors: { total: stats.errors?.total ?? 0, byCode: stats.errors?.byCode ?? {} },
    bytes: { sent: Number(stats.bytes?.sent ?? 0), received: Number(stats.bytes?.received ?? 0) },
    latencyMs: {
      ttft: latency(stats.latencyMs?.ttft ?? null),
      total: latency(stats.latencyMs?.total ?? null),
    },
    model: modelFromProto(stats.model),
  };
}
