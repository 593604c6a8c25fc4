import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpApp, httpChatServer } from '../src/http/index.ts';
import {
  type ChatServer,
  ChatService,
  type Config,
  MemorySessionStore,
  recentHistory,
  redactUrl,
  requestToken,
  SimulatedModel,
  tokenMatches,
} from '../src/index.ts';
import { testConfig } from '../src/testing/index.ts';

let server: ChatServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(overrides: Partial<Config>): Promise<string> {
  const config = testConfig(overrides);
  const chat = ChatService.fromConfig(config, 'rest');
  server = httpChatServer('rest', await createHttpApp({ protocol: 'rest', config, chat }), chat);
  return server.listen({ port: 0 });
}

async function get(
  url: string,
  headers: Record<string, string> = {},
  method: 'GET' | 'POST' | 'OPTIONS' = 'GET',
) {
  const res = await request(url, { method, headers });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

describe('auth (AUTH_TOKEN)', () => {
  it('needs the token everywhere but /health, by header or ?access_token=', async () => {
    const base = await start({ authToken: 's3cret-token' });
    expect((await get(`${base}/health`)).status).toBe(200);
    for (const path of ['/sessions', '/stats', '/openapi.json', '/docs', '/nowhere']) {
      const denied = await get(`${base}${path}`);
      expect(denied.status, path).toBe(401);
      expect(denied.body).toEqual({
        error: {
          code: 'unauthorized',
          message: 'missing or wrong token: send Authorization: Bearer <token>',
        },
      });
      expect(denied.headers['www-authenticate']).toMatch(/^Bearer/);
    }
    expect((await get(`${base}/sessions`, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(`${base}/sessions`, { authorization: 'Bearer s3cret-token' })).status).toBe(200);
    expect((await get(`${base}/sessions?access_token=s3cret-token`)).status).toBe(200);
    expect((await get(`${base}/sessions?access_token=s3cret-tokenX`)).status).toBe(401);
  });

  it('compares in constant time and finds the token wherever a client can put it', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('a-much-longer-guess', 'abc')).toBe(false);
    expect(tokenMatches(undefined, 'abc')).toBe(false);
    expect(requestToken({ authorization: 'Bearer t1' }, '/x')).toBe('t1');
    expect(requestToken({}, '/x?a=1&access_token=t2')).toBe('t2');
    expect(requestToken({ 'sec-websocket-protocol': 'genai-chat.v1, bearer.t3' }, '/ws')).toBe('t3');
    expect(requestToken({}, '/x')).toBeUndefined();
    expect(redactUrl('/s/1/events?access_token=t2&x=1')).toBe('/s/1/events?access_token=[redacted]&x=1');
  });
});

describe('origin checks and CORS', () => {
  it('refuses foreign origins, allows its own and the listed ones', async () => {
    const base = await start({ allowedOrigins: ['https://app.example'] });
    const host = new URL(base).host;
    const foreign = await get(`${base}/sessions`, { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error).toEqual({
      code: 'forbidden',
      message: 'origin https://evil.example is not allowed (ALLOWED_ORIGINS)',
    });
    expect((await get(`${base}/sessions`, { origin: `http://${host}` })).status).toBe(200);
    const listed = await get(`${base}/sessions`, { origin: 'https://app.example' });
    expect(listed.status).toBe(200);
    expect(listed.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(listed.headers['access-control-allow-origin']).not.toBe('*');
    expect((await get(`${base}/sessions`)).status).toBe(200); // no Origin: not a browser
  });
});

describe('rate limit (RATE_LIMIT_MAX)', () => {
  it('answers a burst over the limit with 429 rate_limited and retry-after, and /health stays open', async () => {
    const base = await start({ rateLimitMax: 5, rateLimitWindowMs: 60_000 });
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await get(`${base}/sessions`);
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(limited?.body.error.code).toBe('rate_limited');
    expect(limited?.body.error.message).toContain('RATE_LIMIT_MAX');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
    expect((await get(`${base}/health`)).status).toBe(200);
  });

  it('counts unknown routes too, so probing for URLs is throttled', async () => {
    const base = await start({ rateLimitMax: 2, rateLimitWindowMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get(`${base}/nope-${i}`)).status);
    expect(statuses).toEqual([404, 404, 429, 429]);
    expect((await get(`${base}/sessions`)).status).toBe(429);
  });
});

describe('rate limit and auth together', () => {
  it('counts refused tokens too, so guessing the token is throttled', async () => {
    const base = await start({ authToken: 'right', rateLimitMax: 3, rateLimitWindowMs: 60_000 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await get(`${base}/sessions`, { authorization: 'Bearer wrong' })).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('limits in the chat service and store', () => {
  it('sends the model only the most recent messages, starting with a user turn', () => {
    const history = Array.from({ length: 7 }, (_, i) => ({
      role: i % 2 ? ('model' as const) : ('user' as const),
      text: `m${i}`,
    }));
    expect(recentHistory(history, 4).map((m) => m.text)).toEqual(['m4', 'm5', 'm6']);
    expect(recentHistory(history, 5).map((m) => m.text)).toEqual(['m2', 'm3', 'm4', 'm5', 'm6']);
    expect(recentHistory(history, 100)).toHaveLength(7);
  });

  it('the model sees the bounded history while the stored history keeps everything', async () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 0 });
    const chat = new ChatService({ store: new MemorySessionStore(), model, maxHistoryMessages: 3 });
    const { id } = await chat.createSession();
    for (const text of ['one', 'two', 'three']) for await (const _ of chat.reply(id, text)) void _;
    const history = await chat.history(id);
    expect(history).toHaveLength(6);
    // With 3 messages the model saw [user two, model, user three]: it numbers the turn 2, not 3.
    expect(history[5]?.text).toContain('Turn 2: you said "three"');
  });

  it('caps replies in flight with rate_limited', async () => {
    const model = new SimulatedModel({ ttftMs: 0, tokenDelayMs: 5 });
    const chat = new ChatService({ store: new MemorySessionStore(), model, maxConcurrentStreams: 1 });
    const a = await chat.createSession();
    const b = await chat.createSession();
    const first = chat.reply(a.id, 'hi');
    await first.next();
    await expect(chat.reply(b.id, 'hi').next()).rejects.toMatchObject({
      code: 'rate_limited',
      message: expect.stringContaining('MAX_CONCURRENT_STREAMS'),
    });
    expect(await chat.history(b.id)).toEqual([]);
    await first.return();
    for await (const _ of chat.reply(b.id, 'now it fits')) void _;
    expect(await chat.history(b.id)).toHaveLength(2);
  });

  it('forgets idle sessions after SESSION_TTL_MS', async () => {
    const store = new MemorySessionStore({ ttlMs: 30 });
    const idle = await store.create();
    const busy = await store.create();
    expect(await store.tryLock(busy.id)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await store.get(idle.id)).toBeUndefined();
    expect(await store.appendTurn(idle.id, { role: 'user', text: 'x' })).toBe(false);
    // A session in the middle of a reply does not expire under it.
    expect(await store.get(busy.id)).toBeDefined();
    expect((await store.list()).map((s) => s.id)).toEqual([busy.id]);
    expect(await store.count()).toBe(1);
  });
});
