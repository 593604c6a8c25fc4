/**
 * An idle time-out, as load balancers and proxies have: a connection that carried no byte in
 * either direction for `timeoutMs` is closed. One IdleTimer per connection; its `tap()`
 * transforms (one per direction) pass data through and restart the clock.
 */
import { EventEmitter } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';

export class IdleTimer extends EventEmitter<{ idle: [] }> {
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout;
  expired = false;

  constructor(timeoutMs: number) {
    super();
    this.#timeoutMs = timeoutMs;
    this.#timer = this.#arm();
  }

  #arm(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.expired = true;
      this.emit('idle');
    }, this.#timeoutMs);
    timer.unref();
    return timer;
  }

  touch(): void {
    if (this.expired) return;
    clearTimeout(this.#timer);
    this.#timer = this.#arm();
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  /** A pass-through for one direction that counts as activity. */
  tap(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        this.touch();
        callback(null, chunk);
      },
    });
  }
}
