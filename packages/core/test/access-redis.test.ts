import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessCheck } from '../src/access.ts';
import { RedisServer, redisAvailable } from '../src/testing/redis-server.ts';

// Issue 15 item 1, found again in the shared rate limits: with REDIS_URL and RATE_LIMIT_MAX > 0,
// a frozen Redis (SIGSTOP: the TCP connection stays open, nothing answers) held every request in
// the access check, because node-redis stops timing a command once it is written.
describe.runIf(redisAvailable)('the shared rate limit with a frozen Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('answers from this instance alone instead of waiting for Redis, and counts in Redis again after', async () => {
    const access = createAccessCheck({
      authToken: undefined,
      allowedOrigins: [],
      rateLimitMax: 3,
      rateLimitWindowMs: 60_000,
      redisUrl: redis.url,
    });
    const attempt = () =>
      access.check({
        transport: 'http',
        headers: { host: '127.0.0.1' },
        url: '/sessions',
        peer: '127.0.0.1',
      });
    try {
      await expect(attempt()).resolves.toMatchObject({ clientAddress: '127.0.0.1' });
      redis.freeze();
      const started = performance.now();
      // Within the budget the check answers; over it (counted in memory meanwhile) it refuses.
      const outcomes = await Promise.allSettled([attempt(), attempt(), attempt(), attempt()]);
      const waitedMs = performance.now() - started;
      console.log(`access checks during a Redis freeze answered in ${Math.round(waitedMs)} ms`);
      expect(waitedMs).toBeLessThan(10_000); // generous: without the deadline this never resolves
      expect(outcomes.filter((o) => o.status === 'rejected').length).toBeGreaterThan(0);
      const refusal = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
      expect(refusal.reason).toMatchObject({ code: 'rate_limited' });
      redis.thaw();
      // Redis ran the counts written during the freeze once it thawed: the shared budget is
      // spent, so the next attempt (counted in Redis again) is refused.
      await expect(attempt()).rejects.toMatchObject({ code: 'rate_limited' });
    } finally {
      redis.thaw();
      await access.close();
    }
  }, 30_000);
});
