import { setTimeout as sleep } from 'node:timers/promises';
import { ChatError } from '../errors.ts';
import type { ChatEvent, Message } from '../events.ts';

/**
 * A reply event as a resumable transport carries it: a ChatEvent with its place in the session's
 * reply log (`seq`), or the server's `reset` (the log cannot resume from where we asked).
 */
export type LoggedEvent =
  | { seq: number; event: ChatEvent }
  | { seq: number; reset: { reason: string; replaying: boolean } };

/** The first wait before a resume attempt; it doubles per attempt (with jitter) up to RESUME_MAX_DELAY_MS. */
export const RESUME_BASE_DELAY_MS = 200;
export const RESUME_MAX_DELAY_MS = 4_000;
/**
 * How long a dropped reply is tried for before it is given up. Longer than the servers' grace
 * (RESUME_GRACE_MS, 10 s, in which a reply nobody reads keeps running): past that the reply is
 * cancelled, but its log still gives its end.
 */
export const RESUME_GIVE_UP_MS = 30_000;
/**
 * Once a reply has resumed (a rejoined WebSocket, an NDJSON resume GET), the longest silence (no
 * event of that reply) before it is given up with an error: the server is there, but the reply's
 * events are not coming back (a stalled model, a pump lost with another instance).
 */
export const RESUMED_SILENCE_MS = 60_000;

export interface ResumableReplyOptions {
  /** The stream of the call that sent the message. */
  first: AsyncIterable<LoggedEvent>;
  /** The rest of reply `messageId` after `after`, live to its end (the protocol's resume call). */
  resume(messageId: string, after: number, signal: AbortSignal | undefined): AsyncIterable<LoggedEvent>;
  /** The session's stored conversation: the whole text when a `reset` leaves part of it out. */
  history(): Promise<Message[]>;
  /**
   * The reply's final event from the log, read after `after` (a resume call of its own), when a
   * `reset` that replays nothing was followed by the end of the stream: the reply ended while
   * the connection was down. Undefined when the log no longer has it (then the end is built
   * from the history). Without it, the end is always built from the history.
   */
  finalFromLog?(messageId: string, after: number): Promise<LoggedEvent | undefined>;
  /** A lost connection worth resuming (not a refusal such as 404, not Ctrl+C). */
  dropped(error: unknown): boolean;
  /** Where the one dim line that says the reply was resumed goes. */
  notice(text: string): void;
  signal?: AbortSignal | undefined;
  /** Override RESUME_GIVE_UP_MS (tests). */
  giveUpMs?: number;
}

/**
 * One reply read across dropped connections: yields its ChatEvents once each, in order, whatever
 * was replayed. When a connection drops mid-reply it resumes after the last seq it had, with
 * backoff, and says so once. A `reset` with `replaying: true` replays the reply from its start
 * (what was already yielded is skipped by its seq); with `replaying: false`, or any gap in the
 * seqs (a reply's events are consecutive in the log), the text it could not read is taken from the stored history when the reply ends,
 * so the text yielded is always the stored text. A stream that ends after such a reset, with
 * nothing of the reply after it, says the reply is over (it ended while the connection was
 * down): its missing text comes from the history and its end from the log (`finalFromLog`) or,
 * when the log no longer has it, from the history too; it is never resumed again in a loop.
 *
 * The backoff is a few lines by hand (the WebSocket client's formula) rather than p-retry: a
 * retry here is not a function call but the next connection of one running iteration.
 */
export async function* resumableReply(options: ResumableReplyOptions): AsyncGenerator<ChatEvent, void> {
  const { signal } = options;
  let messageId: string | undefined;
  let lastSeq = 0;
  /** The seq of the last event of the reply yielded in order (its start, then each delta). */
  let shownSeq = 0;
  let text = '';
  /** Some deltas could not be read (a reset without replay, a gap): fill in from history at the end. */
  let fromHistory = false;
  /** The seq of a `reset` that replayed nothing, while nothing of the reply came after it. */
  let resetAt: number | undefined;
  let stream = options.first;
  for (;;) {
    try {
      for await (const item of stream) {
        lastSeq = Math.max(lastSeq, item.seq);
        if ('reset' in item) {
          if (!item.reset.replaying) {
            fromHistory = true;
            resetAt = item.seq;
          } else resetAt = undefined;
          continue;
        }
        const event = item.event;
        resetAt = undefined; // the reply goes on after the reset
        if (event.type === 'start') {
          if (messageId !== undefined) continue; // replayed
          messageId = event.messageId;
          shownSeq = item.seq;
          yield event;
        } else if (event.type === 'delta') {
          if (item.seq <= shownSeq) continue; // replayed
          if (item.seq > shownSeq + 1) fromHistory = true; // a gap: the history has it
          if (fromHistory) continue;
          shownSeq = item.seq;
          text += event.text;
          yield event;
        } else {
          if (event.type === 'done' && fromHistory && messageId !== undefined) {
            const rest = await storedRest(options, text);
            if (rest) yield { type: 'delta', text: rest };
          }
          yield event;
          return;
        }
      }
      // Ended without its final event: the connection closed under it.
      if (signal?.aborted) return;
      if (messageId === undefined)
        throw new ChatError('unavailable', 'the reply stream ended before it started');
      if (resetAt !== undefined) {
        // The server ended the stream after a reset with nothing of the reply: it is over.
        yield* endedWhileDown(options, messageId, text, resetAt);
        return;
      }
    } catch (error) {
      if (signal?.aborted || messageId === undefined || !options.dropped(error)) throw error;
    }
    stream = await reconnect(options, messageId, lastSeq);
  }
}

/** The one line a client prints when it resumed a reply (every protocol the same words). */
export function resumedNotice(after: number, attempts: number, downMs: number): string {
  return `connection lost mid-reply; resumed after seq ${after} (attempt ${attempts}, ${(downMs / 1000).toFixed(1)} s)`;
}

/** Open the resume call, with backoff, until it answers or RESUME_GIVE_UP_MS have passed. */
async function reconnect(
  options: ResumableReplyOptions,
  messageId: string,
  after: number,
): Promise<AsyncIterable<LoggedEvent>> {
  const { signal } = options;
  const startedAt = performance.now();
  const giveUpMs = options.giveUpMs ?? RESUME_GIVE_UP_MS;
  for (let attempt = 1; ; attempt += 1) {
    const delayMs =
      Math.min(RESUME_MAX_DELAY_MS, RESUME_BASE_DELAY_MS * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    await sleep(Math.round(delayMs), undefined, signal ? { signal } : {});
    const iterator = options.resume(messageId, after, signal)[Symbol.asyncIterator]();
    let first: IteratorResult<LoggedEvent>;
    try {
      first = await iterator.next(); // the resume answered: its first event (or reset) is here
    } catch (error) {
      if (signal?.aborted || !options.dropped(error)) throw error;
      if (performance.now() - startedAt > giveUpMs) {
        throw new ChatError(
          'unavailable',
          `the connection was lost mid-reply and could not be resumed within ${giveUpMs / 1000} s (${error instanceof Error ? error.message : String(error)}); /history shows what the server stored`,
          { cause: error },
        );
      }
      continue;
    }
    options.notice(resumedNotice(after, attempt, performance.now() - startedAt));
    return {
      async *[Symbol.asyncIterator]() {
        try {
          if (first.done) return;
          yield first.value;
          for (;;) {
            const step = await iterator.next();
            if (step.done) return;
            yield step.value;
          }
        } finally {
          await iterator.return?.();
        }
      },
    };
  }
}

/**
 * The end of a reply that ended while the connection was down, past the log's bound: the text
 * beyond `shown` from the history, then its final event from the log (after `resetSeq - 1`, the
 * newest the reset named), or, when the log has moved on, a `done` made from the stored turn.
 */
async function* endedWhileDown(
  options: ResumableReplyOptions,
  messageId: string,
  shown: string,
  resetSeq: number,
): AsyncGenerator<ChatEvent, void> {
  const logged = await options.finalFromLog?.(messageId, resetSeq - 1).catch(() => undefined);
  const final =
    logged && 'event' in logged && (logged.event.type === 'done' || logged.event.type === 'error')
      ? logged.event
      : undefined;
  const last = (await options.history()).at(-1);
  if (last?.role !== 'model') {
    if (final?.type === 'error') {
      yield final;
      return;
    }
    throw new ChatError(
      'unavailable',
      'the reply ended while the connection was down, and the server has no stored text for it; /history shows the conversation',
    );
  }
  if (last.text.startsWith(shown)) {
    const rest = last.text.slice(shown.length);
    if (rest) yield { type: 'delta', text: rest };
  } else options.notice('part of the reply could not be read again; /history shows it as stored');
  if (final && (final.type !== 'done' || final.messageId === messageId)) {
    yield final;
    return;
  }
  options.notice('the reply ended while the connection was down; its end is from the stored history');
  yield {
    type: 'done',
    messageId,
    finishReason: last.interrupted ? 'cancelled' : 'stop',
    usage: { inputTokens: 0, outputTokens: 0 },
    timings: { ttftMs: 0, totalMs: 0 },
  };
}

/** What the stored reply has beyond `shown` (the last model message of the history). */
async function storedRest(options: ResumableReplyOptions, shown: string): Promise<string> {
  const last = (await options.history()).at(-1);
  if (last?.role !== 'model' || !last.text.startsWith(shown)) {
    options.notice('part of the reply could not be read again; /history shows it as stored');
    return '';
  }
  return last.text.slice(shown.length);
}
