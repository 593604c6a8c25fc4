/**
 * One NDJSON response reading one reply from the reply log: the stream loop of both routes (the
 * POST that starts a reply and the GET that resumes it), its reset line, and its slow-reader limit.
 */
import type { ServerResponse } from 'node:http';
import {
  type ChatError,
  isFinalType,
  type LoggedEvent,
  messageIdOf,
  type ReplyListener,
  type Stats,
} from '@gtp/core';
import { loggedLine, toLine } from './ndjson.ts';

/** A reader with more than this many bytes waiting is cut off (it can resume from its last seq). */
export const MAX_QUEUED_BYTES = 1024 * 1024;

/**
 * One response reading one reply from the log: it writes that reply's events as lines (a session's
 * log also holds its other replies) and ends with the reply's final event, or when the client goes
 * before that (`onDetached`: the reply itself may wait for a resume, core's ResumeGraces).
 */
export class ReplyReader implements ReplyListener {
  readonly #res: ServerResponse;
  readonly messageId: string;
  readonly #stats: Stats;
  readonly #onDetached: (() => void) | undefined;
  /** Lines that arrive during the replay, written after the reset line (if any) at caughtUp. */
  #replay: string[] | undefined = [];
  #reset: { latestSeq: number; reason: string } | undefined;
  #resolve!: () => void;
  readonly ended = new Promise<void>((resolve) => {
    this.#resolve = resolve;
  });
  unsubscribe: () => void = () => undefined;
  closed = false;
  lastType: string | undefined;

  constructor(
    res: ServerResponse,
    messageId: string,
    stats: Stats,
    options: { onDetached?: () => void } = {},
  ) {
    this.#res = res;
    this.messageId = messageId;
    this.#stats = stats;
    this.#onDetached = options.onDetached;
    res.once('close', () => {
      if (this.closed) return;
      // The client went before the end: stop reading (a resume reads from its last seq).
      this.end();
      this.#onDetached?.();
    });
  }

  send(item: LoggedEvent): void {
    if (this.closed) return;
    if (messageIdOf(item) !== this.messageId) {
      // Live, another reply means ours is over: its final event was lost in a gap (reset above).
      if (!this.#replay) this.end();
      return;
    }
    this.lastType = item.type;
    if (this.#replay) {
      this.#replay.push(loggedLine(item)); // written, and the reader ended, at caughtUp
    } else {
      this.#write(loggedLine(item));
      if (isFinalType(item.type)) this.end();
    }
  }

  reset(latestSeq: number, reason: string): void {
    if (this.#replay) {
      this.#reset = { latestSeq, reason }; // written first, at caughtUp
      return;
    }
    // Live: the log lost events before they reached us; its tail follows (the history has the rest).
    if (!this.closed)
      this.#write(`${JSON.stringify({ seq: latestSeq, type: 'reset', reason, replaying: false })}\n`);
  }

  caughtUp(inFlight: string | undefined): void {
    const lines = this.#replay ?? [];
    this.#replay = undefined;
    if (this.closed) return;
    const ours = inFlight === this.messageId;
    const over = lines.at(-1)?.includes('"type":"done"') || lines.at(-1)?.includes('"type":"error"');
    if (this.#reset || (!ours && lines.length === 0)) {
      // The log cannot give this reply from the point asked: say so, plainly, first.
      this.#write(
        `${JSON.stringify({
          seq: this.#reset?.latestSeq ?? 0,
          type: 'reset',
          reason: this.#reset?.reason ?? `reply ${this.messageId} has no events after that point in the log`,
          // True: the reply follows from its `start`. False: it is over, or only its tail follows
          // (its start is older than the log); either way its whole text is in the history.
          replaying: ours && (lines[0]?.includes('"type":"start"') ?? false),
        })}\n`,
      );
    }
    for (const line of lines) this.#write(line);
    // Over (its final event was replayed, or it is not running): nothing more will come.
    if (!ours || over) this.end();
  }

  /** A failure of the log itself, as the stream's final line. */
  fail(error: ChatError): void {
    if (this.closed) return;
    this.#write(toLine({ type: 'error', messageId: this.messageId, error: error.toJSON() }));
    this.end();
  }

  /** The log is done with us (shutdown, the session deleted or expired): end the response. */
  close(): void {
    this.end();
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    if (!this.#res.writableEnded) this.#res.end();
    this.#resolve();
  }

  #write(line: string): void {
    if (this.#res.destroyed || this.#res.writableEnded) return;
    this.#stats.addBytesSent(Buffer.byteLength(line));
    // write() never blocks: it queues when the socket is full. The log does not wait for one
    // reader, so a reader that falls behind is cut off; it resumes from its last seq.
    this.#res.write(line);
    if (this.#res.writableLength > MAX_QUEUED_BYTES) {
      this.#res.destroy(new Error('reader too slow: send queue over its limit'));
    }
  }
}
