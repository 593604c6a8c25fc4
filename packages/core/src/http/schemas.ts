import { z } from 'zod';
import { ERROR_HTTP_STATUS, type ErrorCode } from '../errors.ts';
import { MessageSchema, ModelInfoSchema, SessionSchema } from '../events.ts';

/** Zod schemas of the shared wire contract: they validate requests and generate the OpenAPI document. */
export const ErrorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_HTTP_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      retryAfterSeconds: z.number().optional().describe('rate_limited: seconds to wait before retrying'),
    }),
  })
  .describe('Every error: a stable code and a human-readable message');

export const SessionParamsSchema = z.object({ id: z.string().describe('session id (a UUID)') });

export const MessageBodySchema = z.object({
  text: z.string().describe('the user message (at most MAX_MESSAGE_CHARS characters, not blank)'),
});

export const HealthSchema = z.object({
  status: z
    .enum(['ok', 'degraded'])
    .describe('degraded (HTTP 503): the shared store or broker (Redis) is not answering'),
  protocol: z.string(),
  model: ModelInfoSchema,
  uptimeSeconds: z.number(),
  dependencies: z
    .object({
      store: z.object({ kind: z.string(), reachable: z.boolean() }),
      broker: z.object({ kind: z.string(), reachable: z.boolean() }),
    })
    .describe('where sessions live (memory or redis) and whether it answers'),
});

const Latency = z.object({
  count: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  mean: z.number(),
  max: z.number(),
});

export const StatsSchema = z.object({
  protocol: z.string(),
  uptimeSeconds: z.number(),
  sessions: z.object({ active: z.number() }),
  streams: z.object({ active: z.number(), total: z.number() }),
  connections: z.object({ active: z.number(), total: z.number() }),
  turns: z.object({ completed: z.number(), cancelled: z.number(), failed: z.number() }),
  errors: z.object({ total: z.number(), byCode: z.record(z.string(), z.number()) }),
  bytes: z.object({ sent: z.number(), received: z.number() }),
  latencyMs: z.object({ ttft: Latency, total: Latency }),
});

export const UsageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number() });
export const TimingsSchema = z.object({ ttftMs: z.number(), totalMs: z.number() });
export const FinishReasonSchema = z.enum(['stop', 'cancelled', 'max_tokens']);

/** The complete answer of one turn (REST). */
export const ChatReplySchema = z.object({
  messageId: z.uuid(),
  text: z.string(),
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
  timings: TimingsSchema,
});

/** One ChatEvent, as streamed by Streamable HTTP (a line), SSE (a frame) and WebSocket (a message). */
export const ChatEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), sessionId: z.string(), messageId: z.string() }),
  z.object({ type: z.literal('delta'), messageId: z.string(), index: z.number().int(), text: z.string() }),
  z.object({
    type: z.literal('done'),
    messageId: z.string(),
    finishReason: FinishReasonSchema,
    usage: UsageSchema,
    timings: TimingsSchema,
  }),
  z.object({
    type: z.literal('error'),
    messageId: z.string().optional(),
    error: ErrorResponseSchema.shape.error,
  }),
]);

export { MessageSchema, SessionSchema };
export const SessionListSchema = z.object({ sessions: z.array(SessionSchema) });
export const HistorySchema = z.object({ messages: z.array(MessageSchema) });

/** The error responses every session route can give, for the OpenAPI document. */
export const sessionErrors = {
  400: ErrorResponseSchema,
  404: ErrorResponseSchema,
  500: ErrorResponseSchema,
} as const;
