import { createClient } from 'redis';
import type { Broker } from './broker.ts';
import { ChatError } from './errors.ts';
import { REDIS_COMMAND_TIMEOUT_MS, REDIS_MAX_RECONNECT_DELAY_MS } from './redis-store.ts';

/**
 * A node-redis client set up the way every Redis user here wants it: no offline queue (a
 * command fails at once while Redis is away), a command time-out, reconnection forever with
 * capped backoff, and an error listener (node-redis emits one per failed reconnect).
 */
export function createRedisClient(url: string, onError?: (error: Error) => void) {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: REDIS_COMMAND_TIMEOUT_MS },
    socket: {
      connectTimeout: REDIS_COMMAND_TIMEOUT_MS,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, REDIS_MAX_RECONNECT_DELAY_MS),
    },
  });
  client.on('error', (error: Error) => onError?.(error));
  client.connect().catch(() => undefined);
  return client;
}

export type RedisClient = ReturnType<typeof createRedisClient>;

/**
 * Pub/sub over Redis: one connection publishes, a second (a subscriber connection can do
 * nothing else) receives. node-redis re-subscribes by itself after a reconnect.
 */
export class RedisBroker implements Broker {
  readonly kind = 'redis' as const;
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #prefix: string;

  constructor(options: { url: string; channelPrefix?: string; onError?: (error: Error) => void }) {
    this.#prefix = options.channelPrefix ?? 'gtp:';
    this.#publisher = createRedisClient(options.url, options.onError);
    // The subscriber queues its SUBSCRIBEs while connecting, so it keeps the offline queue.
    this.#subscriber = createClient({
      url: options.url,
      socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, REDIS_MAX_RECONNECT_DELAY_MS) },
    });
    this.#subscriber.on('error', (error: Error) => options.onError?.(error));
    this.#subscriber.connect().catch(() => undefined);
  }

  async publish(channel: string, message: string): Promise<void> {
    try {
      await this.#publisher.publish(this.#prefix + channel, message);
    } catch (error) {
      throw new ChatError('unavailable', `Redis (REDIS_URL) is not answering: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
    const name = this.#prefix + channel;
    await this.#subscriber.subscribe(name, listener);
    return async () => {
      await this.#subscriber.unsubscribe(name, listener).catch(() => undefined);
    };
  }

  async ping(): Promise<boolean> {
    if (!this.#publisher.isReady || !this.#subscriber.isReady) return false;
    try {
      return (await this.#publisher.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#publisher.close(), this.#subscriber.close()]);
  }
}
