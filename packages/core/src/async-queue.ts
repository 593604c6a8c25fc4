/**
 * A push-to-pull bridge: callbacks (WebSocket frames, EventSource events, a test's transport)
 * push values, a consumer pulls them with `for await`, `take()` or `next()`. `end()` finishes
 * the iteration, `fail()` makes it throw once what was pushed before has been read.
 */

/** `next({ timeoutMs })` waited that long and nothing came. */
export class QueueTimeoutError extends Error {
  override readonly name = 'QueueTimeoutError';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no event within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export interface QueueWaitOptions {
  /** Give up after this long with a QueueTimeoutError. */
  timeoutMs?: number;
  /** Give up when it aborts, with its reason. */
  signal?: AbortSignal;
}

export class AsyncQueue<T> implements AsyncIterable<T> {
  #items: T[] = [];
  /** Index of the next item to read: no `shift()`, which copies on long queues. */
  #head = 0;
  readonly #waiters = new Set<() => void>();
  #ended = false;
  #failed = false;
  #error: unknown;

  push(value: T): void {
    if (this.#ended) return;
    this.#items.push(value);
    this.#wake();
  }

  /** No more values: readers get what is queued, then the end. */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  /** No more values: readers get what is queued, then `error` is thrown. Ignored after `end()`. */
  fail(error: unknown): void {
    if (this.#ended) return;
    this.#failed = true;
    this.#error = error;
    this.end();
  }

  /** Values queued and not read yet. */
  get size(): number {
    return this.#items.length - this.#head;
  }

  /** Ended (or failed) and every value read. */
  get ended(): boolean {
    return this.#ended && this.size === 0;
  }

  /** The next value if one is waiting, without a promise. */
  take(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.#items[this.#head++] as T;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    }
    return item;
  }

  /** The next value, waiting for one; undefined once the queue has ended; throws once it failed. */
  async next(options: QueueWaitOptions = {}): Promise<T | undefined> {
    for (;;) {
      if (this.size > 0) return this.take();
      if (this.#ended) {
        if (this.#failed) throw this.#error;
        return undefined;
      }
      await this.#wait(options);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void> {
    for (;;) {
      if (this.size > 0) {
        yield this.take() as T;
        continue;
      }
      if (this.#ended) {
        if (this.#failed) throw this.#error;
        return;
      }
      await this.#wait({});
    }
  }

  #wait({ timeoutMs, signal }: QueueWaitOptions): Promise<void> {
    signal?.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (error?: unknown) => {
        this.#waiters.delete(wake);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = () => settle();
      const onAbort = () => settle(signal?.reason);
      this.#waiters.add(wake);
      if (timeoutMs !== undefined)
        timer = setTimeout(() => settle(new QueueTimeoutError(timeoutMs)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #wake(): void {
    for (const wake of [...this.#waiters]) wake();
  }
}
