/**
 * The HTTP side of the wire contract: what only the four HTTP servers have (route params, request
 * bodies, the error response, lists). The shapes themselves — events, replies, sessions, health,
 * stats — are the ones in core's events.ts, re-exported here so a server.ts imports its schemas
 * from one place. They validate requests and generate the OpenAPI document.
 */
import { z } from 'zod';
import { MAX_SESSION_PAGE } from '../constants.ts';
import { ErrorBodySchema, MessageSchema, SessionSchema } from '../events.ts';

export {
  ChatEventSchema,
  ChatReplySchema,
  DeltaEventSchema,
  DoneEventSchema,
  ErrorBodySchema,
  ErrorCodeSchema,
  ErrorEventSchema,
  FinishReasonSchema,
  HealthSchema,
  LatencySummarySchema,
  MessageSchema,
  ModelInfoSchema,
  SessionSchema,
  StartEventSchema,
  StatsSchema,
  TimingsSchema,
  UsageSchema,
} from '../events.ts';

export const ErrorResponseSchema = z
  .object({ error: ErrorBodySchema })
  .describe('Every error: a stable code and a human-readable message');

export const SessionParamsSchema = z.object({ id: z.string().describe('session id (a UUID)') });

export const MessageBodySchema = z.object({
  text: z.string().describe('the user message (at most MAX_MESSAGE_CHARS characters, not blank)'),
});

export const SessionListSchema = z.object({
  sessions: z.array(SessionSchema),
  nextCursor: z.string().optional().describe('pass as ?cursor= for the next page; absent on the last'),
});
export const SessionListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_SESSION_PAGE).optional().describe('sessions per page'),
  cursor: z.string().max(200).optional().describe('the nextCursor of the previous page'),
});
export const ShareBodySchema = z.object({
  principal: z.string().min(1).max(256).describe('who to invite: an AUTH_TOKEN principal or a JWT sub'),
});
export const HistorySchema = z.object({ messages: z.array(MessageSchema) });

/** The error responses every session route can give, for the OpenAPI document. */
export const sessionErrors = {
  400: ErrorResponseSchema,
  404: ErrorResponseSchema,
  500: ErrorResponseSchema,
} as const;
