/**
 * A bandwidth limit as a token bucket: `bitsPerSecond` refill, `burstBytes` deep. A chunk larger
 * than what the bucket holds leaves in pieces as the tokens come. Unlike the delays, this one
 * pushes back: the write is acknowledged only when its last piece has left, so a sender that
 * outruns the link sees backpressure, as a full TCP send buffer would give it.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface BandwidthOptions {
  bitsPerSecond: number;
  /** Bucket depth; 16 KiB (about ten segments) by default. */
  burstBytes?: number;
}

export const DEFAULT_BURST_BYTES = 16 * 1024;

export class Bandwidth extends Transform {
  readonly #bytesPerMs: number;
  readonly #burstBytes: number;
  #tokens: number;
  #refilledAt = performance.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: BandwidthOptions) {
    super();
    if (!(options.bitsPerSecond > 0)) throw new RangeError('bitsPerSecond must be positive');
    this.#bytesPerMs = options.bitsPerSecond / 8 / 1000;
    this.#burstBytes = options.burstBytes ?? DEFAULT_BURST_BYTES;
    this.#tokens = this.#burstBytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#send(chunk, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    callback(error);
  }

  #send(rest: Buffer, callback: TransformCallback): void {
    const now = performance.now();
    this.#tokens = Math.min(this.#burstBytes, this.#tokens + (now - this.#refilledAt) * this.#bytesPerMs);
    this.#refilledAt = now;
    const size = Math.min(rest.length, this.#burstBytes);
    if (this.#tokens >= size) {
      this.#tokens -= size;
      this.push(rest.subarray(0, size));
      if (size === rest.length) callback();
      else this.#send(rest.subarray(size), callback);
      return;
    }
    const waitMs = (size - this.#tokens) / this.#bytesPerMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.destroyed) this.#send(rest, callback);
    }, Math.ceil(waitMs));
  }
}
