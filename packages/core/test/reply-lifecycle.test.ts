/**
 * The reply lifecycle (issue 15): the concurrency slot, the lock, the user and model turns and
 * the final event, in one process and across instances sharing one Redis.
 */
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChatError,
  type ChatEvent,
  ChatService,
  type Config,
  GeminiModel,
  loadConfig,
  MemorySessionStore,
  type Message,
  type ModelProvider,
  SimulatedModel,
} from '../src/index.ts';
import { createModel } from '../src/model/create.ts';
import { REDIS_LOCK_TTL_MS, RedisBroker, RedisSessionStore } from '../src/redis.ts';
import { FakeGemini, RedisServer, redisAvailable, testConfig } from '../src/testing/index.ts';

const fast = () => new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
const slow = () => new SimulatedModel({ ttftMs: 0, tokenDelayMs: 20 });

async function collect(events: AsyncIterable<ChatEvent>): Promise<ChatEvent[]> {
  const out: ChatEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const alternates = (messages: readonly Message[]) =>
  messages.every((m, i) => m.role === (i % 2 === 0 ? 'user' : 'model'));

/** Starts `count` replies at once (each on its own session) and says how many got their `start`. */
async function startInParallel(chat: ChatService, count: number) {
  const ids = await Promise.all(Array.from({ length: count }, async () => (await chat.createSession()).id));
  const replies = ids.map((id) => chat.reply(id, 'hello'));
  const firsts = await Promise.allSettled(replies.map((r) => r.next()));
  const started = firsts.filter((f) => f.status === 'fulfilled').length;
  const refused = firsts
    .filter((f): f is PromiseRejectedResult => f.status === 'rejected')
    .map((f) => (f.reason as ChatError).code);
  await Promise.all(replies.map((r) => r.return(undefined)));
  return { started, refused };
}

/**
 * A strictly sequential client: the moment it holds `done`, it sends the next message (on the
 * other instance when there are two). It must never be told session_busy.
 */
async function sequentialTurns(instances: ChatService[], id: string, turns: number) {
  let current = instances[0]!.reply(id, 'turn 0');
  for (let turn = 1; turn <= turns; turn++) {
    let next: AsyncGenerator<ChatEvent, void> | undefined;
    for await (const event of current) {
      if (event.type === 'done') {
        const instance = instances[turn % instances.length]!;
        next = instance.reply(id, `turn ${turn}`);
        expect((await next.next()).value).toMatchObject({ type: 'start' });
      }
    }
    expect(next).toBeDefined();
    current = next!;
  }
  await collect(current);
}

describe('the concurrency slot (MAX_CONCURRENT_STREAMS) is taken before any await', () => {
  it('in memory: 6 replies started at once against a limit of 2 → exactly 2 start', async () => {
    const chat = new ChatService({ store: new MemorySessionStore(), model: slow(), maxConcurrentStreams: 2 });
    const { started, refused } = await startInParallel(chat, 6);
    expect(started).toBe(2);
    expect(refused).toEqual(Array(4).fill('rate_limited'));
    // The slots are free again once those replies end.
    expect((await startInParallel(chat, 2)).started).toBe(2);
  });

  it('a refused or failed start gives its slot back', async () => {
    const chat = new ChatService({ store: new MemorySessionStore(), model: fast(), maxConcurrentStreams: 1 });
    await expect(chat.reply('no-such-session', 'hi').next()).rejects.toMatchObject({
      code: 'session_not_found',
    });
    const { id } = await chat.createSession();
    expect((await collect(chat.reply(id, 'hi'))).at(-1)).toMatchObject({ type: 'done' });
  });
});

describe('a reply that produced no text leaves no model turn', () => {
  it('a store failure on the user turn invents no model turn and counts no cancelled turn', async () => {
    class FailingStore extends MemorySessionStore {
      failUserTurn = true;
      override async appendTurn(id: string, message: Message) {
        if (message.role === 'user' && this.failUserTurn) throw new ChatError('unavailable', 'store down');
        return super.appendTurn(id, message);
      }
      override async beginTurn(...args: Parameters<MemorySessionStore['beginTurn']>) {
        if (this.failUserTurn) throw new ChatError('unavailable', 'store down');
        return super.beginTurn(...args);
      }
    }
    const store = new FailingStore();
    const chat = new ChatService({ store, model: fast() });
    const { id } = await chat.createSession();
    const outcome = await collect(chat.reply(id, 'hello')).then(
      (events) => events.at(-1),
      (error: unknown) => ({ type: 'error', error: ChatError.from(error).toJSON() }),
    );
    expect(outcome).toMatchObject({ type: 'error', error: { code: 'unavailable' } });
    expect(await chat.history(id)).toEqual([]);
    expect((await chat.snapshot()).turns.cancelled).toBe(0);
    expect(chat.isReplying(id)).toBe(false);
    store.failUserTurn = false;
    expect((await collect(chat.reply(id, 'again'))).at(-1)).toMatchObject({ type: 'done' });
    expect(await chat.history(id)).toHaveLength(2);
  });

  it('a reply cancelled before its first token (a 1 ms deadline) is rolled back, not kept empty', async () => {
    const chat = new ChatService({ store: new MemorySessionStore(), model: slow() });
    const { id } = await chat.createSession();
    const events = await collect(chat.reply(id, 'hello', { signal: AbortSignal.abort() }));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(await chat.history(id)).toEqual([]);
    // With text, a cancel keeps it, interrupted.
    const controller = new AbortController();
    for await (const e of chat.reply(id, 'again', { signal: controller.signal })) {
      if (e.type === 'delta') controller.abort();
    }
    const history = await chat.history(id);
    expect(history).toHaveLength(2);
    expect(history[1]).toMatchObject({ role: 'model', interrupted: true });
    expect(history[1]?.text.length).toBeGreaterThan(0);
  });
});

describe('the model is sent the history read under the lock', () => {
  it('turns committed between an early read and the lock reach the model', async () => {
    // Another instance finishes a turn right after any read of this session.
    class RacyStore extends MemorySessionStore {
      raced = false;
      override async get(id: string) {
        const record = await super.get(id);
        if (record && !this.raced) {
          this.raced = true;
          await super.appendTurn(id, { role: 'user', text: 'from elsewhere' });
          await super.appendTurn(id, { role: 'model', text: 'answered elsewhere' });
        }
        return record;
      }
    }
    const seen: Message[][] = [];
    const inner = fast();
    const model: ModelProvider = {
      info: inner.info,
      stream(history, options) {
        seen.push([...history]);
        return inner.stream(history, options);
      },
    };
    const store = new RacyStore();
    const chat = new ChatService({ store, model });
    const { id } = await chat.createSession();
    await collect(chat.reply(id, 'mine'));
    const stored = (await store.get(id))!.messages;
    expect(seen[0]).toEqual(stored.slice(0, -1));
    expect(alternates(stored)).toBe(true);
  });
});

describe('a client that got `done` can send next at once', () => {
  it('in memory: the next reply and a clear are accepted the moment done is read', async () => {
    const chat = new ChatService({ store: new MemorySessionStore(), model: fast() });
    const { id } = await chat.createSession();
    for await (const e of chat.reply(id, 'hello')) {
      if (e.type === 'done') {
        expect(chat.isReplying(id)).toBe(false);
        await chat.clearHistory(id);
      }
    }
    await sequentialTurns([chat], id, 20);
    expect(await chat.history(id)).toHaveLength(42);
  });
});

describe('a reply caps its size (MAX_REPLY_CHARS), whatever the provider', () => {
  it('a model that never stops is cut at the cap with finishReason max_tokens, and stopped', async () => {
    let produced = 0;
    let stopped = false;
    const endless: ModelProvider = {
      info: { provider: 'simulated', id: 'endless' },
      async *stream() {
        try {
          for (;;) {
            produced += 1;
            yield 'x'.repeat(1_000);
          }
        } finally {
          stopped = true;
        }
      },
    };
    const chat = new ChatService({ store: new MemorySessionStore(), model: endless, maxReplyChars: 10_500 });
    const { id } = await chat.createSession();
    const events = await collect(chat.reply(id, 'go on forever'));
    expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'max_tokens' });
    const text = events.map((e) => (e.type === 'delta' ? e.text : '')).join('');
    expect(text.length).toBe(10_500);
    expect((await chat.history(id))[1]).toEqual({ role: 'model', text });
    expect(stopped).toBe(true);
    expect(produced).toBeLessThanOrEqual(12);
  });

  it('has a default and reads MAX_REPLY_CHARS and MAX_OUTPUT_TOKENS', () => {
    const defaults = loadConfig({});
    expect(defaults.maxReplyChars).toBeGreaterThan(1_000);
    expect(defaults.maxOutputTokens).toBeGreaterThan(100);
    const set = loadConfig({ MAX_REPLY_CHARS: '5000', MAX_OUTPUT_TOKENS: '1200' });
    expect(set).toMatchObject({ maxReplyChars: 5_000, maxOutputTokens: 1_200 });
    expect(() => loadConfig({ MAX_REPLY_CHARS: '0' })).toThrow(/MAX_REPLY_CHARS/);
    expect(ChatService.fromConfig(testConfig({ maxReplyChars: 777 }), 'rest').maxReplyChars).toBe(777);
  });

  it('Gemini is asked for at most MAX_OUTPUT_TOKENS (generationConfig.maxOutputTokens)', async () => {
    const fake = new FakeGemini(() => ({ chunks: ['short'], finishReason: 'MAX_TOKENS' }));
    const previous = process.env.GOOGLE_GEMINI_BASE_URL;
    process.env.GOOGLE_GEMINI_BASE_URL = await fake.start();
    try {
      const model = createModel(
        loadConfig({ GEMINI_API_KEY: 'k', GENAI_MODEL_ID: 'gemini-test', MAX_OUTPUT_TOKENS: '321' }),
      );
      expect(model).toBeInstanceOf(GeminiModel);
      const chat = new ChatService({ store: new MemorySessionStore(), model });
      const { id } = await chat.createSession();
      const events = await collect(chat.reply(id, 'hi'));
      expect(events.at(-1)).toMatchObject({ type: 'done', finishReason: 'max_tokens' });
      const body = fake.requests[0]?.body as { generationConfig?: { maxOutputTokens?: number } };
      expect(body.generationConfig?.maxOutputTokens).toBe(321);
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_GEMINI_BASE_URL;
      else process.env.GOOGLE_GEMINI_BASE_URL = previous;
      await fake.stop();
    }
  });
});

describe.skipIf(!redisAvailable)('the reply lifecycle across instances on one Redis', () => {
  let redis: RedisServer;
  let config: Config;
  const services: ChatService[] = [];
  const instance = async (overrides: Partial<Config> = {}) => {
    const chat = await ChatService.create({ ...config, ...overrides }, 'rest');
    services.push(chat);
    return chat;
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    config = testConfig({ redisUrl: redis.url });
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.close()));
    await redis.stop();
  });

  it('the per-server limit holds under parallel starts with Redis', async () => {
    const chat = await instance({ maxConcurrentStreams: 2, simTokenDelayMs: 20 });
    const { started, refused } = await startInParallel(chat, 6);
    expect(started).toBe(2);
    expect(refused).toEqual(Array(4).fill('rate_limited'));
  });

  it('a sequential client alternating between two instances is never told session_busy', async () => {
    const a = await instance();
    const b = await instance();
    const { id } = await a.createSession();
    await sequentialTurns([a, b], id, 30);
    const history = await b.history(id);
    expect(history).toHaveLength(62);
    expect(alternates(history)).toBe(true);
  });

  it('clear via B while A replies is 409; delete via B cancels A’s reply', async () => {
    const a = await instance({ simTokenDelayMs: 20 });
    const b = await instance();
    const { id } = await a.createSession();
    const first = a.reply(id, 'a long answer');
    await first.next(); // start
    await first.next(); // a delta
    await expect(b.clearHistory(id)).rejects.toMatchObject({ code: 'session_busy' });
    expect((await collect(first)).at(-1)).toMatchObject({ type: 'done', finishReason: 'stop' });
    expect(await b.history(id)).toHaveLength(2);

    const second = a.reply(id, 'another long one');
    await second.next();
    await second.next();
    await b.deleteSession(id);
    const rest = await collect(second);
    expect(rest.at(-1)).toMatchObject({ type: 'done', finishReason: 'cancelled' });
    expect(a.isReplying(id)).toBe(false);
    await expect(a.getSession(id)).rejects.toMatchObject({ code: 'session_not_found' });
  });

  it('a lock left by a crashed instance frees the session within seconds, and history alternates', async () => {
    const chat = await instance();
    const { id } = await chat.createSession();
    // A holder that died after its user turn: the turn and a lock with the holder's TTL, no renewal.
    const raw = createClient({ url: redis.url });
    await raw.connect();
    await raw.rPush(`gtp:messages:${id}`, JSON.stringify({ role: 'user', text: 'orphaned' }));
    await raw.set(`gtp:lock:${id}`, 'dead-holder', { PX: REDIS_LOCK_TTL_MS });
    await raw.quit();
    expect(alternates(await chat.history(id))).toBe(true); // the dangling turn is not shown
    const startedAt = Date.now();
    let events: ChatEvent[] | undefined;
    while (!events && Date.now() - startedAt < 10_000) {
      try {
        events = await collect(chat.reply(id, 'are you there?'));
      } catch (error) {
        expect(error).toMatchObject({ code: 'session_busy' });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    console.log(`session usable again ${Date.now() - startedAt} ms after its holder died`);
    expect(events?.at(-1)).toMatchObject({ type: 'done' });
    const history = await chat.history(id);
    expect(history.map((m) => m.role)).toEqual(['user', 'model']);
    expect(history[0]?.text).toBe('are you there?');
  });

  it('a holder renews its short lock while it replies longer than the lock TTL', async () => {
    const store = await RedisSessionStore.connect({ url: redis.url, lockTtlMs: 300, keyPrefix: 'renew:' });
    const other = await RedisSessionStore.connect({ url: redis.url, lockTtlMs: 300, keyPrefix: 'renew:' });
    try {
      const chat = new ChatService({ store, model: slow() });
      const { id } = await chat.createSession();
      const reply = chat.reply(id, 'a long answer');
      await reply.next();
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // > 3 lock TTLs
      expect(await other.tryLock(id)).toBe(false);
      expect((await collect(reply)).at(-1)).toMatchObject({ type: 'done' });
    } finally {
      await store.close();
      await other.close();
    }
  });

  it('a frozen Redis: the broker’s SUBSCRIBE fails `unavailable` instead of hanging, health answers within ~1 s', async () => {
    const frozen = await RedisServer.start();
    const store = await RedisSessionStore.connect({ url: frozen.url });
    const broker = await RedisBroker.connect({ url: frozen.url });
    const chat = new ChatService({ store, broker, model: fast() });
    frozen.freeze();
    try {
      const startedAt = performance.now();
      // Health gives up after DEPENDENCY_PING_TIMEOUT_MS (500 ms); without a deadline it waited
      // for the freeze to end. The bound is generous (a shared machine), the outcome is the point.
      expect(await chat.dependencies()).toMatchObject({ store: false, broker: false });
      const waitedMs = performance.now() - startedAt;
      console.log(`health answered ${Math.round(waitedMs)} ms into a Redis freeze`);
      expect(waitedMs).toBeLessThan(5_000);
      const subscribe = broker.subscribe('room', () => undefined);
      const outcome = await Promise.race([
        subscribe.then(
          () => 'subscribed',
          (error: unknown) => (error as ChatError).code,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 8_000)),
      ]);
      expect(outcome).toBe('unavailable');
    } finally {
      frozen.thaw();
      await chat.close();
      await frozen.stop();
    }
  });
});
