/**
 * One reply read from the session's reply log (core's `chat.log`), from an offset: what came
 * after `after`, then live until the reply's `done` or `error`. ResumeStream on both servers
 * (grpc-js, gRPC-Web/Connect) is this iterable, serialised; the log itself is core's.
 */
import {
  AsyncQueue,
  type ChatEvent,
  type ChatService,
  isFinalType,
  messageIdOf,
  type ReplyListener,
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
}

export async function* readReplyFromLog(
  chat: ChatService,
  sessionId: string,
  messageId: string,
  after: number,
  { signal, principal, authorized = false }: ReadReplyOptions,
): AsyncGenerator<LogItem, void> {
  if (!authorized) await chat.authorize(sessionId, principal === undefined ? {} : { principal });
  const queue = new AsyncQueue<LogItem>();
  /** Events of the replay, handed on at caughtUp, after the reset (if any). */
  let replayed: LoggedChatEvent[] | undefined = [];
  let reset: Omit<LogReset, 'replaying'> | undefined;
  const listener: ReplyListener = {
    send(item) {
      if (messageIdOf(item) !== messageId) return; // another reply of the session
      const entry = { seq: item.seq, event: JSON.parse(item.data) as ChatEvent };
      if (replayed) {
        replayed.push(entry);
        return;
      }
      queue.push(entry);
      if (isFinalType(item.type)) queue.end();
    },
    reset(latestSeq, reason) {
      reset = { latestSeq, reason };
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

/**
 * StreamMessage on both servers: start a reply into the log (`chat.startReply`), then read it
 * from there, each event with its seq, so a client whose call broke resumes with ResumeStream.
 * Bad input, an unknown or busy session are thrown before the first item (the call's status).
 * `options.signal` is the call's: a cancelled call stops the model (the partial text is kept).
 */
export async function* streamReply(
  chat: ChatService,
  sessionId: string,
  text: unknown,
  options: StartReplyOptions & { signal: AbortSignal },
): AsyncGenerator<LoggedChatEvent, void> {
  const { start, seq } = await chat.startReply(sessionId, text, options);
  yield { seq, event: start };
  const reading = readReplyFromLog(chat, sessionId, start.messageId, seq, {
    signal: options.signal,
    authorized: true,
  });
  for await (const item of reading) if ('event' in item) yield item;
}
