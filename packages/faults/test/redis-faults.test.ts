/**
 * Redis faults (issue 15), against a real redis-server started here: each server runs with
 * REDIS_URL, and Redis is frozen (SIGSTOP, TCP open, no answers), has its connections killed
 * (`CLIENT KILL TYPE normal`, then `TYPE pubsub`) and is restarted on the same port. Asserted:
 * nothing hangs (every call answers within a generous bound), health says so (HTTP 503
 * `degraded`, gRPC NOT_SERVING), and everything recovers by itself: health back and a whole
 * reply in a new session. The recovery times are printed (the README's table comes from a run),
 * never compared with a threshold.
 */
import { connectRedisClient, type RedisClient } from '@gtp/core/redis';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, type Running, TARGETS } from '../src/targets.ts';

/** Every outcome must arrive within this, or the test fails (a hang fails, it does not wait). */
const BOUND_MS = 15_000;

async function timed<T>(what: Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const startedAt = performance.now();
  const bounded = Promise.race([
    what,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no answer in ${BOUND_MS} ms`)), BOUND_MS),
    ),
  ]);
  try {
    return { value: await bounded, ms: Math.round(performance.now() - startedAt) };
  } catch (error) {
    return { error, ms: Math.round(performance.now() - startedAt) };
  }
}

/** Polls `check` until it says true; how long that took (bounded). */
async function until(check: () => Promise<boolean>): Promise<number> {
  const startedAt = performance.now();
  while (performance.now() - startedAt < BOUND_MS) {
    if (await check().catch(() => false)) return Math.round(performance.now() - startedAt);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`not within ${BOUND_MS} ms`);
}

/** A new session and a whole reply in it: the server works. */
async function works(client: Client): Promise<boolean> {
  const id = await client.createSession();
  const events = await (await client.reply(id, 'are you back?')).events.rest(BOUND_MS);
  return events.at(-1)?.type === 'done';
}

/** HTTP health as the wire says it: status code and body status; gRPC: SERVING or not. */
async function health(run: Running, client: Client): Promise<{ serving: boolean; detail: string }> {
  if (run.protocol === 'grpc') {
    const serving = await client.health();
    return { serving, detail: serving ? 'SERVING' : 'NOT_SERVING' };
  }
  const res = await request(`${run.url}/health`, { headersTimeout: BOUND_MS, bodyTimeout: BOUND_MS });
  const body = (await res.body.json()) as { status?: string };
  return { serving: res.statusCode === 200, detail: `${res.statusCode} ${body.status}` };
}

const results: string[] = [];

describe.skipIf(!redisAvailable)('Redis faults', () => {
  let redis: RedisServer;
  let admin: RedisClient;
  const port = { value: 0 };

  beforeAll(async () => {
    redis = await RedisServer.start();
    port.value = redis.port;
    admin = await connectRedisClient({ url: redis.url });
  });
  afterAll(async () => {
    admin?.destroy();
    await redis?.stop();
    console.log(`\nRedis fault recovery (ms), this run:\n${results.join('\n')}`);
  });

  const kill = async (type: 'normal' | 'pubsub') => {
    // The admin connection is not killed (SKIPME yes is the default of the filter form).
    const killed = await admin.sendCommand(['CLIENT', 'KILL', 'TYPE', type]);
    return Number(killed);
  };

  describe.each(TARGETS)('$protocol', (t) => {
    it('freeze, connection kills and a restart: nothing hangs, health says so, all recovers by itself', {
      timeout: 120_000,
    }, async () => {
      const config = testConfig({ redisUrl: redis.url, simTokenDelayMs: 2 });
      const run = await t.start({ config });
      const client = run.client();
      const line: Record<string, number | string> = {};
      try {
        expect(await works(client)).toBe(true);
        expect((await health(run, client)).serving).toBe(true);
        const before = await client.createSession();

        // 1. Frozen Redis: health goes down fast, a session cannot be made but is refused, not held.
        redis.freeze();
        try {
          line.freezeHealthDownMs = await until(async () => !(await health(run, client)).serving);
          const down = await health(run, client);
          expect(down.detail).toBe(t.protocol === 'grpc' ? 'NOT_SERVING' : '503 degraded');
          const create = await timed(client.createSession());
          expect(create.error).toBeDefined();
          expect(String((create.error as Error).message)).not.toMatch(/no answer in/);
          line.freezeCreateFailsMs = create.ms;
          // A message to a session made before the freeze: refused with a final error, not held.
          const send = await timed(
            (async () => (await client.reply(before, 'hello?')).events.rest(BOUND_MS))(),
          );
          expect(send.error).toBeUndefined();
          const last = send.value?.at(-1);
          expect(last?.type).toBe('error');
          line.freezeSendFails = `${send.ms} ms, ${last?.type === 'error' ? last.error.code : last?.type}`;
        } finally {
          redis.thaw();
        }
        line.thawHealthUpMs = await until(async () => (await health(run, client)).serving);
        line.thawWorksMs = await until(() => works(client));

        // 2. Every normal connection killed, then every subscriber: reconnects by itself.
        for (const type of ['normal', 'pubsub'] as const) {
          expect(await kill(type)).toBeGreaterThan(0);
          line[`kill${type}WorksMs`] = await until(() => works(client));
          await until(async () => (await health(run, client)).serving);
        }

        // 3. Restart on the same port (sessions are gone: Redis here keeps nothing on disk).
        await redis.stop();
        const stoppedAt = performance.now();
        line.restartHealthDownMs = await until(async () => !(await health(run, client)).serving);
        redis = await RedisServer.start(port.value);
        admin.destroy();
        admin = await connectRedisClient({ url: redis.url });
        line.restartWorksMs = await until(() => works(client));
        line.restartHealthUpMs = await until(async () => (await health(run, client)).serving);
        line.restartTotalMs = Math.round(performance.now() - stoppedAt);
      } finally {
        results.push(`${t.protocol.padEnd(16)} ${JSON.stringify(line)}`);
        await run.close();
      }
    });
  });
});
