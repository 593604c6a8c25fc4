/**
 * Packet loss as TCP shows it to an application: a lost segment is retransmitted after a
 * retransmission time-out, and everything behind it on the connection waits (head-of-line
 * blocking); nothing is lost or reordered. Each chunk (one read from the socket, standing in
 * for a segment) is held `stallMs` with probability `probability`.
 */
import { ScheduledTransform } from './scheduled.ts';

export interface StallOptions {
  probability: number;
  stallMs: number;
  random?: () => number;
}

export class Stall extends ScheduledTransform {
  readonly #options: Required<StallOptions>;
  /** How many chunks were held so far. */
  stalls = 0;

  constructor(options: StallOptions) {
    super();
    this.#options = { ...options, random: options.random ?? Math.random };
  }

  protected delayMs(): number {
    if (this.#options.random() >= this.#options.probability) return 0;
    this.stalls += 1;
    return this.#options.stallMs;
  }
}
