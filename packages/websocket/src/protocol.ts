/**
 * The WebSocket wire protocol of genai-transports (DESIGN.md, "websocket"): JSON text frames,
 * each an object with a `type`. Client frames are validated with one zod discriminated union;
 * server frames are plain TypeScript types (the server builds them, it never parses them).
 */
import type { ChatEvent, ErrorBody, Session } from '@gtp/core';
import { z } from 'zod';

/** Client → server. Anything else (bad JSON, an unknown type, a wrong field) gets an `error` frame. */
export const ClientFrameSchema = z.discriminatedUnion('type', [
  /**
   * Join a session; without an id the server creates one. A connection is in one session at a time.
   * `after`: the last reply `seq` this client has; the server first sends what came after it (a
   * client that dropped). Without it, a reply in flight is sent from its start (a reloaded page).
   */
  z.object({
    type: z.literal('join'),
    sessionId: z.string().min(1).optional(),
    after: z.number().int().nonnegative().optional(),
  }),
  /** Ask the model; every member of the session sees the reply stream. */
  z.object({
    type: z.literal('send'),
    text: z.string(),
    /** The sender's W3C trace context: the reply's span continues the sender's trace. */
    traceparent: z.string().optional(),
    tracestate: z.string().optional(),
  }),
  /** Stop the reply running in the session (whoever asked). A no-op when none is running. */
  z.object({ type: z.literal('cancel') }),
  /** Tell the other members that this one is (or stopped) typing. */
  z.object({ type: z.literal('typing'), active: z.boolean() }),
  /** Application-level round trip: answered with `pong` carrying the same `ts`. */
  z.object({ type: z.literal('ping'), ts: z.number() }),
  /**
   * Invite another principal into the joined session (its owner only; POST /sessions/:id/members
   * over HTTP): from then on that principal can join it. Answered with `shared`.
   */
  z.object({ type: z.literal('share'), principal: z.string().min(1).max(256) }),
]);
export type ClientFrame = z.infer<typeof ClientFrameSchema>;

/**
 * Server → client. The reply stream is the core ChatEvents; `start` also names the connection
 * whose `send` started it, so a client can tell its own reply from another member's.
 */
export type ServerFrame =
  | { type: 'joined'; session: Session; connectionId: string; heartbeatMs: number }
  | { type: 'presence'; connections: number; connectionId: string; change: 'joined' | 'left' }
  | { type: 'message'; role: 'user'; text: string; connectionId: string }
  | { type: 'typing'; connectionId: string; active: boolean }
  | { type: 'pong'; ts: number }
  | { type: 'shared'; sessionId: string; principal: string }
  /** The `after` of a join is older than the reply log (or unknown): reload the history. */
  | { type: 'reset'; seq: number; reason: string; replaying: boolean }
  | (Extract<ChatEvent, { type: 'start' }> & { connectionId: string })
  | Exclude<ChatEvent, { type: 'start' | 'error' }>
  /** A reply's failure (with its messageId) or the answer to a bad frame (without). */
  | { type: 'error'; messageId?: string; error: ErrorBody };

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
