import { ChatService, GeminiModel, MemorySessionStore } from '@gtp/core';
import { FakeGemini, testConfig } from '@gtp/core/testing';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../server.ts';

/** A Gemini quota error reaches a REST caller as 429 with the provider's retry delay. */
describe('REST over the real Gemini SDK, quota exceeded', () => {
  const fake = new FakeGemini(() => ({
    status: 429,
    message: 'Resource has been exhausted',
    retryDelay: '21s',
  }));
  let base: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const model = new GeminiModel({
      apiKey: 'test-key',
      modelId: 'gemini-test',
      baseUrl: await fake.start(),
    });
    const chat = new ChatService({ store: new MemorySessionStore(), model });
    const server = await createServer({ config: testConfig(), chat });
    base = await server.listen({ port: 0 });
    close = () => server.close();
  });
  afterAll(async () => {
    await close();
    await fake.stop();
  });

  it('answers 429 rate_limited with retry-after and leaves the history empty', async () => {
    const session = (await (await request(`${base}/sessions`, { method: 'POST' })).body.json()) as {
      id: string;
    };
    const res = await request(`${base}/sessions/${session.id}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hello' }),
    });
    const body = (await res.body.json()) as {
      error: { code: string; message: string; retryAfterSeconds: number };
    };
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe('21');
    expect(body.error).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 21 });
    expect(body.error.message).toContain('retry after 21 s');
    const history = (await (await request(`${base}/sessions/${session.id}/messages`)).body.json()) as {
      messages: unknown[];
    };
    expect(history.messages).toEqual([]);
  });
});
