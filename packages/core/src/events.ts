/**
 * The wire contract, once (DESIGN.md, "Wire contract"): a zod schema for every shape the servers
 * send, and the TypeScript types derived from them with `z.infer`, so a type and its validation
 * (and the OpenAPI document made from it) cannot say different things. `@gtp/core/http` adds
 * only what is HTTP's own (route params, the error response, lists); the gRPC contract mirrors
 * these shapes in proto/chat.proto.
 */
import { z } from 'zod';
import { ERROR_HTTP_STATUS, type ErrorCode } from './errors.ts';

/** One message of a conversation. The model's turn is marked `interrupted` when it was cancelled. */
export const MessageSchema = z.object({
  role: z.enum(['user', 'model']),
  text: z.string(),
  interrupted: z.boolean().optional(),
});
export type Message = z.infer<typeof MessageSchema>;

export const ModelInfoSchema = z.object({
  provider: z.enum(['gemini', 'simulated']),
  id: z.string(),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

export const SessionSchema = z.object({
  id: z.uuid(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  messageCount: z.number().int().nonnegative(),
  model: ModelInfoSchema,
});
export type Session = z.infer<typeof SessionSchema>;

/** Every error code on the wire (the keys of ERROR_HTTP_STATUS). */
export const ErrorCodeSchema = z.enum(Object.keys(ERROR_HTTP_STATUS) as [ErrorCode, ...ErrorCode[]]);

/** The `{code, message}` of every error: an HTTP error body's `error`, an `error` event's `error`. */
export const ErrorBodySchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  retryAfterSeconds: z.number().optional().describe('rate_limited: seconds to wait before retrying'),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const FinishReasonSchema = z.enum(['stop', 'cancelled', 'max_tokens']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

export const UsageSchema = z.object({ inputTokens: z.number(), outputTokens: z.number() });
export type Usage = z.infer<typeof UsageSchema>;

export const TimingsSchema = z.object({ ttftMs: z.number(), totalMs: z.number() });
export type Timings = z.infer<typeof TimingsSchema>;

export const StartEventSchema = z.object({
  type: z.literal('start'),
  sessionId: z.string(),
  messageId: z.string(),
});
export type StartEvent = z.infer<typeof StartEventSchema>;

/**
 * The next piece of the reply text. It carries nothing the stream already said: it belongs to the
 * reply whose `start` came before it (one reply at a time per session), and each transport orders
 * it by its sequence id (the reply log's `seq`) or by its stream's own order.
 */
export const DeltaEventSchema = z.object({
  type: z.literal('delta'),
  text: z.string(),
});
export type DeltaEvent = z.infer<typeof DeltaEventSchema>;

export const DoneEventSchema = z.object({
  type: z.literal('done'),
  messageId: z.string(),
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
  timings: TimingsSchema,
});
export type DoneEvent = z.infer<typeof DoneEventSchema>;

export const ErrorEventSchema = z.object({
  type: z.literal('error'),
  messageId: z.string().optional(),
  error: ErrorBodySchema,
});
export type ErrorEvent = z.infer<typeof ErrorEventSchema>;

/**
 * What `ChatService.reply` yields and every transport serialises: an NDJSON line, an SSE frame,
 * a WebSocket message (DESIGN.md, "ChatEvent").
 */
export const ChatEventSchema = z.discriminatedUnion('type', [
  StartEventSchema,
  DeltaEventSchema,
  DoneEventSchema,
  ErrorEventSchema,
]);
export type ChatEvent = z.infer<typeof ChatEventSchema>;

/** The complete answer REST returns, and what any client can fold a stream into. */
export const ChatReplySchema = z.object({
  messageId: z.uuid(),
  text: z.string(),
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
  timings: TimingsSchema,
});
export type ChatReply = z.infer<typeof ChatReplySchema>;

/** `GET /health` (gRPC: grpc.health.v1 says only SERVING or not). */
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
export type Health = z.infer<typeof HealthSchema>;

/** One latency histogram's summary, in milliseconds. */
export const LatencySummarySchema = z.object({
  count: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  mean: z.number(),
  max: z.number(),
});
export type LatencySummary = z.infer<typeof LatencySummarySchema>;

/** The stats JSON: the same shape on all five servers (`GET /stats`, `GetServerStats`). */
export const StatsSchema = z
  .object({
    protocol: z.string(),
    uptimeSeconds: z.number().describe('per instance: seconds since this server started'),
    sessions: z
      .object({ active: z.number() })
      .describe(
        'cluster-wide with REDIS_URL (the shared store; every instance reports the same), else this instance',
      ),
    streams: z
      .object({ active: z.number(), total: z.number() })
      .describe('per instance: replies streaming from this instance now, and started since it began'),
    connections: z
      .object({ active: z.number(), total: z.number() })
      .describe(
        'per instance: long-lived connections that carry session events (SSE event streams, WebSockets, gRPC Chat calls); always 0 on REST and NDJSON, which have none',
      ),
    turns: z
      .object({ completed: z.number(), cancelled: z.number(), failed: z.number() })
      .describe('per instance: turns that ended on this instance, by outcome'),
    errors: z
      .object({ total: z.number(), byCode: z.partialRecord(ErrorCodeSchema, z.number()) })
      .describe('per instance: errors answered or sent as events, by code'),
    bytes: z
      .object({ sent: z.number(), received: z.number() })
      .describe(
        'per instance: payload bytes of the API — the session, history and chat routes or RPCs (HTTP bodies, SSE/NDJSON/WebSocket frames, gRPC messages with their 5-byte prefix); not health, stats, metrics, docs or pages, and no HTTP headers',
      ),
    latencyMs: z
      .object({ ttft: LatencySummarySchema, total: LatencySummarySchema })
      .describe(
        'per instance: completed turns, over the most recent 10 000 (use /metrics histograms to aggregate)',
      ),
  })
  .describe('The JSON counters of one instance, the same fields on all five servers');
export type StatsSnapshot = z.infer<typeof StatsSchema>;
