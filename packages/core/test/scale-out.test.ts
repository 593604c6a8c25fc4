import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, httpChatServer } from '../src/http/index.ts';
import { type ChatEvent, ChatService, type Config } from '../src/index.ts';
import { RedisServer, redisAvailable, testConfig } from '../src/testing/index.ts';

/** Two "instances" (two ChatServices, each with its own Redis connections) sharing one Redis. */
describe.skipIf(!redisAvailable)('several instances on one Redis (REDIS_URL)', () => {
  let redis: RedisServer;
  let config: Config;

  beforeAll(async () => {
    redis = await RedisServer.start();
    config = testConfig({ redisUrl: redis.url, simTokenDelayMs: 5 });
  });
  afterAll(() => redis.stop());

  it('a session made on A is chatted on B, one reply at a time across both', async () => {
    const a = await ChatService.create(config, 'rest');
    const b = await ChatService.create(config, 'rest');
    try {
      expect(a.store.kind).toBe('redis');
      const { id } = await a.createSession();
      const onB = b.reply(id, 'hello from B');
      await onB.next();
      await expect(a.reply(id, 'and from A').next()).rejects.toMatchObject({ code: 'session_busy' });
      for await (const _ of onB) void _;
      expect((await a.history(id)).map((m) => m.text)[0]).toBe('hello from B');
      expect(await a.history(id)).toHaveLength(2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('cancelReply on A stops the reply running on B, which keeps its partial text', async () => {
    const a = await ChatService.create(config, 'rest');
    const b = await ChatService.create(config, 'rest');
    try {
      const { id } = await a.createSession();
      expect(await a.cancelReply(id)).toBe(false); // nothing running anywhere
      const events: ChatEvent[] = [];
      for await (const e of b.reply(id, 'a long one')) {
        events.push(e);
        if (e.type === 'delta' && events.filter((x) => x.type === 'delta').length === 2)
          expect(await a.cancelReply(id)).toBe(true);
      }
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
      const history = await a.history(id);
      expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('create() hands its logger to the Redis store and broker: an outage is one line per connection', async () => {
    const local = await RedisServer.start();
    const lines: Array<{ msg: string; component?: string; connection?: string; protocol?: string }> = [];
    const logger = pino(
      { level: 'info', base: { protocol: 'rest' } },
      { write: (line: string) => void lines.push(JSON.parse(line)) },
    );
    const chat = await ChatService.create(testConfig({ redisUrl: local.url }), 'rest', { logger });
    try {
      expect(chat.logger).toBe(logger);
      await local.stop();
      // Long enough for several reconnect attempts on each of the five connections.
      const deadline = Date.now() + 10_000;
      const failed = () => lines.filter((line) => line.msg === 'Redis connection failed; reconnecting');
      while (failed().length < 5 && Date.now() < deadline) await sleep(20);
      await sleep(500);
      expect(
        failed()
          .map((line) => `${line.component} / ${line.connection}`)
          .sort(),
      ).toEqual([
        'redis-broker / broker publisher',
        'redis-broker / broker subscriber',
        'redis-store / session store',
        'reply-log / reply log commands',
        'reply-log / reply log reader',
      ]);
      expect(failed().every((line) => line.protocol === 'rest')).toBe(true);
    } finally {
      await chat.close();
      await local.stop();
    }
  });

  it('/health reports Redis, degrades while it is down and recovers when it returns', async () => {
    const local = await RedisServer.start();
    const chat = await ChatService.create(testConfig({ redisUrl: local.url }), 'rest');
    const app = await createHttpApp({ protocol: 'rest', config, chat });
    const server = httpChatServer('rest', app, chat, { ownsChat: true });
    const base = await server.listen({ port: 0 });
    const health = async () => {
      const res = await fetch(`${base}/health`);
      return { status: res.status, body: (await res.json()) as { status: string; dependencies: unknown } };
    };
    try {
      expect(await health()).toMatchObject({
        status: 200,
        body: { status: 'ok', dependencies: { store: { kind: 'redis', reachable: true } } },
      });
      await local.stop();
      expect(await health()).toMatchObject({
        status: 503,
        body: { status: 'degraded', dependencies: { store: { kind: 'redis', reachable: false } } },
      });
      const created = await fetch(`${base}/sessions`, { method: 'POST' });
      expect(created.status).toBe(503);
      expect(((await created.json()) as { error: { code: string; message: string } }).error).toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining('REDIS_URL'),
      });
      const again = await RedisServer.start(local.port);
      try {
        let recovered = await health();
        for (let i = 0; i < 100 && recovered.status !== 200; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          recovered = await health();
        }
        expect(recovered.body.status).toBe('ok');
        expect((await fetch(`${base}/sessions`, { method: 'POST' })).status).toBe(201);
      } finally {
        await server.close();
        await again.stop();
      }
    } finally {
      await server.close();
    }
  });
});
