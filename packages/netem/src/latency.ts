/**
 * Propagation delay with jitter, in order: each chunk waits `latencyMs ± jitterMs` (uniform),
 * but never overtakes the chunk ahead of it, as on one TCP connection.
 */
import { ScheduledTransform } from './scheduled.ts';

export interface LatencyOptions {
  latencyMs: number;
  jitterMs?: number;
  /** A source of numbers in [0, 1), for reproducible runs. Math.random by default. */
  random?: () => number;
}

export class Latency extends ScheduledTransform {
  readonly #options: Required<LatencyOptions>;

  constructor(options: LatencyOptions) {
    super();
    this.#options = {
      latencyMs: options.latencyMs,
      jitterMs: options.jitterMs ?? 0,
      random: options.random ?? Math.random,
    };
  }

  protected delayMs(): number {
    const { latencyMs, jitterMs, random } = this.#options;
    return latencyMs + (jitterMs ? (random() * 2 - 1) * jitterMs : 0);
  }
}

/**
 * The TCP handshake: nothing crosses before `handshakeMs` (one RTT) after the connection opened.
 * A user-space proxy accepts at once on loopback, so the SYN / SYN-ACK round trip is paid here.
 */
export class Handshake extends ScheduledTransform {
  readonly #openAt = performance.now();
  readonly #handshakeMs: number;

  constructor(handshakeMs: number) {
    super();
    this.#handshakeMs = handshakeMs;
  }

  protected delayMs(): number {
    return this.#openAt + this.#handshakeMs - performance.now();
  }
}
