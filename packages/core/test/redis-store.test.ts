import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatError,
  type ChatEvent,
  ChatService,
  type Logger,
  type ModelProvider,
  SimulatedModel,
} from '../src/index.ts';
import { RedisSessionStore, type RedisSessionStoreOptions } from '../src/redis-store.ts';
import { freePort, RedisServer, redisAvailable } from '../src/testing/index.ts';

interface LogLine {
  level: number;
  msg: string;
  err?: { message: string; cause?: { message: string } };
  [field: string]: unknown;
}

/** A pino logger (the project's error serializer) whose lines land in `lines`, parsed. */
function memoryLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug', serializers: { err: pino.stdSerializers.errWithCause } },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  return { logger, lines };
}

const ERROR = 50;

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<ChatError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ChatError);
    return error as ChatError;
  }
  throw new Error('expected a rejection');
}

describe.skipIf(!redisAvailable)('RedisSessionStore', () => {
  let redis: RedisServer;
  /** A plain client to look at the keys the store writes. */
  let raw: ReturnType<typeof createClient>;
  const stores: RedisSessionStore[] = [];
  let prefix: string;

  beforeAll(async () => {
    redis = await RedisServer.start();
    raw = createClient({ url: redis.url });
    raw.on('error', () => undefined);
    await raw.connect();
  });

  afterAll(async () => {
    await raw?.close();
    await redis?.stop();
  });

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  /** A connected store with its own key prefix per test, closed after the test. */
  async function open(options: Partial<RedisSessionStoreOptions> = {}): Promise<RedisSessionStore> {
    const store = await RedisSessionStore.connect({ url: redis.url, keyPrefix: prefix, ...options });
    stores.push(store);
    return store;
  }

  const keys = () => raw.keys(`${prefix}*`);

  it('keeps the SessionStore contract of the memory store', async () => {
    prefix = `test-${randomUUID()}:`;
    const store = await open();
    expect(await store.list()).toEqual([]);

    const created = await store.create();
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.createdAt).toBe(created.updatedAt);
    expect(created.messages).toEqual([]);
    expect(await store.get(created.id)).toEqual(created);
    const other = await store.create();
    expect((await store.list()).map((r) => r.id).sort()).toEqual([created.id, other.id].sort());

    expect(await store.appendTurn(created.id, { role: 'user', text: 'hello' })).toBe(true);
    expect(
      await store.appendTurn(created.id, { role: 'model', text: 'hi "there"\n', interrupted: true }),
    ).toBe(true);
    const record = await store.get(created.id);
    expect(record?.messages).toEqual([
      { role: 'user', text: 'hello' },
      { role: 'model', text: 'hi "there"\n', interrupted: true },
    ]);
    expect(record?.createdAt).toBe(created.createdAt);
    expect(record && record.updatedAt >= created.updatedAt).toBe(true);
    expect((await store.get(other.id))?.messages).toEqual([]);

    expect(await store.popTurn(created.id)).toEqual({
      role: 'model',
      text: 'hi "there"\n',
      interrupted: true,
    });
    expect((await store.get(created.id))?.messages).toEqual([{ role: 'user', text: 'hello' }]);
    expect(await store.popTurn(created.id)).toEqual({ role: 'user', text: 'hello' });
    expect(await store.popTurn(created.id)).toBeUndefined();
    expect(await store.get(created.id)).toBeDefined();

    await store.appendTurn(created.id, { role: 'user', text: 'again' });
    expect(await store.clear(created.id)).toBe(true);
    expect((await store.get(created.id))?.messages).toEqual([]);

    expect(await store.delete(created.id)).toBe(true);
    expect(await store.get(created.id)).toBeUndefined();
    expect((await store.list()).map((r) => r.id)).toEqual([other.id]);
    expect(await store.delete(created.id)).toBe(false);
  });

  it('answers for unknown sessions without creating them', async () => {
    prefix = `test-${randomUUID()}:`;
    const store = await open();
    const unknown = randomUUID();
    expect(await store.get(unknown)).toBeUndefined();
    expect(await store.appendTurn(unknown, { role: 'user', text: 'hello' })).toBe(false);
    expect(await store.popTurn(unknown)).toBeUndefined();
    expect(await store.clear(unknown)).toBe(false);
    expect(await store.delete(unknown)).toBe(false);
    expect(await store.get(unknown)).toBeUndefined();
    expect(await store.list()).toEqual([]);
    expect(await keys()).toEqual([]);
  });

  it('gives every key of a session the TTL, refreshes it on write, and forgets expired sessions', async () => {
    prefix = `test-${randomUUID()}:`;
    const store = await open({ ttlMs: 60_000 });
    const { id } = await store.create();
    await store.appendTurn(id, { role: 'user', text: 'hello' });
    // The indexes (every session; the owner's page() index) are not the session's own keys.
    const sessionKeys = (await keys()).filter(
      (key) => key !== `${prefix}sessions` && !key.startsWith(`${prefix}principal:`),
    );
    expect(sessionKeys.sort()).toEqual([`${prefix}messages:${id}`, `${prefix}session:${id}`]);
    for (const key of sessionKeys) {
      const ttl = await raw.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }

    // Shorten the TTLs behind the store's back: the next write sets them back to ttlMs.
    for (const key of sessionKeys) await raw.pExpire(key, 5_000);
    await store.appendTurn(id, { role: 'model', text: 'hi' });
    for (const key of sessionKeys) expect(await raw.pTTL(key)).toBeGreaterThan(5_000);

    const shortLived = await open({ ttlMs: 200 });
    const expiring = await shortLived.create();
    await shortLived.appendTurn(expiring.id, { role: 'user', text: 'soon gone' });
    await sleep(400);
    expect(await shortLived.get(expiring.id)).toBeUndefined();
    expect(await shortLived.appendTurn(expiring.id, { role: 'user', text: 'too late' })).toBe(false);
    expect((await shortLived.list()).map((r) => r.id)).toEqual([id]);
    expect(await raw.zScore(`${prefix}sessions`, expiring.id)).toBeNull();

    // ttlMs 0 (SESSION_TTL_MS=0): sessions never expire.
    const forever = await open({ ttlMs: 0 });
    const kept = await forever.create();
    await forever.appendTurn(kept.id, { role: 'user', text: 'forever' });
    expect(await raw.pTTL(`${prefix}session:${kept.id}`)).toBe(-1);
    expect(await raw.pTTL(`${prefix}messages:${kept.id}`)).toBe(-1);
    expect((await forever.list()).map((r) => r.id).sort()).toEqual([id, kept.id].sort());
  });

  it('lets only one of two instances hold a session’s reply lock', async () => {
    prefix = `test-${randomUUID()}:`;
    const a = await open({ lockTtlMs: 10_000 });
    const b = await open({ lockTtlMs: 10_000 });
    const { id } = await a.create();
    const lockKey = `${prefix}lock:${id}`;

    expect(await a.tryLock(id)).toBe(true);
    expect(await b.tryLock(id)).toBe(false);
    expect(await a.tryLock(id)).toBe(false);
    const ttl = await raw.pTTL(lockKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(10_000);

    // The instance that does not hold the lock cannot release it.
    await b.unlock(id);
    expect(await raw.exists(lockKey)).toBe(1);
    expect(await b.tryLock(id)).toBe(false);

    await a.unlock(id);
    expect(await raw.exists(lockKey)).toBe(0);
    expect(await b.tryLock(id)).toBe(true);
    expect(await a.tryLock(id)).toBe(false);
    await b.unlock(id);
    expect(await a.tryLock(id)).toBe(true);
    await a.unlock(id);
  });

  it('renews a held lock, and a lock left by a crashed instance expires', async () => {
    prefix = `test-${randomUUID()}:`;
    const holder = await open({ lockTtlMs: 600 });
    const other = await open({ lockTtlMs: 600 });
    const { id } = await holder.create();

    expect(await holder.tryLock(id)).toBe(true);
    await sleep(1_500); // well past the TTL: only the renewals keep the lock
    expect(await other.tryLock(id)).toBe(false);
    await holder.unlock(id);

    // A crashed instance's lock: nobody renews it.
    await raw.set(`${prefix}lock:${id}`, 'token-of-a-dead-instance', {
      expiration: { type: 'PX', value: 300 },
    });
    expect(await other.tryLock(id)).toBe(false);
    await sleep(500);
    expect(await other.tryLock(id)).toBe(true);
    await other.unlock(id);
  });

  it('serves a ChatService: two turns, a busy session across instances, history after a restart', async () => {
    prefix = `test-${randomUUID()}:`;
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
    const chatA = new ChatService({ store: await open(), model });
    const chatB = new ChatService({ store: await open(), model });
    const { id } = await chatA.createSession();

    for (const text of ['first question', 'second question']) {
      const events = await collect(chatA.reply(id, text));
      expect(events[0]).toMatchObject({ type: 'start', sessionId: id });
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    }
    const history = await chatB.history(id);
    expect(history.map((m) => m.role)).toEqual(['user', 'model', 'user', 'model']);
    expect(history[2]?.text).toBe('second question');
    expect(history[3]?.text).toContain('Turn 2');
    expect((await chatB.getSession(id)).messageCount).toBe(4);

    // Instance A is replying: instance B is refused, then A's reply stops and frees the session.
    const running = chatA.reply(id, 'third');
    expect((await running.next()).value).toMatchObject({ type: 'start' });
    const busy = await rejection(chatB.reply(id, 'at the same time').next());
    expect(busy.code).toBe('session_busy');
    await running.return();
    // Stopped before any text: the turn is rolled back, not kept as an empty interrupted reply.
    expect(await chatB.history(id)).toHaveLength(4);
    expect((await collect(chatB.reply(id, 'fourth'))).at(-1)).toMatchObject({ type: 'done' });

    // Close every store; a new one on the same Redis sees the whole conversation.
    await Promise.all(stores.splice(0).map((store) => store.close()));
    const reopened = new ChatService({ store: await open(), model });
    const after = await reopened.history(id);
    expect(after).toHaveLength(6);
    expect(after[4]?.text).toBe('fourth');
  });

  it('fails with `unavailable` while Redis is down and recovers when it returns', async () => {
    prefix = `test-${randomUUID()}:`;
    const own = await RedisServer.start();
    try {
      const store = await open({ url: own.url, commandTimeoutMs: 500 });
      const { id } = await store.create();
      expect(await store.ping()).toBe(true);

      await own.stop();
      const startedAt = performance.now();
      const error = await rejection(store.get(id));
      expect(performance.now() - startedAt).toBeLessThan(5_000);
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('REDIS_URL');
      expect(error.message).toContain(`127.0.0.1:${own.port}`);
      expect((await rejection(store.create())).code).toBe('unavailable');
      expect(await store.ping()).toBe(false);

      const again = await RedisServer.start(own.port);
      try {
        const deadline = Date.now() + 10_000;
        while (!(await store.ping())) {
          if (Date.now() > deadline) throw new Error('the store did not reconnect within 10 s');
          await sleep(50);
        }
        // This Redis keeps nothing on disk, so the session is gone; the store works again.
        expect(await store.get(id)).toBeUndefined();
        const fresh = await store.create();
        expect(await store.appendTurn(fresh.id, { role: 'user', text: 'back' })).toBe(true);
        expect((await store.get(fresh.id))?.messages).toHaveLength(1);
      } finally {
        await again.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('runs its scripts again after Redis forgot them (node-redis falls back from EVALSHA to EVAL)', async () => {
    prefix = `test-${randomUUID()}:`;
    const store = await open();
    const { id } = await store.create();
    expect(await store.appendTurn(id, { role: 'user', text: 'before' })).toBe(true);
    // A Redis restart, or a failover, empties the script cache the same way.
    await raw.scriptFlush();
    expect(await store.appendTurn(id, { role: 'model', text: 'after' })).toBe(true);
    expect((await store.get(id))?.messages.map((m) => m.text)).toEqual(['before', 'after']);
    await raw.scriptFlush();
    expect(await store.delete(id)).toBe(true);
    // The owner's index entry is dropped by the next listing that reads it.
    expect((await store.page('anonymous', { limit: 10 })).sessions).toEqual([]);
    expect(await keys()).toEqual([]);
  });

  it('logs an outage once, not once per reconnect attempt, and once when Redis is back', async () => {
    prefix = `test-${randomUUID()}:`;
    const own = await RedisServer.start();
    const { logger, lines } = memoryLogger();
    let reported = 0;
    try {
      const store = await open({ url: own.url, logger, onError: () => reported++ });
      await own.stop();
      // node-redis reports every failed reconnect attempt (50, 100, 200 ms... apart)...
      await until(() => reported >= 4, 'four reconnect attempts');
      // ...the log says it once, with the cause and where (without a password).
      const failed = lines.filter((line) => line.msg === 'Redis connection failed; reconnecting');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: ERROR, redis: `${own.url}`, connection: 'session store' });
      expect(failed[0]?.err?.message).toBeTruthy();

      const again = await RedisServer.start(own.port);
      try {
        await until(() => store.ping(), 'the store reconnects');
        const back = lines.filter((line) => line.msg === 'Redis connection is back');
        expect(back).toHaveLength(1);
        expect(back[0]?.failures).toBeGreaterThanOrEqual(4);
        expect(lines.filter((line) => line.msg === 'Redis connection failed; reconnecting')).toHaveLength(1);
      } finally {
        await again.stop();
      }
    } finally {
      await own.stop();
    }
  });

  it('a call to a frozen Redis fails with `unavailable` within its deadline, and works once it thaws', async () => {
    prefix = `test-${randomUUID()}:`;
    const own = await RedisServer.start();
    try {
      const store = await open({ url: own.url, commandTimeoutMs: 300 });
      const { id } = await store.create();
      own.freeze();
      // The connection stays up and accepts the command; only our own deadline ends the wait.
      const error = await rejection(store.get(id));
      expect(error.code).toBe('unavailable');
      expect(error.message).toContain('REDIS_URL');
      expect(await store.ping()).toBe(false);
      own.thaw();
      await until(() => store.ping(), 'the store answers after the thaw');
      expect((await store.get(id))?.id).toBe(id);
    } finally {
      await own.stop();
    }
  });

  it('a reply whose store goes away mid-reply ends in one error event, logged once with its cause', async () => {
    prefix = `test-${randomUUID()}:`;
    const own = await RedisServer.start();
    const { logger, lines } = memoryLogger();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    // A model that says one word, then waits for the test before it finishes.
    const model: ModelProvider = {
      info: { provider: 'simulated', id: 'gated' },
      async *stream() {
        yield 'one ';
        await gate;
        yield 'two';
        return { finishReason: 'stop' };
      },
    };
    try {
      const chat = new ChatService({
        store: await open({ url: own.url, commandTimeoutMs: 300 }),
        model,
        logger,
      });
      const { id } = await chat.createSession();
      const reply = chat.reply(id, 'hello');
      const start = (await reply.next()).value as ChatEvent & { messageId: string };
      expect(start).toMatchObject({ type: 'start', sessionId: id });
      expect((await reply.next()).value).toMatchObject({ type: 'delta', text: 'one ' });

      await own.stop();
      release();
      const rest: ChatEvent[] = [];
      for await (const event of { [Symbol.asyncIterator]: () => reply }) rest.push(event);
      expect(rest.at(-1)).toMatchObject({ type: 'error', error: { code: 'unavailable' } });
      expect(rest.filter((event) => event.type === 'error')).toHaveLength(1);

      const failures = lines.filter((line) => line.level === ERROR && line.msg === 'reply failed');
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ sessionId: id, messageId: start.messageId, code: 'unavailable' });
      expect(failures[0]?.err?.message).toContain('REDIS_URL');
      // The cause is there: why Redis did not answer, not only that it did not.
      expect(failures[0]?.err?.cause?.message).toBeTruthy();
      expect(chat.isReplying(id)).toBe(false);
    } finally {
      release();
      await own.stop();
    }
  });

  it('connect() rejects with `unavailable`, without the password, when nothing answers', async () => {
    const port = await freePort();
    const error = await rejection(
      RedisSessionStore.connect({ url: `redis://user:s3cret@127.0.0.1:${port}`, commandTimeoutMs: 300 }),
    );
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('REDIS_URL');
    expect(error.message).not.toContain('s3cret');
  });
});
