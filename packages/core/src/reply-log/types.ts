/**
 * The reply log: every ChatEvent of a session's replies, numbered and kept for a while, so that
 * any transport can resume a reply from an offset (SSE `Last-Event-ID`, an NDJSON `?after=`, a
 * WebSocket `join {after}`, a gRPC resume call). One log per ChatService (`chat.log`): in memory
 * for one process (memory.ts), a Redis Stream per session with REDIS_URL (redis.ts).
 *
 * Every event of a session gets the next sequence number (1, 2, 3…), whatever reply it belongs
 * to; a reply's events are consecutive (one reply at a time per session).
 */
import type { ChatEvent, StartEvent } from '../events.ts';

/** An event as the log keeps it: its sequence number, its type and its JSON, serialised once. */
export interface LoggedEvent {
  seq: number;
  /** The ChatEvent's type (SSE: the frame's `event:` field). */
  type: ChatEvent['type'];
  /**
   * The reply it belongs to (its `start`'s messageId): kept beside the JSON, not in it, since a
   * delta on the wire does not repeat it.
   */
  messageId: string;
  /** The ChatEvent as JSON, shared by every listener and the log. */
  data: string;
}

/** Someone reading a session's events. The log never waits for a listener. */
export interface ReplyListener {
  /** Deliver one event. Must return at once (queue it, write it, or drop the listener). */
  send(item: LoggedEvent): void;
  /**
   * The listener's place is lost (older than the log, or unknown): it must reload the history.
   * `latestSeq`: the newest event the log holds (a resume point from here on).
   * `replaying`: the reply in flight follows from its start; false when no reply is running.
   * Also mid-stream, after the replay (Redis): events were trimmed before this instance read
   * them (its reader fell more than the bound behind); `latestSeq` is the newest event read,
   * `replaying` false, and the live tail follows.
   */
  reset(latestSeq: number, reason: string, replaying: boolean): void;
  /**
   * Called once, after the replay and before the first live event: the messageId of the reply
   * in flight as the log saw it (undefined when none is running). A reader of one reply (NDJSON,
   * gRPC resume) learns here that the reply it asks for is over.
   */
  caughtUp?(inFlight: string | undefined): void;
  /** The log is done with this listener (shutdown, `drop()`, the session deleted or expired). */
  close(): void;
}

/** A reply being pumped into the log. */
export interface PumpHandle {
  /** The sequence number of the reply's `start`: subscribe with `after = seq - 1` to read it all. */
  seq: number;
  /** Resolves when the reply's final event is in the log (or the pump gave up). Never rejects. */
  finished: Promise<void>;
}

export interface ReplyLog {
  readonly kind: 'memory' | 'redis';
  /**
   * Add a listener to a session. First it is sent what it missed, then it receives live events
   * (see `replayPlan` for what "missed" means). Resolves with the function that removes it.
   */
  subscribe(sessionId: string, listener: ReplyListener, after?: number): Promise<() => void>;
  /**
   * Run a reply into the session's log: its `start` (already pulled by the caller) and every
   * further event until `done` or `error`. Resolves once the start has its sequence number;
   * nobody needs to wait for `finished` for the reply to go on; `close()` waits for it.
   */
  pump(sessionId: string, start: StartEvent, rest: AsyncIterator<ChatEvent>): Promise<PumpHandle>;
  /** End the session's listeners on this instance (each client reconnects and resumes). */
  drop(sessionId: string): number;
  /** The session was deleted: end its listeners on every instance and forget its events. */
  delete(sessionId: string): Promise<void>;
  /**
   * Resolves once the replies pumped here have their final event in the log and this instance's
   * listeners were handed it (bounded: at most about a second). Shutdown calls it before it
   * ends the streams; it ends nothing itself.
   */
  settle(): Promise<void>;
  /** Shutdown: `settle()`, then end every listener and close the log's connections. */
  close(): Promise<void>;
  /** Whether the log's own connections answer (for /health; memory: always). Never throws. */
  ping(): Promise<boolean>;
}

/** 1024 events cover a long reply (one event per token) plus the turns around it. */
export const DEFAULT_REPLY_LOG_SIZE = 1024;

/**
 * A memory log forgets a session whose newest event is older than this when SESSION_TTL_MS is 0
 * (sessions never expire): a reply stays resumable for an hour after it ended.
 */
export const DEFAULT_REPLY_LOG_IDLE_MS = 60 * 60 * 1000;

/**
 * A reply from a fast model (zero delay, a cache, a replay) never waits for I/O, so its whole
 * pump would run in one turn of the event loop: other sessions, heartbeats and new requests
 * would wait, and the socket would get the reply in one piece at the end. The pump gives the
 * event loop a turn after this many events.
 */
export const EVENTS_PER_TURN = 32;

/** The broker channel on which a log tells the other instances that a session was deleted. */
export const LOG_DELETED_CHANNEL = 'reply-log:deleted';
