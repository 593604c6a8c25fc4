/**
 * How many members a session has, over every server instance: the `connections` of a
 * `presence` frame, and what decides that a reply has nobody left to read it.
 *
 * One instance counts its own connections (LocalPresence). Several instances (REDIS_URL) share
 * the count in Redis (RedisPresence, src/redis-presence.ts, loaded only then): each instance
 * adds +1 / -1 for its own members and reads the sum in the same atomic step, so every change
 * yields the exact total at that moment, whatever instance it happened on.
 */
import type { ChatService } from '@gtp/core';
export interface Presence {
  /** This instance's members of the session changed by `delta`; resolves to the members on every instance. */
  change(sessionId: string, delta: 1 | -1): Promise<number>;
  close(): Promise<void>;
}

/** The members of one process. Exact when there is one instance. */
export class LocalPresence implements Presence {
  readonly #members = new Map<string, number>();

  async change(sessionId: string, delta: 1 | -1): Promise<number> {
    const members = (this.#members.get(sessionId) ?? 0) + delta;
    if (members > 0) this.#members.set(sessionId, members);
    else this.#members.delete(sessionId);
    return Math.max(members, 0);
  }

  async close(): Promise<void> {
    this.#members.clear();
  }
}

/**
 * The presence of one server instance: shared in Redis when the chat's broker is Redis (REDIS_URL),
 * else this process's own. The Redis client is loaded only then.
 */
export async function openPresence(
  redisUrl: string | undefined,
  chat: Pick<ChatService, 'broker' | 'logger'>,
  instanceId: string,
): Promise<Presence> {
  if (!redisUrl || chat.broker.kind !== 'redis') return new LocalPresence();
  const { RedisPresence } = await import('./redis-presence.ts');
  const logger = chat.logger.child({ component: 'websocket-presence' });
  return RedisPresence.connect(redisUrl, instanceId, { logger });
}
