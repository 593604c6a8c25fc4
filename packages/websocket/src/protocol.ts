/**
 * The WebSocket wire protocol of genai-transports (DESIGN.md, "websocket"): JSON text frames,
 * each an object with a `type`. Both directions are zod discriminated unions with their
 * TypeScript types derived by `z.infer`: the server validates client frames with them, and the
 * AsyncAPI document (src/asyncapi.ts, `GET /asyncapi.json`) is generated from both.
 */
import {
  DeltaEventSchema,
  DoneEventSchema,
  ErrorBodySchema,
  SessionSchema,
  StartEventSchema,
} from '@gtp/core';
import { z } from 'zod';

/** Client → server. Anything else (bad JSON, an unknown type, a wrong field) gets an `error` frame. */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('join'),
      sessionId: z.string().min(1).optional().describe('without it, the server creates a session'),
      after: z
        .number()
        .int()
        .nonnegative()
        .optional()
        .describe(
          'the last reply seq this client has: what came after it is sent first (a client that dropped); without it, a reply in flight is sent from its start (a reloaded page)',
        ),
    })
    .describe('Join a session (answered with joined); a connection is in one session at a time'),
  z
    .object({
      type: z.literal('send'),
      text: z.string(),
      traceparent: z
        .string()
        .optional()
        .describe("the sender's W3C trace context: the reply's span continues the sender's trace"),
      tracestate: z.string().optional(),
    })
    .describe('Ask the model; every member of the session sees the reply stream'),
  z
    .object({ type: z.literal('cancel') })
    .describe('Stop the reply running in the session (whoever asked); a no-op when none is running'),
  z
    .object({ type: z.literal('typing'), active: z.boolean() })
    .describe('Tell the other members that this one is (or stopped) typing'),
  z
    .object({ type: z.literal('ping'), ts: z.number() })
    .describe('Application-level round trip: answered with pong carrying the same ts'),
  z
    .object({ type: z.literal('share'), principal: z.string().min(1).max(256) })
    .describe(
      'Invite another principal into the joined session (its owner only; POST /sessions/:id/members over HTTP); answered with shared',
    ),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/** A reply frame's place in the session's reply log: what a later `join {after}` resumes from. */
const seq = z
  .number()
  .int()
  .positive()
  .describe("the event's number in the session's reply log (1, 2, 3…): resume with join {after: seq}");
const connectionId = z
  .string()
  .describe('the connection the frame is about (each member learns its own in joined)');

/**
 * Server → client. The reply stream is the core ChatEvents, each with its `seq` in the reply log;
 * `start` also names the connection whose `send` started it, so a client can tell its own reply
 * from another member's.
 */
export const ServerFrameSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('joined'),
      session: SessionSchema,
      connectionId,
      heartbeatMs: z.number().int().describe('the server pings this often; a silent peer is cut off'),
    })
    .describe("Answer to join: the session, this connection's id, the heartbeat interval"),
  z
    .object({
      type: z.literal('presence'),
      connections: z.number().int().nonnegative().describe('members of the session now, on every instance'),
      connectionId,
      change: z.enum(['joined', 'left']),
    })
    .describe('A member joined or left the session (sent to every member, the one joining too)'),
  z
    .object({ type: z.literal('message'), role: z.literal('user'), text: z.string(), connectionId })
    .describe("What another member sent (never echoed to the sender); the model's reply follows"),
  z
    .object({ type: z.literal('typing'), connectionId, active: z.boolean() })
    .describe('Another member is (or stopped) typing'),
  z.object({ type: z.literal('pong'), ts: z.number() }).describe("Answer to ping, with the ping's ts"),
  z
    .object({ type: z.literal('shared'), sessionId: z.string(), principal: z.string() })
    .describe('Answer to share: the principal may now join the session'),
  z
    .object({
      type: z.literal('reset'),
      seq: z.number().int().nonnegative(),
      reason: z.string(),
      replaying: z.boolean(),
    })
    .describe(
      'The after of a join is older than the reply log (or unknown): reload the history; seq is the newest event, replaying whether the reply in flight follows from its start',
    ),
  StartEventSchema.extend({
    seq,
    connectionId: connectionId.describe('the member whose send started the reply'),
  }).describe('A reply starts (every member receives the reply stream, whoever asked)'),
  DeltaEventSchema.extend({ seq }).describe(
    'The next piece of the reply text: the reply is the one whose start came before it (one at a time per session), seq orders it',
  ),
  DoneEventSchema.extend({ seq }).describe(
    'The reply ended: why, tokens used, time to first token and total',
  ),
  z
    .object({
      type: z.literal('error'),
      seq: seq.optional(),
      messageId: z.string().optional(),
      error: ErrorBodySchema,
    })
    .describe(
      "A reply's failure (with its seq and messageId) or the answer to a bad frame (without); the connection stays open",
    ),
]);
export type ServerFrame = z.infer<typeof ServerFrameSchema>;

/** The WebSocket close codes this server uses (RFC 6455 §7.4.1 and the IANA registry). */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  GOING_AWAY: 1001,
  /**
   * Policy Violation: a connection that kept sending far over its frame rate after being told
   * (`rate_limited` error frames). Generic clients do not retry it automatically, which is the point.
   */
  POLICY_VIOLATION: 1008,
  /** A frame larger than `maxPayload`: sent by `ws` itself, the protocol's rule for over-size messages. */
  MESSAGE_TOO_BIG: 1009,
  /**
   * A slow consumer: more than `maxBufferedBytes` waiting to be sent to it. 1013 "Try Again Later"
   * is a registered code that generic clients treat as retryable, which is the right advice: the
   * client may reconnect and rejoin, it just could not keep up with the stream.
   */
  TRY_AGAIN_LATER: 1013,
} as const;

/** Path of the WebSocket endpoint. */
export const WS_PATH = '/ws';

/**
 * The subprotocol this server speaks (`Sec-WebSocket-Protocol`). Offering it is optional for
 * Node clients, but a browser that offers a token as `bearer.<token>` must offer it too: the
 * server answers with one subprotocol the client offered, and it never echoes the token.
 */
export const WS_SUBPROTOCOL = 'genai-chat.v1';

/** Unsent bytes one connection may have queued before it is cut off as a slow consumer. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * The largest frame the server accepts: a `send` with MAX_MESSAGE_CHARS characters, each as
 * its worst-case JSON escape (`\uXXXX`, 6 bytes), plus room for the envelope. Larger frames are
 * refused by `ws` while reading them, with close code 1009, before they are buffered.
 */
export function maxPayloadBytes(maxMessageChars: number): number {
  return maxMessageChars * 6 + 1024;
}
