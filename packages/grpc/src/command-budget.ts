/**
 * The commands of one Chat stream, budgeted like WebSocket frames: RATE_LIMIT_MAX per
 * RATE_LIMIT_WINDOW_MS, so one admitted call cannot become an unbounded flood of sends, cancels
 * and typings. A client that ignored a whole budget's worth of refusals in a row is not going to
 * slow down: the stream ends (RESOURCE_EXHAUSTED), as WebSocket closes 1008.
 */
import { AddressRateLimit, ChatError, type Config } from '@gtp/core';

export class CommandBudget {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #limit: AddressRateLimit | undefined;
  #refusedInARow = 0;

  constructor(config: Pick<Config, 'rateLimitMax' | 'rateLimitWindowMs'>) {
    this.#max = config.rateLimitMax;
    this.#windowMs = config.rateLimitWindowMs;
    this.#limit = this.#max > 0 ? new AddressRateLimit(this.#max, this.#windowMs, 1) : undefined;
  }

  /** True once the stream has been ended for ignoring its refusals (grpc-js may still deliver). */
  get exhausted(): boolean {
    return this.#refusedInARow > this.#max;
  }

  /**
   * Take one command: undefined when admitted; otherwise the rate_limited refusal, and
   * `end: true` when this refusal ends the stream.
   */
  take(): { refusal: ChatError; end: boolean } | undefined {
    const wait = this.#limit?.take('stream') ?? 0;
    if (wait <= 0) {
      this.#refusedInARow = 0;
      return undefined;
    }
    const refusal = new ChatError(
      'rate_limited',
      `more than ${this.#max} commands in ${Math.round(this.#windowMs / 1000)} s on this stream (RATE_LIMIT_MAX); retry after ${wait} s`,
      { retryAfterSeconds: wait },
    );
    return { refusal, end: ++this.#refusedInARow > this.#max };
  }
}
