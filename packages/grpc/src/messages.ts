/**
 * The core's JSON shapes (ChatEvent, Session, Message, stats) as protobuf messages and back.
 *
 * The one rule of the mapping: a oneof's virtual field (`event`, from `oneofs: true`) names the
 * field that is set, and that name is the JSON ChatEvent's `type`.
 */
import {
  ChatError,
  type ChatEvent,
  ERROR_HTTP_STATUS,
  type ErrorCode,
  type FinishReason,
  type Message,
  type ModelInfo,
  type Session,
  type StatsSnapshot,
} from '@gtp/core';
import type { FinishReason__Output as PbFinishReason } from '../generated/genai/chat/v1/FinishReason.ts';
import type {
  GetServerStatsResponse as ServerStats,
  GetServerStatsResponse__Output as ServerStats__Output,
} from '../generated/genai/chat/v1/GetServerStatsResponse.ts';
import type { LatencySummary__Output as PbLatency } from '../generated/genai/chat/v1/LatencySummary.ts';
import type { Message__Output as PbMessage } from '../generated/genai/chat/v1/Message.ts';
import type { ResumeStreamResponse as PbResumeResponse } from '../generated/genai/chat/v1/ResumeStreamResponse.ts';
import type {
  Session as PbSession,
  Session__Output as PbSessionOut,
} from '../generated/genai/chat/v1/Session.ts';
import type {
  StreamMessageResponse as PbChatEvent,
  StreamMessageResponse__Output as PbChatEventOut,
} from '../generated/genai/chat/v1/StreamMessageResponse.ts';

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

/**
 * `{type:"delta", …}` → `{delta: {…}}`: the type becomes the name of the oneof member. A delta
 * carries only its text: on StreamMessage and ResumeStream the call is one reply and each message
 * has its `seq`, so DeltaEvent's `message_id` and `index` stay empty (0 bytes on the wire). The
 * Chat stream, which multiplexes sessions, fills them itself (src/chat-call.ts).
 */
export function chatEventToProto(event: ChatEvent): PbChatEvent {
  switch (event.type) {
    case 'start':
      return { start: { sessionId: event.sessionId, messageId: event.messageId } };
    case 'delta':
      return { delta: { text: event.text } };
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

/** `{delta: {…}, event: "delta"}` → `{type:"delta", …}`; undefined for an empty oneof (or a `reset`). */
export function chatEventFromProto(
  event: Pick<PbChatEventOut, 'start' | 'delta' | 'done' | 'error'> & { event?: string },
): ChatEvent | undefined {
  switch (event.event) {
    case 'start':
      return { type: 'start', sessionId: event.start!.sessionId, messageId: event.start!.messageId };
    case 'delta':
      return { type: 'delta', text: event.delta!.text };
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

/** A Session from an answer (CreateSessionResponse and friends carry it in `session`). */
export function sessionFromProto(session: PbSessionOut | null): Session {
  if (!session) throw new ChatError('internal', 'the answer carries no session');
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

/** A reply read from the log (src/reply-reader.ts) as ResumeStreamResponse: an event or a reset, with its seq. */
export function logItemToProto(
  item:
    | { seq: number; event: ChatEvent }
    | { seq: number; reset: { latestSeq: number; reason: string; replaying: boolean } },
): PbResumeResponse {
  if ('reset' in item) {
    const { latestSeq, reason, replaying } = item.reset;
    return { reset: { latestSeq: String(latestSeq), reason, replaying }, seq: String(item.seq) };
  }
  return { ...chatEventToProto(item.event), seq: String(item.seq) };
}
