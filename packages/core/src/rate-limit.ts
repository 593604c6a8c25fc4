/** How many client addresses an AddressRateLimit remembers at most (its memory bound). */
export const MAX_TRACKED_ADDRESSES = 10_000;

/**
 * Attempts per client address in a fixed window (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS): the
 * budget the HTTP routes get from @fastify/rate-limit, for what bypasses Fastify's routes
 * (WebSocket upgrades, gRPC calls). Counts start at zero when a window starts and the whole
 * table is dropped when it ends, so it holds only the current window's addresses, never more
 * than `maxAddresses` (past that the address seen first is forgotten). No timers.
 */
export class AddressRateLimit {
  readonly max: number;
  readonly windowMs: number;
  readonly maxAddresses: number;
  readonly #counts = new Map<string, number>();
  #windowStart: number;

  constructor(max: number, windowMs: number, maxAddresses = MAX_TRACKED_ADDRESSES, now = performance.now()) {
    this.max = max;
    this.windowMs = windowMs;
    this.maxAddresses = maxAddresses;
    this.#windowStart = now;
  }

  /** Count one attempt from `address`: the seconds to wait when it is over the budget, else 0. */
  take(address: string, now = performance.now()): number {
    if (now - this.#windowStart >= this.windowMs) {
      this.#counts.clear();
      this.#windowStart = now;
    }
    const count = (this.#counts.get(address) ?? 0) + 1;
    if (!this.#counts.has(address) && this.#counts.size >= this.maxAddresses) {
      this.#counts.delete(this.#counts.keys().next().value as string);
    }
    this.#counts.set(address, count);
    if (count <= this.max) return 0;
    return Math.max(1, Math.ceil((this.#windowStart + this.windowMs - now) / 1000));
  }

  /** Addresses remembered now (for tests and metrics). */
  get size(): number {
    return this.#counts.size;
  }
}
