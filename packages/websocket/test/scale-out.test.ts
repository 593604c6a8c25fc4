import type { ChatServer, Config } from '@gtp/core';
import { RedisServer, redisAvailable, testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from '../server.ts';
import { CLOSE_CODES } from '../src/protocol.ts';
import { TestClient } from './ws-test-client.ts';

// Two instances of the server in one process, each with its own Redis connections, sharing one
// real redis-server: what two processes behind a load balancer do.
describe.skipIf(!redisAvailable)('two instances sharing Redis', () => {
  let redis: RedisServer;
  const servers: ChatServer[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function instances(overrides: Partial<Config> = {}) {
    const config = testConfig({ redisUrl: redis.url, ...overrides });
    const started = await Promise.all(
      [0, 1].map(async () => {
        const server = await createServer({ config, leaveGraceMs: 0 });
        servers.push(server);
        return { server, url: await server.listen({ port: 0 }) };
      }),
    );
    return started as [(typeof started)[0], (typeof started)[0]];
  }

  async function connect(url: string) {
    const client = await TestClient.connect(url);
    clients.push(client);
    return client;
  }

  it('members on different instances see each other: presence, typing, messages, both reply streams', async () => {
    const [A, B] = await instances();
    const health = (await (await request(`${A.url}/health`)).body.json()) as {
      dependencies: { broker: { kind: string } };
    };
    expect(health.dependencies.broker.kind).toBe('redis');

    const a = await connect(A.url);
    const b = await connect(B.url);
    const joinedA = await a.join();
    const sessionId = joinedA.session.id;
    expect(await a.next('presence')).toMatchObject({ connections: 1, connectionId: joinedA.connectionId });
    const joinedB = await b.join(sessionId); // the session lives in Redis: B knows it
    expect(joinedB.session.id).toBe(sessionId);
    // The count spans both instances, on both.
    expect(await b.next('presence')).toMatchObject({ connections: 2, connectionId: joinedB.connectionId });
    expect(await a.next('presence')).toMatchObject({
      connections: 2,
      connectionId: joinedB.connectionId,
      change: 'joined',
    });

    b.send({ type: 'typing', active: true });
    expect(await a.next('typing')).toEqual({
      type: 'typing',
      connectionId: joinedB.connectionId,
      active: true,
    });

    // B asks: the reply runs on instance B and streams to A through Redis.
    b.send({ type: 'send', text: 'hello from instance B' });
    const startB = await b.next('start');
    expect(await a.next('message')).toEqual({
      type: 'message',
      role: 'user',
      text: 'hello from instance B',
      connectionId: joinedB.connectionId,
    });
    expect(await a.next('start')).toEqual(startB);
    const onB = await b.reply(startB.messageId);
    const onA = await a.reply(startB.messageId);
    expect(onB.end).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(onA).toEqual(onB); // every delta, in order
    expect(onB.text).toContain('hello from instance B');

    // A asks: the reply runs on A, B sees it; the history is one, in Redis.
    a.send({ type: 'send', text: 'and A answers' });
    const startA = await a.next('start');
    expect((await b.next('message')).text).toBe('and A answers');
    expect(await b.reply(startA.messageId)).toEqual(await a.reply(startA.messageId));
    expect((await B.server.chat.history(sessionId)).map((m) => m.role)).toEqual([
      'user',
      'model',
      'user',
      'model',
    ]);

    // Nothing came back to its sender.
    await Promise.all([a.sync(), b.sync()]);
    const echoed = (f: (typeof a.frames)[number], self: string) =>
      (f.type === 'typing' || f.type === 'message') && f.connectionId === self;
    expect(b.frames.some((f) => echoed(f, joinedB.connectionId))).toBe(false);
    expect(a.frames.some((f) => echoed(f, joinedA.connectionId))).toBe(false);

    b.ws.close();
    expect(await a.next('presence', (f) => f.change === 'left')).toMatchObject({
      connections: 1,
      connectionId: joinedB.connectionId,
    });
  });

  it('cancel from the member on B stops the reply generated on A and keeps the partial', async () => {
    const [A, B] = await instances({ simTokenDelayMs: 20 });
    const a = await connect(A.url);
    const b = await connect(B.url);
    const { session } = await a.join();
    await b.join(session.id);
    await a.next('presence', (f) => f.connections === 2);

    a.send({ type: 'send', text: 'a long answer please' });
    const { messageId } = await b.next('start');
    const first = await b.next('delta');
    expect(A.server.chat.isReplying(session.id)).toBe(true);
    expect(B.server.chat.isReplying(session.id)).toBe(false);
    b.send({ type: 'cancel' });

    const [onA, onB] = await Promise.all([a.reply(messageId), b.reply(messageId)]);
    expect(onA.end).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(onB.end).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(first.text + onB.text).toBe(onA.text);
    const last = (await B.server.chat.history(session.id)).at(-1);
    expect(last).toMatchObject({ role: 'model', interrupted: true });
    expect(onA.text.startsWith(last!.text)).toBe(true);
    // The session is free again, for either instance.
    b.send({ type: 'send', text: 'again' });
    const next = await b.next('start', (f) => f.messageId !== messageId);
    expect((await b.reply(next.messageId)).end).toMatchObject({ type: 'done' });
  });

  it('a reply goes on while a member on another instance listens, and stops when the last one anywhere leaves', async () => {
    const [A, B] = await instances({ simTokenDelayMs: 40 });
    const asker = await connect(A.url);
    const listener = await connect(B.url);
    const { session } = await asker.join();
    await listener.join(session.id);
    await asker.next('presence', (f) => f.connections === 2);

    asker.send({ type: 'send', text: 'keep talking' });
    await listener.next('start');
    await listener.next('delta');
    asker.close(); // A has no member of the session left; B still has one
    await listener.next('presence', (f) => f.change === 'left' && f.connections === 1);
    // The reply's frames come through the reply log, the presence through the room's channel: a
    // delta produced after the asker left is one with a higher seq than any received so far.
    const seen = Math.max(...listener.frames.flatMap((f) => (f.type === 'delta' ? [f.seq] : [])));
    await listener.next('delta', (f) => f.seq > seen);
    expect(A.server.chat.isReplying(session.id)).toBe(true);

    listener.close(); // now nobody listens anywhere: B asks A to stop
    await vi.waitFor(() => expect(A.server.chat.isReplying(session.id)).toBe(false));
    expect((await A.server.chat.history(session.id)).at(-1)).toMatchObject({
      role: 'model',
      interrupted: true,
    });
    expect((await A.server.chat.snapshot()).turns.cancelled).toBe(1);
  });

  it('shutting down the instance that runs a reply ends it for the members on the other', async () => {
    const [A, B] = await instances({ simTokenDelayMs: 20 });
    const a = await connect(A.url);
    const b = await connect(B.url);
    const { session } = await a.join();
    await b.join(session.id);
    await a.next('presence', (f) => f.connections === 2);

    a.send({ type: 'send', text: 'still talking when A stops' });
    const { messageId } = await b.next('start');
    await b.next('delta');
    await A.server.close();
    expect((await a.closed).code).toBe(CLOSE_CODES.GOING_AWAY);
    expect((await b.next('done', (f) => f.messageId === messageId)).finishReason).toBe('cancelled');
    // A's member has gone from the count; B and the session carry on.
    expect(await b.next('presence', (f) => f.change === 'left')).toMatchObject({ connections: 1 });
    b.send({ type: 'send', text: 'B is still here' });
    const next = await b.next('start', (f) => f.messageId !== messageId);
    expect((await b.reply(next.messageId)).end).toMatchObject({ type: 'done' });
  });
});
