/**
 * A connection cut: after `afterBytes` bytes have passed (the rest of that chunk is dropped) or
 * `afterMs` after it was created, the transform stops passing data and emits `cut`; the proxy
 * then resets both sides, as a dropped mobile link, a NAT rebinding or a proxy restart does.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface CutOptions {
  afterBytes?: number;
  afterMs?: number;
}

export class Cut extends Transform {
  readonly #afterBytes: number;
  #passed = 0;
  #timer: NodeJS.Timeout | undefined;
  cutDone = false;

  constructor(options: CutOptions) {
    super();
    this.#afterBytes = options.afterBytes ?? Number.POSITIVE_INFINITY;
    if (options.afterMs !== undefined) {
      this.#timer = setTimeout(() => this.#cut(), options.afterMs);
      this.#timer.unref();
    }
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.cutDone) {
      callback();
      return;
    }
    const room = this.#afterBytes - this.#passed;
    if (chunk.length <= room) {
      this.#passed += chunk.length;
      this.push(chunk);
      callback();
      return;
    }
    if (room > 0) this.push(chunk.subarray(0, room));
    this.#passed += Math.max(0, room);
    callback();
    // Let the bytes that made it through leave first.
    setImmediate(() => this.#cut());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    callback(error);
  }

  #cut(): void {
    if (this.cutDone) return;
    this.cutDone = true;
    clearTimeout(this.#timer);
    this.emit('cut');
  }
}
