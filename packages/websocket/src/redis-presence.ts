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
import { type Logger, silentLogger } from '@gtp/core';
import {
  type CommandParser,
  closeRedisClient,
  connectRedisClient,
  defineScript,
  outageLog,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisClient,
  redisKeys,
  redisUnavailable,
  withDeadline,
} from '@gtp/core/redis';
import type { Presence } from './presence.ts';

/** How long an instance (and a room's count) outlives its last renewal. Renewed every third of it. */
export const INSTANCE_TTL_MS = 15_000;

export interface RedisPresenceOptions {
  /** Default REDIS_KEY_PREFIX, like the session store's keys. */
  keyPrefix?: string;
  /** Connection trouble, and renewals that fail (once per outage). */
  logger?: Logger;
}

const scripts = {
  // KEYS: the session's presence hash. ARGV: instance id, delta, instance key prefix, TTL ms.
  // Returns the members of the session on every instance still alive.
  changePresence: defineScript({
    NUMBER_OF_KEYS: 1,
    SCRIPT: `
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
return total`,
    parseCommand(
      parser: CommandParser,
      room: string,
      instanceId: string,
      delta: number,
      instanceKeyPrefix: string,
      ttlMs: number,
    ) {
      parser.pushKey(room);
      parser.push(instanceId, String(delta), instanceKeyPrefix, String(ttlMs));
    },
    transformReply: (reply: unknown) => Number(reply),
  }),
};

export class RedisPresence implements Presence {
  readonly #client: RedisClient<typeof scripts>;
  readonly #url: string;
  readonly #instanceId: string;
  readonly #key: (...parts: string[]) => string;
  /** Renewals that fail while Redis is away: logged once, and once when they work again. */
  readonly #renewals: ReturnType<typeof outageLog>;
  /** This instance's members per session: the hashes whose expiry it renews. */
  readonly #local = new Map<string, number>();
  readonly #renewal: NodeJS.Timeout;

  private constructor(
    client: RedisClient<typeof scripts>,
    url: string,
    instanceId: string,
    options: RedisPresenceOptions,
  ) {
    this.#client = client;
    this.#url = url;
    this.#instanceId = instanceId;
    this.#key = redisKeys(options.keyPrefix);
    this.#renewals = outageLog(
      options.logger ?? silentLogger,
      'cannot renew this instance in Redis; its members stop counting elsewhere unless Redis returns',
      'presence renewed again',
    );
    this.#renewal = setInterval(() => void this.#renew(), INSTANCE_TTL_MS / 3).unref();
  }

  /** Connect (or fail with `unavailable` after REDIS_COMMAND_TIMEOUT_MS). */
  static async connect(
    url: string,
    instanceId: string,
    options: RedisPresenceOptions = {},
  ): Promise<RedisPresence> {
    const client = await connectRedisClient({
      url,
      scripts,
      name: 'websocket presence',
      what: 'WebSocket presence',
      ...(options.logger ? { logger: options.logger } : {}),
    });
    const presence = new RedisPresence(client, url, instanceId, options);
    await presence.#renew();
    return presence;
  }

  async change(sessionId: string, delta: 1 | -1): Promise<number> {
    const mine = (this.#local.get(sessionId) ?? 0) + delta;
    if (mine > 0) this.#local.set(sessionId, mine);
    else this.#local.delete(sessionId);
    try {
      return await withDeadline(
        this.#client.changePresence(
          this.#key('ws', 'presence', sessionId),
          this.#instanceId,
          delta,
          this.#key('ws', 'instance', ''),
          INSTANCE_TTL_MS,
        ),
        REDIS_COMMAND_TIMEOUT_MS,
      );
    } catch (error) {
      throw redisUnavailable(this.#url, error, 'WebSocket presence');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#renewal);
    // Leaving at once, rather than INSTANCE_TTL_MS later: our members stop counting everywhere.
    await withDeadline(this.#client.del(this.#instanceKey()), REDIS_COMMAND_TIMEOUT_MS).catch(
      () => undefined,
    );
    await closeRedisClient(this.#client);
  }

  #instanceKey(): string {
    return this.#key('ws', 'instance', this.#instanceId);
  }

  /** Keep this instance alive, and the counts of the sessions it has members in. */
  async #renew(): Promise<void> {
    const ttl = INSTANCE_TTL_MS;
    const renewals = Promise.all([
      this.#client.set(this.#instanceKey(), '1', { expiration: { type: 'PX', value: ttl } }),
      ...[...this.#local.keys()].map((id) => this.#client.pExpire(this.#key('ws', 'presence', id), ttl)),
    ]);
    try {
      await withDeadline(renewals, REDIS_COMMAND_TIMEOUT_MS);
      this.#renewals.recovered();
    } catch (error) {
      this.#renewals.failed(error); // Redis away: the next renewal tries again
    }
  }
}
