/**
 * The frame rate limit of one connection (RATE_LIMIT_MAX frames per RATE_LIMIT_WINDOW_MS).
 *
 * Requests, upgrades and calls are limited per client address by the access check in core. A
 * WebSocket is one request followed by any number of frames, so the budget is per connection: a token bucket
 * that holds `max` frames and refills at `max` per window. A burst of `max` passes at once; after
 * that, one frame per `windowMs / max`. No timers: the bucket refills when it is asked.
 */
import { ChatError, type Config } from '@gtp/core';

export class FrameRateLimit {
  readonly max: number;
  readonly windowMs: number;
  #tokens: number;
  #updatedAt: number;
  /** Frames refused since the last accepted one. */
  #refusedInARow = 0;

  constructor(max: number, windowMs: number, now = performance.now()) {
    this.max = max;
    this.windowMs = windowMs;
    this.#tokens = max;
    this.#updatedAt = now;
  }

  /** The budget of one new connection, or undefined when RATE_LIMIT_MAX is 0 (no limit). */
  static fromConfig(config: Pick<Config, 'rateLimitMax' | 'rateLimitWindowMs'>): FrameRateLimit | undefined {
    return config.rateLimitMax > 0
      ? new FrameRateLimit(config.rateLimitMax, config.rateLimitWindowMs)
      : undefined;
  }

  /** Take one frame from the budget: false when the connection is over its rate. */
  take(now = performance.now()): boolean {
    this.#tokens = Math.min(this.max, this.#tokens + ((now - this.#updatedAt) * this.max) / this.windowMs);
    this.#updatedAt = now;
    if (this.#tokens < 1) {
      this.#refusedInARow += 1;
      return false;
    }
    this.#tokens -= 1;
    this.#refusedInARow = 0;
    return true;
  }

  /**
   * A client that ignored a whole window's worth of `rate_limited` answers in a row is not going
   * to slow down: the server closes it (1008) rather than keep answering it.
   */
  get abusive(): boolean {
    return this.#refusedInARow > this.max;
  }

  /** What a frame over the rate is answered with (the frame itself is dropped). */
  refusal(): ChatError {
    return new ChatError(
      'rate_limited',
      `more than ${this.max} frames in ${this.windowMs / 1000} s on this connection (RATE_LIMIT_MAX); ` +
        'this frame was dropped, slow down',
    );
  }
}
