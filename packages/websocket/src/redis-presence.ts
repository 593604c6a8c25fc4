/**
 * Presence shared by several server instances through Redis (REDIS_URL). Keys:
 *
 *   gtp:ws:presence:<sessionId>   hash    instance id → members connected there
 *   gtp:ws:instance:<instanceId>  string  exists while the instance lives (expires, renewed)
 *
 * A change is one Lua script, so it is atomic: add this instance's +1 / -1, then sum the
 * members of the instances that are still alive. An instance that crashed stops renewing its
 * key; within INSTANCE_TTL_MS its members stop counting (the next change removes them).
 */
import { once } from 'node:events';
import { ChatError } from '@gtp/core';
import { createRedisClient, REDIS_COMMAND_TIMEOUT_MS, type RedisClient } from '@gtp/core/redis';
import type { Presence } from './presence.ts';

/** How long an instance (and a room's count) outlives its last renewal. Renewed every third of it. */
export const INSTANCE_TTL_MS = 15_000;
const KEY_PREFIX = 'gtp:ws:';

// KEYS: the session's presence hash. ARGV: instance id, delta, instance key prefix, TTL ms.
const CHANGE = `
redis.call('SET', ARGV[3] .. ARGV[1], '1', 'PX', ARGV[4])
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = 0
local counts = redis.call('HGETALL', KEYS[1])
for i = 1, #counts, 2 do
  if redis.call('EXISTS', ARGV[3] .. counts[i]) == 1 then
    total = total + tonumber(counts[i + 1])
  else
    redis.call('HDEL', KEYS[1], counts[i])
  end
end
if total > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return total`;

export class RedisPresence implements Presence {
  readonly #client: RedisClient;
  readonly #instanceId: string;
  /** This instance's members per session: the hashes whose expiry it renews. */
  readonly #local = new Map<string, number>();
  readonly #renewal: NodeJS.Timeout;

  private constructor(client: RedisClient, instanceId: string) {
    this.#client = client;
    this.#instanceId = instanceId;
    this.#renewal = setInterval(() => void this.#renew(), INSTANCE_TTL_MS / 3).unref();
  }

  /** Connect (or fail with `unavailable` after REDIS_COMMAND_TIMEOUT_MS). */
  static async connect(url: string, instanceId: string): Promise<RedisPresence> {
    const client = createRedisClient(url);
    if (!client.isReady) {
      try {
        await once(client, 'ready', { signal: AbortSignal.timeout(REDIS_COMMAND_TIMEOUT_MS) });
      } catch (error) {
        client.destroy();
        throw new ChatError('unavailable', `Redis (REDIS_URL) is not answering`, { cause: error });
      }
    }
    const presence = new RedisPresence(client, instanceId);
    await presence.#renew();
    return presence;
  }

  async change(sessionId: string, delta: 1 | -1): Promise<number> {
    const mine = (this.#local.get(sessionId) ?? 0) + delta;
    if (mine > 0) this.#local.set(sessionId, mine);
    else this.#local.delete(sessionId);
    const total = await this.#client.eval(CHANGE, {
      keys: [`${KEY_PREFIX}presence:${sessionId}`],
      arguments: [this.#instanceId, String(delta), `${KEY_PREFIX}instance:`, String(INSTANCE_TTL_MS)],
    });
    return Number(total);
  }

  async close(): Promise<void> {
    clearInterval(this.#renewal);
    // Leaving at once, rather than INSTANCE_TTL_MS later: our members stop counting everywhere.
    await this.#client.del(`${KEY_PREFIX}instance:${this.#instanceId}`).catch(() => undefined);
    await this.#client.close().catch(() => undefined);
  }

  /** Keep this instance alive, and the counts of the sessions it has members in. */
  async #renew(): Promise<void> {
    const ttl = INSTANCE_TTL_MS;
    await Promise.all([
      this.#client.set(`${KEY_PREFIX}instance:${this.#instanceId}`, '1', {
        expiration: { type: 'PX', value: ttl },
      }),
      ...[...this.#local.keys()].map((id) => this.#client.pExpire(`${KEY_PREFIX}presence:${id}`, ttl)),
    ]).catch(() => undefined); // Redis away: the next renewal tries again
  }
}
