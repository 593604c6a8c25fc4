/**
 * One reply read from the session's reply log (core's `chat.log`), from an offset: what came
 * after `after`, then live until the reply's `done` or `error`. ResumeStream on both servers
 * (grpc-js, gRPC-Web/Connect) is this iterable, serialised; the log itself is core's.
 */
import {
  AsyncQueue,
  abortReason,
  type ChatEvent,
  type ChatService,
  isFinalType,
  messageIdOf,
  type ReplyListener,
  type ResumeGraces,
  type StartReplyOptions,
} from '@gtp/core';

/** A `reset`: the log no longer holds the reply from the point asked (its text is in the history). */
export interface LogReset {
  latestSeq: number;
  reason: string;
  replaying: boolean;
}

/** A ChatEvent with its place in the session's log. */
export interface LoggedChatEvent {
  seq: number;
  event: ChatEvent;
}

/** One item of a reply as read from the log: an event or a reset, with its sequence number. */
export type LogItem = LoggedChatEvent | { seq: number; reset: LogReset };

export interface ReadReplyOptions {
  /** Ends the reading (the call was cancelled). Never cancels the reply itself. */
  signal: AbortSignal;
  /** The caller: another principal's session is session_not_found, as everywhere. */
  principal?: string;
  /** The caller was authorized already (streamReply: startReply checked it). */
  authorized?: boolean;
  /** ResumeStream: while this reads, the reply's resume grace (if its call closed) is paused. */
  graces?: ResumeGraces;
}

export async function* readReplyFromLog(
  chat: ChatService,
  sessionId: string,
  messageId: string,
  after: number,
  { signal, principal, authorized = false, graces }: ReadReplyOptions,
): AsyncGenerator<LogItem, void> {
  if (!authorized) await chat.authorize(sessionId, principal === undefined ? {} : { principal });
  await graces?.resumed(messageId);
  try {
    yield* readLog(chat, sessionId, messageId, after, signal);
  } finally {
    void graces?.stopped(messageId);
  }
}

async function* readLog(
  chat: ChatService,
  sessionId: string,
  messageId: string,
  after: number,
  signal: AbortSignal,
): AsyncGenerator<LogItem, void> {
  const queue = new AsyncQueue<LogItem>();
  /** Events of the replay, handed on at caughtUp, after the reset (if any). */
  let replayed: LoggedChatEvent[] | undefined = [];
  let reset: Omit<LogReset, 'replaying'> | undefined;
  const listener: ReplyListener = {
    send(item) {
      if (messageIdOf(item) !== messageId) {
        // Live, another reply means ours is over: its final event was lost in a gap (reset above).
        if (!replayed) queue.end();
        return;
      }
      const entry = { seq: item.seq, event: JSON.parse(item.data) as ChatEvent };
      if (replayed) {
        replayed.push(entry);
        return;
      }
      queue.push(entry);
      if (isFinalType(item.type)) queue.end();
    },
    reset(latestSeq, reason) {
      // Live: the log lost events before they reached us; its tail follows (the history has the rest).
      if (!replayed) queue.push({ seq: latestSeq, reset: { latestSeq, reason, replaying: false } });
      else reset = { latestSeq, reason }; // handed on first, at caughtUp
    },
    caughtUp(inFlight) {
      const events = replayed ?? [];
      replayed = undefined;
      const ours = inFlight === messageId;
      if (reset || (!ours && events.length === 0)) {
        queue.push({
          seq: reset?.latestSeq ?? 0,
          reset: {
            latestSeq: reset?.latestSeq ?? 0,
            reason: reset?.reason ?? `reply ${messageId} has no events after ${after} in the log`,
            replaying: ours && events[0]?.event.type === 'start',
          },
        });
      }
      for (const entry of events) queue.push(entry);
      const last = events.at(-1);
      if (!ours || (last && isFinalType(last.event.type))) queue.end();
    },
    close() {
      queue.end();
    },
  };
  const unsubscribe = await chat.log.subscribe(sessionId, listener, after);
  const stop = () => queue.end();
  if (signal.aborted) stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    yield* queue;
  } finally {
    signal.removeEventListener('abort', stop);
    unsubscribe();
  }
}

export interface StreamReplyOptions extends StartReplyOptions {
  /** The call's: it closed (cancelled, its deadline passed, its connection lost). Ends the reading. */
  signal: AbortSignal;
  /** Where a reply whose call closed early waits for a ResumeStream; without: it stops at once. */
  graces?: ResumeGraces;
  /**
   * Milliseconds until the call's deadline (≤ 0: passed, Infinity: none). A call closed by its
   * deadline stops the reply at once, no grace; one closed before it is held, but not past it.
   */
  deadlineIn?: () => number;
}

/**
 * StreamMessage on both servers: start a reply into the log (`chat.startReply`), then read it
 * from there, each event with its seq, so a client whose call broke resumes with ResumeStream.
 * Bad input, an unknown or busy session are thrown before the first item (the call's status).
 * A call that closes before the reply's end leaves the reply running for the resume grace
 * (`graces`); CancelReply, a passed deadline or the grace running out stop the model (the
 * partial text is kept).
 */
export async function* streamReply(
  chat: ChatService,
  sessionId: string,
  text: unknown,
  { signal, graces, deadlineIn, ...options }: StreamReplyOptions,
): AsyncGenerator<LoggedChatEvent, void> {
  // The reply's own signal: the call's closing does not abort it, the grace decides.
  const reply = new AbortController();
  const { start, seq, finished } = await chat.startReply(sessionId, text, {
    ...options,
    signal: reply.signal,
  });
  let over = false;
  try {
    yield { seq, event: start };
    const reading = readReplyFromLog(chat, sessionId, start.messageId, seq, { signal, authorized: true });
    for await (const item of reading) {
      if (!('event' in item)) continue;
      if (isFinalType(item.event.type)) over = true;
      yield item;
    }
  } finally {
    if (!over) {
      const stop = (reason: unknown) => {
        if (!reply.signal.aborted) reply.abort(reason);
      };
      const left = deadlineIn?.() ?? Number.POSITIVE_INFINITY;
      if (graces && left > 0) {
        graces.hold(start.messageId, finished, () =>
          stop(abortReason('the call closed and nobody resumed the reply within the resume grace')),
        );
        // grpc-js's client cancels on its own clock, often a moment before the server's deadline
        // (which starts when the headers arrive): held or resumed, the reply ends at the deadline.
        if (Number.isFinite(left)) {
          const timer = setTimeout(() => stop(abortReason("the call's deadline passed")), left);
          const clear = () => clearTimeout(timer);
          finished.then(clear, clear);
        }
      } else stop(signal.reason ?? abortReason('the client cancelled the call'));
    }
  }
}
