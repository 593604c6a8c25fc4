/** The reply log (the Redis implementation is in `@gtp/core/redis`, loaded only with REDIS_URL). */
export * from './memory.ts';
export * from './plan.ts';
export * from './types.ts';
