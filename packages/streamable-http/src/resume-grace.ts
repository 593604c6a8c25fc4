/**
 * The resume grace: a reply whose client disconnected keeps running for a while, so that a client
 * that drops and reconnects (GET …/replies/:messageId) loses nothing.
 */
import type { ReplyReader } from './reply-reader.ts';

/**
 * A client that disconnects mid-reply has this long to resume it (GET …/replies/:messageId)
 * before the reply is cancelled, as a disconnect always cancelled it: a mobile client that
 * drops and reconnects loses nothing, and a client that really left stops costing tokens.
 */
export const RESUME_GRACE_MS = 10_000;

/**
 * The grace after a disconnect: a detached reader waits RESUME_GRACE_MS (or `resumeGraceMs`) for a resume of its
 * reply (announced on the broker by whichever instance serves it), then cancels the reply. It
 * stops waiting when the reply ends by itself.
 */
export class Graces {
  readonly #graceMs: number;
  readonly #waiting = new Map<ReplyReader, { messageId: string; timer: NodeJS.Timeout }>();

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  start(reader: ReplyReader, cancel: () => void): void {
    if (reader.closed) return;
    const timer = setTimeout(() => {
      this.#waiting.delete(reader);
      if (!reader.closed) cancel();
      reader.end();
    }, this.#graceMs);
    timer.unref();
    this.#waiting.set(reader, { messageId: reader.messageId, timer });
  }

  /** Someone reads `messageId` again: its detached readers stop waiting. */
  attached(messageId: string): void {
    for (const [reader, waiting] of this.#waiting) {
      if (waiting.messageId !== messageId) continue;
      clearTimeout(waiting.timer);
      this.#waiting.delete(reader);
      reader.end();
    }
  }

  /** A detached reader saw its reply end: nothing to cancel. */
  forget(reader: ReplyReader): void {
    const waiting = this.#waiting.get(reader);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    this.#waiting.delete(reader);
  }

  clear(): void {
    for (const { timer } of this.#waiting.values()) clearTimeout(timer);
    this.#waiting.clear();
  }
}
