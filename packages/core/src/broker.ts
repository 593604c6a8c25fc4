import { EventEmitter } from 'node:events';

/**
 * Messages between server instances that share a store: a cancel for a reply that runs on
 * another instance, a WebSocket room's events, a session's SSE events. One process needs no
 * network for that (LocalBroker); several use Redis pub/sub (RedisBroker in `@gtp/core/redis`).
 * Delivery is at most once and only to current subscribers, like Redis pub/sub.
 */
export interface Broker {
  readonly kind: 'local' | 'redis';
  publish(channel: string, message: string): Promise<void>;
  /** Resolves once the subscription is active; the function it returns unsubscribes. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;
  /** True when the broker can deliver (for /health). */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Pub/sub inside one process. */
export class LocalBroker implements Broker {
  readonly kind = 'local' as const;
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: string, message: string): Promise<void> {
    this.#emitter.emit(channel, message);
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    this.#emitter.on(channel, listener);
    return async () => {
      this.#emitter.off(channel, listener);
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}
