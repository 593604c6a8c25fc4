/** `@gtp/core/redis`: what several server instances share through Redis (loaded only with REDIS_URL). */
export * from './redis-broker.ts';
export * from './redis-client.ts';
export * from './redis-store.ts';
export * from './reply-log/redis.ts';
