import type { Broker } from './broker.ts';
import { DEPENDENCY_PING_TIMEOUT_MS } from './constants.ts';
import type { Logger } from './logger.ts';
import {
  closeRedisClient,
  createRedisClient,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  redisKeys,
  redisUnavailable,
  whenReady,
  withDeadline,
} from './redis-client.ts';

export interface RedisBrokerOptions {
  url: string;
  /** Prepended to every channel name (default REDIS_KEY_PREFIX), like the store's keys. */
  keyPrefix?: string;
  /** Connection trouble: the first error of an outage and its recovery. */
  logger?: Logger;
  /** Every connection error, of either connection. */
  onError?: (error: Error) => void;
}

/**
 * Pub/sub over Redis: one connection publishes, a second (a subscriber connection can do
 * nothing else) receives. node-redis re-subscribes by itself after a reconnect.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #channel: (name: string) => string;
  readonly #url: string;

  /** Connects in the background; `RedisBroker.connect()` waits for both connections instead. */
  constructor(options: RedisBrokerOptions) {
    this.#channel = redisKeys(options.keyPrefix);
    this.#url = options.url;
    const common = {
      url: options.url,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.onError ? { onError: options.onError } : {}),
    };
    this.#publisher = createRedisClient({ ...common, name: 'broker publisher' });
    // The subscriber queues its SUBSCRIBEs while connecting, so it keeps the offline queue.
    this.#subscriber = createRedisClient({ ...common, name: 'broker subscriber', queueWhileOffline: true });
  }

  /** A broker whose two connections are up, or `unavailable` (and nothing left open). */
  static async connect(options: RedisBrokerOptions): Promise<RedisBroker> {
    const broker = new RedisBroker(options);
    try {
      await Promise.all([
        whenReady(broker.#publisher, { what: 'the broker' }),
        whenReady(broker.#subscriber, { what: 'the broker' }),
      ]);
    } catch (error) {
      await broker.close();
      throw error;
    }
    return broker;
  }

  async publish(channel: string, message: string): Promise<void> {
    try {
      await withDeadline(this.#publisher.publish(this.#channel(channel), message), REDIS_COMMAND_TIMEOUT_MS);
    } catch (error) {
      throw redisUnavailable(this.#url, error, 'the broker');
    }
  }

  /**
   * Within our own deadline: a frozen Redis (or one that is away: the SUBSCRIBE waits in the
   * offline queue) fails it with `unavailable` instead of holding the caller. A SUBSCRIBE that
   * is carried out after its deadline is undone, so no listener is left behind.
   */
  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const name = this.#channel(channel);
    const subscribing = this.#subscriber.subscribe(name, listener);
    try {
      await withDeadline(subscribing, REDIS_COMMAND_TIMEOUT_MS);
    } catch (error) {
      subscribing.then(
        () => this.#subscriber.unsubscribe(name, listener).catch(() => undefined),
        () => undefined,
      );
      throw redisUnavailable(this.#url, error, 'the broker');
    }
    return async () => {
      // While Redis is away this waits in the offline queue (and runs on reconnect); we don't.
      await withDeadline(this.#subscriber.unsubscribe(name, listener), REDIS_COMMAND_TIMEOUT_MS).catch(
        () => undefined,
      );
    };
  }

  async ping(): Promise<boolean> {
    if (!this.#publisher.isReady || !this.#subscriber.isReady) return false;
    try {
      return (await withDeadline(this.#publisher.ping(), DEPENDENCY_PING_TIMEOUT_MS)) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([closeRedisClient(this.#publisher), closeRedisClient(this.#subscriber)]);
  }
}
