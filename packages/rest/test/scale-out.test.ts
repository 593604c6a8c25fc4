import type { ChatEvent, ChatServer } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RestAdapter } from '../client.ts';
import { createServer } from '../server.ts';

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

/** Two REST instances, each with its own ChatService (createServer makes it), on one Redis. */
describe.skipIf(!redisAvailable)('several REST instances on one Redis (REDIS_URL)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(() => redis?.stop());

  const instance = async (): Promise<{ server: ChatServer; client: RestAdapter }> => {
    const server = await createServer({ config: testConfig({ redisUrl: redis.url }) });
    const client = new RestAdapter(await server.listen({ port: 0, host: '127.0.0.1' }));
    return { server, client };
  };

  it('a session created on instance A is chatted on instance B, and both see the history', async () => {
    const a = await instance();
    const b = await instance();
    try {
      expect((await a.client.health()).dependencies?.store).toEqual({ kind: 'redis', reachable: true });
      const session = await a.client.createSession();
      const first = await collect(b.client.send(session.id, 'hello from B'));
      expect(first.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
      const second = await collect(a.client.send(session.id, 'and now from A'));
      expect(second.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });

      const onA = await a.client.history(session.id);
      expect(onA.map((m) => m.role)).toEqual(['user', 'model', 'user', 'model']);
      expect(onA[0]!.text).toBe('hello from B');
      expect(await b.client.history(session.id)).toEqual(onA);
      expect((await b.client.listSessions()).map((s) => s.id)).toContain(session.id);
    } finally {
      for (const { server, client } of [a, b]) {
        await client.close();
        await server.close();
      }
    }
  });
});
