/**
 * The base of every timed effect: a Transform that releases each chunk at a time it computes,
 * never before the chunk ahead of it (bytes on one TCP connection arrive in order). Writes are
 * acknowledged at once, so a delay does not slow the sender down (the bytes are "in flight");
 * the bandwidth effect is the one that pushes back.
 */
import { Transform, type TransformCallback } from 'node:stream';

export abstract class ScheduledTransform extends Transform {
  readonly #queue: { at: number; chunk: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;
  /** Release time of the last chunk queued, ms (performance.now()). */
  #lastAt = 0;
  #flushed: (() => void) | undefined;

  /** How long this chunk waits, ms from now, before ordering is applied. */
  protected abstract delayMs(chunk: Buffer): number;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const at = Math.max(performance.now() + Math.max(0, this.delayMs(chunk)), this.#lastAt);
    this.#lastAt = at;
    this.#queue.push({ at, chunk });
    this.#arm();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#queue.length === 0) callback();
    else this.#flushed = () => callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#queue.length = 0;
    callback(error);
  }

  #arm(): void {
    if (this.#timer || this.#queue.length === 0) return;
    const wait = this.#queue[0]!.at - performance.now();
    this.#timer = setTimeout(() => this.#release(), Math.max(0, wait));
  }

  #release(): void {
    this.#timer = undefined;
    const now = performance.now();
    // Timers fire up to ~1 ms late; release everything that is due.
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 0.5) this.push(this.#queue.shift()!.chunk);
    if (this.#queue.length === 0) {
      const flushed = this.#flushed;
      this.#flushed = undefined;
      flushed?.();
    } else this.#arm();
  }
}
